// Every statement on the schedules table. Statements that change a definition also NOTIFY
// `jobq_<schema>:schedules` (payload: the schedule name) so sleeping schedulers wake and re-plan.
// Index notes refer to migrations/0001_init.sql (schedules_pkey on name, schedules_due_idx).
import { sql, type Selectable } from 'kysely';
import type { Executor } from '../db/connect.js';
import type { JobStatus, MissedPolicy, OverlapPolicy, SchedulesTable } from '../db/schema.js';
import { channelFor } from './jobs.js';

/** A schedules row as selected with its last job's status (types from the Kysely schema). */
type ScheduleSelect = Selectable<SchedulesTable> & { last_job_status: JobStatus | null };

/** A cron schedule as the library returns it. */
export interface Schedule {
  name: string;
  cron: string;
  timezone: string;
  type: string;
  payload: unknown;
  queue: string;
  priority: number;
  maxAttempts: number;
  enabled: boolean;
  missedPolicy: MissedPolicy;
  overlapPolicy: OverlapPolicy;
  nextRunAt: Date;
  lastRunAt: Date | null;
  lastJobId: string | null;
  /** Status of the last fired job: the last outcome (null when none, or pruned). */
  lastJobStatus: JobStatus | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The NOTIFY channel schedulers LISTEN on for definition changes. */
export function scheduleChannel(exec: Executor): string {
  return `${channelFor(exec)}:schedules`;
}

/** Maps a schedules row (snake_case, joined with the last job's status) to a Schedule. */
export function toSchedule(r: ScheduleSelect): Schedule {
  return {
    name: r.name,
    cron: r.cron,
    timezone: r.timezone,
    type: r.type,
    payload: r.payload,
    queue: r.queue,
    priority: r.priority,
    maxAttempts: r.max_attempts,
    enabled: r.enabled,
    missedPolicy: r.missed_policy,
    overlapPolicy: r.overlap_policy,
    nextRunAt: r.next_run_at,
    lastRunAt: r.last_run_at,
    lastJobId: r.last_job_id,
    lastJobStatus: r.last_job_status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface ScheduleRow {
  name: string;
  cron: string;
  timezone: string;
  type: string;
  payloadJson: string;
  queue: string;
  priority: number;
  maxAttempts: number;
  /** undefined: new schedules are enabled, existing ones keep their state. */
  enabled: boolean | undefined;
  missedPolicy: MissedPolicy;
  overlapPolicy: OverlapPolicy;
  /** The first fire time after now under the new definition. */
  nextRunAt: Date;
}

/**
 * Adds or replaces a schedule (by name). An existing schedule keeps its next_run_at (and so any pending
 * catch-up) unless its cron or time zone changed or it is being re-enabled; it keeps its enabled state
 * unless one is given.
 */
export async function scheduleUpsert(
  exec: Executor,
  row: ScheduleRow,
): Promise<{ schedule: Schedule; created: boolean }> {
  const t = exec.t;
  const enabled = row.enabled ?? null;
  const r = await sql<ScheduleSelect & { created: boolean }>`WITH up AS (
      INSERT INTO ${t.schedules} AS s (name, cron, timezone, type, payload, queue, priority, max_attempts,
        enabled, missed_policy, overlap_policy, next_run_at)
      VALUES (${row.name}, ${row.cron}, ${row.timezone}, ${row.type}, ${row.payloadJson}::jsonb, ${row.queue},
        ${row.priority}, ${row.maxAttempts}, coalesce(${enabled}::boolean, true), ${row.missedPolicy},
        ${row.overlapPolicy}, ${row.nextRunAt})
      ON CONFLICT (name) DO UPDATE SET
        cron = EXCLUDED.cron, timezone = EXCLUDED.timezone, type = EXCLUDED.type, payload = EXCLUDED.payload,
        queue = EXCLUDED.queue, priority = EXCLUDED.priority, max_attempts = EXCLUDED.max_attempts,
        missed_policy = EXCLUDED.missed_policy, overlap_policy = EXCLUDED.overlap_policy,
        enabled = coalesce(${enabled}::boolean, s.enabled),
        next_run_at = CASE
          WHEN s.cron = EXCLUDED.cron AND s.timezone = EXCLUDED.timezone
               AND (s.enabled OR NOT coalesce(${enabled}::boolean, s.enabled)) THEN s.next_run_at
          ELSE EXCLUDED.next_run_at END,
        updated_at = now()
      RETURNING s.*, (xmax = 0) AS created)
    SELECT up.*, j.status AS last_job_status, pg_notify(${scheduleChannel(exec)}, up.name) AS n
    FROM up LEFT JOIN ${t.jobs} j ON j.id = up.last_job_id`.execute(exec.raw);
  const out = r.rows[0];
  if (!out) throw new Error(`upsert of schedule ${row.name} returned no row`);
  return { schedule: toSchedule(out), created: out.created };
}

/** Reads one schedule with its last job's status (schedules_pkey; the job by jobs_pkey). */
export async function scheduleGet(exec: Executor, name: string): Promise<Schedule | undefined> {
  const t = exec.t;
  const r = await sql<ScheduleSelect>`SELECT s.*, j.status AS last_job_status
    FROM ${t.schedules} s LEFT JOIN ${t.jobs} j ON j.id = s.last_job_id WHERE s.name = ${name}`.execute(
    exec.raw,
  );
  return r.rows[0] ? toSchedule(r.rows[0]) : undefined;
}

/** Lists every schedule by name, with its last job's status (schedules are few: operator-defined). */
export async function scheduleList(exec: Executor): Promise<Schedule[]> {
  const t = exec.t;
  const r = await sql<ScheduleSelect>`SELECT s.*, j.status AS last_job_status
    FROM ${t.schedules} s LEFT JOIN ${t.jobs} j ON j.id = s.last_job_id ORDER BY s.name`.execute(exec.raw);
  return r.rows.map(toSchedule);
}

/** Locks one schedule row for a read-modify-write (resume); waits for a concurrent holder. */
export async function scheduleLock(exec: Executor, name: string): Promise<Schedule | undefined> {
  const t = exec.t;
  const r = await sql<ScheduleSelect>`SELECT s.*, j.status AS last_job_status
    FROM ${t.schedules} s LEFT JOIN ${t.jobs} j ON j.id = s.last_job_id
    WHERE s.name = ${name} FOR UPDATE OF s`.execute(exec.raw);
  return r.rows[0] ? toSchedule(r.rows[0]) : undefined;
}

/** Pauses or resumes a schedule; resuming a paused one sets next_run_at (no catch-up of the pause). */
export async function scheduleSetEnabled(
  exec: Executor,
  name: string,
  enabled: boolean,
  nextRunAt: Date | null,
): Promise<boolean> {
  const t = exec.t;
  const r = await sql<{ name: string }>`WITH upd AS (
      UPDATE ${t.schedules} SET enabled = ${enabled},
        next_run_at = CASE WHEN enabled THEN next_run_at ELSE coalesce(${nextRunAt}::timestamptz, next_run_at) END,
        updated_at = now()
      WHERE name = ${name} RETURNING name)
    SELECT name, pg_notify(${scheduleChannel(exec)}, name) AS n FROM upd`.execute(exec.raw);
  return r.rows.length > 0;
}

/** Deletes a schedule; false when there was none. Its jobs stay. */
export async function scheduleDelete(exec: Executor, name: string): Promise<boolean> {
  const r = await sql<{
    name: string;
  }>`WITH d AS (DELETE FROM ${exec.t.schedules} WHERE name = ${name} RETURNING name)
    SELECT name, pg_notify(${scheduleChannel(exec)}, name) AS n FROM d`.execute(exec.raw);
  return r.rows.length > 0;
}

/** Names of enabled schedules that are due by the database clock, most overdue first (schedules_due_idx). */
export async function scheduleListDue(exec: Executor, limit: number): Promise<string[]> {
  const r = await sql<{ name: string }>`SELECT name FROM ${exec.t.schedules}
    WHERE enabled AND next_run_at <= clock_timestamp() ORDER BY next_run_at LIMIT ${limit}`.execute(exec.raw);
  return r.rows.map((x) => x.name);
}

/**
 * Locks one due, enabled schedule for firing, or returns nothing when it is no longer due or another
 * scheduler holds it (SKIP LOCKED: schedulers never queue up behind each other). Also returns the
 * database time the plan is made at.
 */
export async function scheduleLockDue(
  exec: Executor,
  name: string,
): Promise<{ schedule: Schedule; now: Date } | undefined> {
  const t = exec.t;
  const r = await sql<
    ScheduleSelect & { db_now: Date }
  >`SELECT s.*, j.status AS last_job_status, clock_timestamp() AS db_now
    FROM ${t.schedules} s LEFT JOIN ${t.jobs} j ON j.id = s.last_job_id
    WHERE s.name = ${name} AND s.enabled AND s.next_run_at <= clock_timestamp()
    FOR UPDATE OF s SKIP LOCKED`.execute(exec.raw);
  const row = r.rows[0];
  return row ? { schedule: toSchedule(row), now: row.db_now } : undefined;
}

/**
 * The compare-and-set that hands a fire time to exactly one scheduler: moves next_run_at from the value
 * the plan was made on to the next fire time, recording the last job when one was enqueued. Compared to
 * the millisecond (JavaScript dates carry no microseconds). Returns false when next_run_at had moved.
 */
export async function scheduleAdvance(
  exec: Executor,
  p: { name: string; expected: Date; next: Date; lastJobId: string | null },
): Promise<boolean> {
  const r = await sql`UPDATE ${exec.t.schedules} SET next_run_at = ${p.next},
      last_run_at = CASE WHEN ${p.lastJobId}::uuid IS NULL THEN last_run_at ELSE now() END,
      last_job_id = coalesce(${p.lastJobId}::uuid, last_job_id)
    WHERE name = ${p.name} AND abs(extract(epoch FROM next_run_at - ${p.expected}::timestamptz)) < 0.001`.execute(
    exec.raw,
  );
  return Number(r.numAffectedRows ?? 0) === 1;
}

/** Records a manual run (`jobq schedules run`): last fire and job, next_run_at untouched. */
export async function scheduleRecordRun(exec: Executor, name: string, jobId: string): Promise<boolean> {
  const r = await sql`UPDATE ${exec.t.schedules} SET last_run_at = now(), last_job_id = ${jobId}
    WHERE name = ${name}`.execute(exec.raw);
  return Number(r.numAffectedRows ?? 0) === 1;
}

/**
 * Milliseconds until the earliest enabled next_run_at by the database clock, or null when none
 * (schedules_due_idx). `exclude` leaves out schedules the caller is backing off from.
 */
export async function scheduleNextDueMs(exec: Executor, exclude: string[] = []): Promise<number | null> {
  const r = await sql<{ ms: number | null }>`SELECT
      (extract(epoch FROM min(next_run_at) - clock_timestamp()) * 1000)::float8 AS ms
    FROM ${exec.t.schedules} WHERE enabled AND NOT (name = ANY(${exclude}::text[]))`.execute(exec.raw);
  return r.rows[0]?.ms ?? null;
}

/** The database clock (used to plan a manual run and to compute fire times against one clock). */
export async function scheduleDbNow(exec: Executor): Promise<Date> {
  const r = await sql<{ now: Date }>`SELECT clock_timestamp() AS now`.execute(exec.raw);
  const now = r.rows[0]?.now;
  if (!now) throw new Error('the database returned no time');
  return now;
}
