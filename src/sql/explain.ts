// Read statements behind `jobq explain`: what surrounds one job (its queue's setting, the live workers
// serving that queue, busy slots — RUNNING jobs plus slots held past a timeout — jobs ahead of it) and the
// worker that holds a lease.
import { sql } from 'kysely';
import type { Executor } from '../db/connect.js';
import { claimLifting, claimRank, claimReady } from './claim-order.js';
import { refilledTokens } from './queue-limits.js';

/** The surroundings of one waiting job, measured in one statement. */
export interface JobContextRow {
  now: Date;
  paused: boolean;
  /** Live workers (any queue). */
  online: number;
  /** Live workers serving the job's queue. */
  serving: number;
  /** Live workers serving the queue that have a handler for the job's type. */
  knowing: number;
  /** Slots of the queue summed over the workers that serve it and know the type. */
  slots: number;
  /** Jobs of the queue RUNNING now. */
  running: number;
  /**
   * Slots of the queue (on the workers counted in `slots`) still held by handlers past their timeout,
   * whose jobs are no longer RUNNING: busy too, though the jobs table does not show them.
   */
  overtime: number;
  /** Ready jobs of the queue that the claim order puts before this one. */
  ahead: number;
  /** Job types known by the workers serving the queue. */
  knownTypes: string[];
  /** The queue's flow limits (null: none) and their use. */
  concurrency: number | null;
  rateCount: number | null;
  ratePeriodMs: number | null;
  burst: number | null;
  /** Tokens in the rate bucket now (refilled to this instant). */
  tokens: number | null;
  keyConcurrency: number | null;
  /** Jobs of the job's key RUNNING in the queue (0 without a key). */
  keyRunning: number;
}

/**
 * Measures the context of a job. "Ahead" counts the ready jobs the claim would take before this one, with
 * the claim's own predicate and order (claim-order.ts, starvation promotion included; the target's
 * run_after is read here at full microsecond precision, which a JS Date would round). Workers are
 * few, so the workers table is scanned. "Running" reads jobs_running_idx.
 */
export async function jobExplainContext(
  exec: Executor,
  p: {
    id: string;
    queue: string;
    type: string;
    key: string | null;
    onlineWithinMs: number;
    starvationMs: number;
  },
): Promise<JobContextRow> {
  const t = exec.t;
  const lifting = claimLifting(t.jobs, p.queue, p.starvationMs);
  const r = await sql<{
    now: Date;
    paused: boolean;
    online: number;
    serving: number;
    knowing: number;
    slots: number;
    running: number;
    overtime: number;
    ahead: number;
    known_types: string[];
    concurrency: number | null;
    rate_count: number | null;
    rate_period_ms: number | null;
    burst: number | null;
    tokens: number | null;
    key_concurrency: number | null;
    key_running: number;
  }>`
    WITH online AS (
      SELECT queues, types, overtime FROM ${t.workers}
      WHERE last_heartbeat_at > now() - make_interval(secs => ${p.onlineWithinMs / 1000})
    ), serving AS (SELECT queues, types, overtime FROM online WHERE queues ? ${p.queue}::text)
    SELECT now() AS now,
      EXISTS (SELECT 1 FROM ${t.queues} WHERE name = ${p.queue} AND paused) AS paused,
      (SELECT count(*)::int FROM online) AS online,
      (SELECT count(*)::int FROM serving) AS serving,
      (SELECT count(*)::int FROM serving WHERE ${p.type}::text = ANY(types)) AS knowing,
      (SELECT coalesce(sum((queues ->> ${p.queue}::text)::int), 0)::int FROM serving
        WHERE ${p.type}::text = ANY(types)) AS slots,
      (SELECT coalesce(sum((overtime ->> ${p.queue}::text)::int), 0)::int FROM serving
        WHERE ${p.type}::text = ANY(types)) AS overtime,
      (SELECT count(*)::int FROM ${t.jobs} WHERE status = 'RUNNING' AND queue = ${p.queue}) AS running,
      (SELECT count(*)::int FROM ${t.jobs} a, ${t.jobs} tj
        WHERE tj.id = ${p.id} AND ${claimReady('a', p.queue)} AND a.id <> tj.id
          AND ${claimRank('a', p.starvationMs, lifting)} < ${claimRank('tj', p.starvationMs, lifting)}) AS ahead,
      (SELECT coalesce(array_agg(DISTINCT k ORDER BY k), '{}') FROM serving, unnest(types) AS k) AS known_types,
      fq.concurrency, fq.rate_count, fq.rate_period_ms, fq.burst, fq.key_concurrency,
      -- the bucket as the next claim would see it
      ${refilledTokens('fq')} AS tokens,
      (SELECT count(*)::int FROM ${t.jobs} WHERE status = 'RUNNING' AND queue = ${p.queue}
        AND key = ${p.key}) AS key_running
    FROM (SELECT 1) one LEFT JOIN ${t.queues} fq ON fq.name = ${p.queue}`.execute(exec.raw);
  const x = r.rows[0];
  if (!x) throw new Error('jobExplainContext returned no row');
  return {
    now: x.now,
    paused: x.paused,
    online: x.online,
    serving: x.serving,
    knowing: x.knowing,
    slots: x.slots,
    running: x.running,
    overtime: x.overtime,
    ahead: x.ahead,
    knownTypes: x.known_types,
    concurrency: x.concurrency,
    rateCount: x.rate_count,
    ratePeriodMs: x.rate_period_ms,
    burst: x.burst,
    tokens: x.tokens,
    keyConcurrency: x.key_concurrency,
    keyRunning: x.key_running,
  };
}

/** One worker's registration and heartbeat; undefined when it is not registered (stopped or pruned). */
export async function workerGet(
  exec: Executor,
  id: string,
): Promise<{ id: string; host: string; pid: number; lastHeartbeatAt: Date; now: Date } | undefined> {
  const r = await sql<{
    id: string;
    host: string;
    pid: number;
    last_heartbeat_at: Date;
    now: Date;
  }>`SELECT id, host, pid, last_heartbeat_at, now() AS now FROM ${exec.t.workers} WHERE id = ${id}`.execute(
    exec.raw,
  );
  const x = r.rows[0];
  return x
    ? { id: x.id, host: x.host, pid: x.pid, lastHeartbeatAt: x.last_heartbeat_at, now: x.now }
    : undefined;
}
