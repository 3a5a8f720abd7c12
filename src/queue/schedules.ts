// Cron schedules as operators manage them: validate, add or update, list, pause, resume, remove, and
// run now. Firing due schedules (what `jobq scheduler` does) is in schedule-fire.ts.
import type { Executor } from '../db/connect.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { checkInteger } from '../parse.js';
import {
  scheduleDbNow,
  scheduleDelete,
  scheduleGet,
  scheduleList,
  scheduleLock,
  scheduleRecordRun,
  scheduleSetEnabled,
  scheduleUpsert,
  type Schedule,
  type ScheduleRow,
} from '../sql/schedules.js';
import {
  MISSED_POLICIES,
  OVERLAP_POLICIES,
  nextFireAfter,
  validateCron,
  validateTimezone,
  type MissedPolicy,
  type OverlapPolicy,
} from './cron.js';
import { insertRows } from './enqueue.js';
import { DEFAULT_LIMITS, type EnqueueSpec, type Limits } from './types.js';
import {
  MAX_ATTEMPTS_MAX,
  PRIORITY_MAX,
  PRIORITY_MIN,
  payloadJson,
  validateEnqueue,
  validateName,
} from './validate.js';

export type { Schedule };

/** A schedule as the API and `jobq schedules list --json` show it: ISO times, no bookkeeping columns. */
export type ScheduleView = Omit<Schedule, 'nextRunAt' | 'lastRunAt' | 'createdAt' | 'updatedAt'> & {
  nextRunAt: string;
  lastRunAt: string | null;
};

/** The public shape of a schedule. */
export function scheduleView(s: Schedule): ScheduleView {
  const { nextRunAt, lastRunAt, createdAt: _created, updatedAt: _updated, ...rest } = s;
  return {
    ...rest,
    nextRunAt: nextRunAt.toISOString(),
    lastRunAt: lastRunAt ? lastRunAt.toISOString() : null,
  };
}

/** What a caller gives to add or replace a schedule (the name is given separately). */
export interface ScheduleSpec {
  cron: string;
  timezone?: string;
  type: string;
  payload?: unknown;
  queue?: string;
  priority?: number;
  maxAttempts?: number;
  missedPolicy?: MissedPolicy;
  overlapPolicy?: OverlapPolicy;
  /** Omitted: a new schedule is enabled, an existing one keeps its state. */
  enabled?: boolean;
}

const SPEC_FIELDS = new Set([
  'cron',
  'timezone',
  'type',
  'payload',
  'queue',
  'priority',
  'maxAttempts',
  'missedPolicy',
  'overlapPolicy',
  'enabled',
]);

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[], def: T): T {
  if (value === undefined) return def;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value))
    throw new ValidationError(field, `one of ${allowed.join(', ')}`, JSON.stringify(value));
  return value as T;
}

/** Validates a schedule definition; errors name the field and quote the bad value. */
export function validateSchedule(
  name: unknown,
  input: unknown,
  limits: Limits = DEFAULT_LIMITS,
): Omit<ScheduleRow, 'nextRunAt'> {
  const scheduleName = validateName('name', name);
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new ValidationError('schedule', 'an object with at least "cron" and "type"');
  const spec = input as Record<string, unknown>;
  for (const k of Object.keys(spec)) {
    if (!SPEC_FIELDS.has(k)) throw new ValidationError(k, `one of the fields ${[...SPEC_FIELDS].join(', ')}`);
  }
  if (spec.enabled !== undefined && typeof spec.enabled !== 'boolean')
    throw new ValidationError('enabled', 'true or false', JSON.stringify(spec.enabled));
  return {
    name: scheduleName,
    cron: validateCron('cron', spec.cron),
    timezone: spec.timezone === undefined ? 'UTC' : validateTimezone('timezone', spec.timezone),
    type: validateName('type', spec.type),
    payloadJson: payloadJson('payload', spec.payload ?? {}, limits.maxPayloadBytes),
    queue: spec.queue === undefined ? 'default' : validateName('queue', spec.queue),
    priority:
      spec.priority === undefined ? 0 : checkInteger('priority', spec.priority, PRIORITY_MIN, PRIORITY_MAX),
    maxAttempts:
      spec.maxAttempts === undefined
        ? limits.defaultMaxAttempts
        : checkInteger('maxAttempts', spec.maxAttempts, 1, MAX_ATTEMPTS_MAX),
    enabled: spec.enabled,
    missedPolicy: oneOf('missedPolicy', spec.missedPolicy, MISSED_POLICIES, 'skip'),
    overlapPolicy: oneOf('overlapPolicy', spec.overlapPolicy, OVERLAP_POLICIES, 'allow'),
  };
}

/** Adds a schedule or replaces its definition; validates everything first (nothing written on error). */
export async function upsertSchedule(
  exec: Executor,
  name: string,
  spec: ScheduleSpec | Record<string, unknown>,
  limits: Limits = DEFAULT_LIMITS,
): Promise<{ schedule: Schedule; created: boolean }> {
  const row = validateSchedule(name, spec, limits);
  const now = await scheduleDbNow(exec);
  return scheduleUpsert(exec, { ...row, nextRunAt: nextFireAfter(row.cron, row.timezone, now) });
}

/** Reads one schedule; NotFoundError when there is none. */
export async function getSchedule(exec: Executor, name: string): Promise<Schedule> {
  const n = validateName('name', name);
  const s = await scheduleGet(exec, n);
  if (!s) throw new NotFoundError('schedule', n);
  return s;
}

/** Every schedule, by name, with the status of its last job. */
export function listSchedules(exec: Executor): Promise<Schedule[]> {
  return scheduleList(exec);
}

/** Pauses a schedule (it fires nothing until resumed). */
export async function pauseSchedule(exec: Executor, name: string): Promise<Schedule> {
  const n = validateName('name', name);
  if (!(await scheduleSetEnabled(exec, n, false, null))) throw new NotFoundError('schedule', n);
  return getSchedule(exec, n);
}

/**
 * Resumes a paused schedule from the next fire time after now: fire times that fell in the pause are
 * not caught up (pausing means "do not run"). Resuming an enabled schedule changes nothing.
 */
export async function resumeSchedule(exec: Executor, name: string): Promise<Schedule> {
  const n = validateName('name', name);
  await exec.transaction(async (tx) => {
    const s = await scheduleLock(tx, n);
    if (!s) throw new NotFoundError('schedule', n);
    const next = nextFireAfter(s.cron, s.timezone, await scheduleDbNow(tx));
    await scheduleSetEnabled(tx, n, true, next);
  });
  return getSchedule(exec, n);
}

/** Removes a schedule; the jobs it enqueued stay. */
export async function removeSchedule(exec: Executor, name: string): Promise<void> {
  const n = validateName('name', name);
  if (!(await scheduleDelete(exec, n))) throw new NotFoundError('schedule', n);
}

/** The job a schedule enqueues for one fire, keyed so each fire time is enqueued once. */
export function scheduleJobSpec(s: Schedule, idempotencyKey: string): EnqueueSpec {
  return {
    type: s.type,
    payload: s.payload,
    queue: s.queue,
    priority: s.priority,
    maxAttempts: s.maxAttempts,
    idempotencyKey,
  };
}

/**
 * Fires a schedule now (`jobq schedules run`), whatever its policies and even when paused: enqueues one
 * job (key `schedule:<name>:run:<time>`) and records it as the last run; next_run_at does not move.
 */
export async function runSchedule(
  exec: Executor,
  name: string,
  limits: Limits = DEFAULT_LIMITS,
): Promise<{ schedule: Schedule; jobId: string }> {
  const n = validateName('name', name);
  const jobId = await exec.transaction(async (tx) => {
    const s = await scheduleLock(tx, n);
    if (!s) throw new NotFoundError('schedule', n);
    const now = await scheduleDbNow(tx);
    const row = validateEnqueue(scheduleJobSpec(s, `schedule:${n}:run:${now.toISOString()}`), limits);
    const [res] = await insertRows(tx, [row]);
    if (!res) throw new Error('enqueue returned no row');
    await scheduleRecordRun(tx, n, res.id);
    return res.id;
  });
  return { schedule: await getSchedule(exec, n), jobId };
}
