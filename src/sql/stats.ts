// Cheap, bounded read statements behind the metrics sampler and `jobq top`: live depth by queue × status,
// throughput buckets of finished jobs, recent failures. None of them reads finished history except through
// jobs_finished_idx over a short window, so they stay cheap with millions of retained jobs.
import { sql } from 'kysely';
import type { Executor } from '../db/connect.js';
import type { JobStatus } from '../db/schema.js';

/** One row of the live sample: a queue × status depth, a queue setting, or the workers-online count. */
export interface LiveSampleRow {
  kind: 'depth' | 'queue' | 'workers';
  queue: string | null;
  status: JobStatus | null;
  n: number;
  /** depth rows of PENDING/RETRY: how many of them are not ready yet (run_after in the future). */
  scheduled: number;
  /** depth rows of PENDING/RETRY: seconds since the oldest ready one became ready; null when none is ready. */
  ageSeconds: number | null;
  /** queue rows: paused. */
  paused: boolean;
}

/**
 * The sampler's one statement per interval. Each arm's WHERE matches a partial index predicate, so only
 * live rows are read: PENDING/RETRY through jobs_ready_age_idx (queue, run_after), RUNNING through
 * jobs_running_idx, DEAD through jobs_dead_idx (bounded by retention). COMPLETED and CANCELLED
 * history is never counted here (throughput comes from counters and jobThroughput).
 */
export async function jobLiveSample(exec: Executor, p: { onlineWithinMs: number }): Promise<LiveSampleRow[]> {
  const t = exec.t;
  const r = await sql<{
    kind: LiveSampleRow['kind'];
    queue: string | null;
    status: JobStatus | null;
    n: number;
    scheduled: number;
    age: number | null;
    paused: boolean;
  }>`
    SELECT 'depth' AS kind, queue, status, count(*)::int AS n,
      count(*) FILTER (WHERE run_after > now())::int AS scheduled,
      extract(epoch FROM now() - min(run_after) FILTER (WHERE run_after <= now()))::float8 AS age,
      false AS paused
    FROM ${t.jobs} WHERE status IN ('PENDING', 'RETRY') GROUP BY queue, status
    UNION ALL
    SELECT 'depth', queue, 'RUNNING', count(*)::int, 0, NULL, false
    FROM ${t.jobs} WHERE status = 'RUNNING' GROUP BY queue
    UNION ALL
    SELECT 'depth', queue, 'DEAD', count(*)::int, 0, NULL, false
    FROM ${t.jobs} WHERE status = 'DEAD' GROUP BY queue
    UNION ALL
    SELECT 'queue', name, NULL, 0, 0, NULL, paused FROM ${t.queues}
    UNION ALL
    SELECT 'workers', NULL, NULL, count(*)::int, 0, NULL, false FROM ${t.workers}
    WHERE last_heartbeat_at > now() - make_interval(secs => ${p.onlineWithinMs / 1000})`.execute(exec.raw);
  return r.rows.map((x) => ({
    kind: x.kind,
    queue: x.queue,
    status: x.status,
    n: x.n,
    scheduled: x.scheduled,
    ageSeconds: x.age === null ? null : Math.max(0, x.age),
    paused: x.paused,
  }));
}

/** Finished jobs per queue, status and time bucket (bucket 0 = the most recent). */
export interface ThroughputRow {
  queue: string;
  status: 'COMPLETED' | 'DEAD' | 'CANCELLED';
  bucket: number;
  n: number;
}

/**
 * Jobs finished within the window, bucketed by age of finished_at. The WHERE is exactly the predicate
 * of jobs_finished_idx plus a range on finished_at, so it reads only the window's index entries.
 */
export async function jobThroughput(
  exec: Executor,
  p: { windowMs: number; bucketMs: number },
): Promise<ThroughputRow[]> {
  const r = await sql<ThroughputRow>`
    SELECT queue, status, floor(extract(epoch FROM now() - finished_at) * 1000 / ${p.bucketMs})::int AS bucket,
      count(*)::int AS n
    FROM ${exec.t.jobs}
    WHERE status IN ('COMPLETED', 'DEAD', 'CANCELLED')
      AND finished_at > now() - make_interval(secs => ${p.windowMs / 1000})
    GROUP BY 1, 2, 3`.execute(exec.raw);
  return r.rows;
}

/** A failed job as `jobq top` lists it. */
export interface FailureRow {
  id: string;
  type: string;
  queue: string;
  status: 'RETRY' | 'DEAD';
  attempts: number;
  maxAttempts: number;
  lastError: string | null;
  runAfter: Date;
  updatedAt: Date;
}

/**
 * The most recent DEAD and RETRY jobs of the given queues. Per queue: the newest DEAD jobs through
 * jobs_dead_idx (queue, id DESC), and RETRY jobs among the `scanLimit` latest-ready entries of
 * jobs_ready_age_idx (a retry waits for its backoff, so it sits at the far end of run_after). The scan
 * bound keeps this cheap under a huge PENDING backlog, at the price of missing retries buried in it.
 */
export async function jobRecentFailures(
  exec: Executor,
  p: { queues: string[]; limit: number; scanLimit: number },
): Promise<FailureRow[]> {
  if (p.queues.length === 0) return [];
  const t = exec.t;
  const cols = sql`id, type, queue, status, attempts, max_attempts, last_error, run_after, updated_at`;
  const r = await sql<{
    id: string;
    type: string;
    queue: string;
    status: 'RETRY' | 'DEAD';
    attempts: number;
    max_attempts: number;
    last_error: string | null;
    run_after: Date;
    updated_at: Date;
  }>`
    SELECT f.* FROM unnest(${p.queues}::text[]) AS q(name)
    CROSS JOIN LATERAL (
      (SELECT ${cols} FROM ${t.jobs} WHERE status = 'DEAD' AND queue = q.name ORDER BY id DESC LIMIT ${p.limit})
      UNION ALL
      (SELECT ${cols} FROM (
          SELECT ${cols} FROM ${t.jobs} WHERE status IN ('PENDING', 'RETRY') AND queue = q.name
          ORDER BY run_after DESC LIMIT ${p.scanLimit}) s
        WHERE s.status = 'RETRY' ORDER BY updated_at DESC LIMIT ${p.limit})
    ) f
    ORDER BY f.updated_at DESC, f.id DESC LIMIT ${p.limit}`.execute(exec.raw);
  return r.rows.map((x) => ({
    id: x.id,
    type: x.type,
    queue: x.queue,
    status: x.status,
    attempts: x.attempts,
    maxAttempts: x.max_attempts,
    lastError: x.last_error,
    runAfter: x.run_after,
    updatedAt: x.updated_at,
  }));
}
