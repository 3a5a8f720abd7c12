// Operator statements on the jobs table: retry, cancel, the dead-letter queue, pruning, counts.
// (The enqueue/claim/worker-transition statements are in jobs.ts.) Index notes refer to migrations/.
import { sql } from 'kysely';
import type { Executor } from '../db/connect.js';
import type { JobStatus } from '../db/schema.js';
import { channelFor } from './jobs.js';

export type TransitionOutcome =
  { id: string; from: JobStatus; to: JobStatus } | { id: string; from: JobStatus; to: null };

/**
 * Operator retry: DEAD, RETRY or CANCELLED → PENDING, ready now, attempts reset to 0 (a fresh budget of
 * max_attempts); the error history is kept. Returns the previous status of each job found.
 */
export async function jobRetry(exec: Executor, ids: string[]): Promise<TransitionOutcome[]> {
  const t = exec.t;
  const r = await sql<{ id: string; from: JobStatus; changed: boolean }>`
    WITH target AS (SELECT id, status FROM ${t.jobs} WHERE id = ANY(${ids}::uuid[]) FOR UPDATE),
    upd AS (
      UPDATE ${t.jobs} j SET status = 'PENDING', attempts = 0, run_after = now(), locked_by = NULL, locked_at = NULL,
        lease_expires_at = NULL, cancel_requested_at = NULL, cancelled_by = NULL, finished_at = NULL, started_at = NULL,
        result = NULL, updated_at = now()
      FROM target WHERE j.id = target.id AND target.status IN ('DEAD', 'RETRY', 'CANCELLED')
      RETURNING j.id, j.queue)
    SELECT target.id, target.status AS from, upd.id IS NOT NULL AS changed,
      (SELECT pg_notify(${channelFor(exec)}, string_agg(DISTINCT queue, ',')) FROM upd) AS n
    FROM target LEFT JOIN upd ON upd.id = target.id`.execute(exec.raw);
  return r.rows.map((x) =>
    x.changed ? { id: x.id, from: x.from, to: 'PENDING' } : { id: x.id, from: x.from, to: null },
  );
}

/**
 * Operator cancel: PENDING/RETRY → CANCELLED at once; RUNNING → cancel requested (the worker's heartbeat
 * or the NOTIFY hint fires the handler's AbortSignal and ends it CANCELLED).
 */
export async function jobCancel(exec: Executor, ids: string[], by: string): Promise<TransitionOutcome[]> {
  const t = exec.t;
  const r = await sql<{ id: string; from: JobStatus; to: JobStatus | null }>`
    WITH target AS (SELECT id, status FROM ${t.jobs} WHERE id = ANY(${ids}::uuid[]) FOR UPDATE),
    upd AS (
      UPDATE ${t.jobs} j SET
        status = CASE WHEN target.status = 'RUNNING' THEN 'RUNNING' ELSE 'CANCELLED' END,
        finished_at = CASE WHEN target.status = 'RUNNING' THEN NULL ELSE now() END,
        cancel_requested_at = now(), cancelled_by = ${by}, updated_at = now()
      FROM target WHERE j.id = target.id AND target.status IN ('PENDING', 'RETRY', 'RUNNING')
        AND j.cancel_requested_at IS NULL
      RETURNING j.id, j.status)
    SELECT target.id, target.status AS from, upd.status AS to,
      (SELECT pg_notify(${channelFor(exec)} || ':cancel', string_agg(id::text, ',')) FROM upd WHERE status = 'RUNNING') AS n
    FROM target LEFT JOIN upd ON upd.id = target.id`.execute(exec.raw);
  return r.rows.map((x) => ({ id: x.id, from: x.from, to: x.to }));
}

/** Retries every DEAD job matching the filters (bounded batch); returns how many. */
export async function jobDeadRetry(
  exec: Executor,
  f: { queue?: string; type?: string; limit: number },
): Promise<string[]> {
  let q = exec.db.selectFrom('jobs').select('id').where('status', '=', 'DEAD');
  if (f.queue) q = q.where('queue', '=', f.queue);
  if (f.type) q = q.where('type', '=', f.type);
  const ids = (await q.limit(f.limit).execute()).map((r) => r.id);
  if (ids.length === 0) return [];
  const out = await jobRetry(exec, ids);
  return out.filter((o) => o.to !== null).map((o) => o.id);
}

/** Deletes up to `limit` finished jobs of the given statuses finished before the cutoff (jobs_finished_idx). */
export async function jobDeleteFinished(
  exec: Executor,
  p: { statuses: JobStatus[]; olderThanMs: number; limit: number },
): Promise<number> {
  const t = exec.t;
  const r = await sql`DELETE FROM ${t.jobs} WHERE id IN (
      SELECT id FROM ${t.jobs}
      WHERE status = ANY(${p.statuses}::text[]) AND finished_at < now() - make_interval(secs => ${p.olderThanMs / 1000})
      ORDER BY finished_at LIMIT ${p.limit} FOR UPDATE SKIP LOCKED)`.execute(exec.raw);
  return Number(r.numAffectedRows ?? 0);
}

/** Counts jobs by queue and status. */
export async function jobCountByQueueStatus(
  exec: Executor,
): Promise<{ queue: string; status: JobStatus; n: number }[]> {
  const r = await sql<{ queue: string; status: JobStatus; n: number }>`SELECT queue, status, count(*) AS n
    FROM ${exec.t.jobs} GROUP BY queue, status`.execute(exec.raw);
  return r.rows;
}

/** Per queue, when its oldest ready job became ready (jobs_ready_age_idx). */
export async function jobOldestReady(
  exec: Executor,
): Promise<{ queue: string; ready_since: Date; age_seconds: number }[]> {
  const r = await sql<{ queue: string; ready_since: Date; age_seconds: number }>`
    SELECT queue, min(run_after) AS ready_since, extract(epoch FROM now() - min(run_after))::float8 AS age_seconds
    FROM ${exec.t.jobs} WHERE status IN ('PENDING', 'RETRY') AND run_after <= now() GROUP BY queue`.execute(
    exec.raw,
  );
  return r.rows;
}
