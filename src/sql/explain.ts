// Read statements behind `jobq explain`: what surrounds one job (its queue's setting, the live workers
// serving that queue, busy slots, jobs ahead of it) and the worker that holds a lease.
import { sql } from 'kysely';
import type { Executor } from '../db/connect.js';
import { claimRank, claimReady } from './claim-order.js';

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
  /** Ready jobs of the queue that the claim order puts before this one. */
  ahead: number;
  /** Job types known by the workers serving the queue. */
  knownTypes: string[];
}

/**
 * Measures the context of a job. "Ahead" counts the ready jobs the claim would take before this one, with
 * the claim's own predicate and order (claim-order.ts, starvation promotion included; the target's
 * run_after is read here at full microsecond precision, which a JS Date would round). Workers are
 * few, so the workers table is scanned. "Running" reads jobs_running_lease_idx.
 */
export async function jobExplainContext(
  exec: Executor,
  p: { id: string; queue: string; type: string; onlineWithinMs: number; starvationMs: number },
): Promise<JobContextRow> {
  const t = exec.t;
  const r = await sql<{
    now: Date;
    paused: boolean;
    online: number;
    serving: number;
    knowing: number;
    slots: number;
    running: number;
    ahead: number;
    known_types: string[];
  }>`
    WITH online AS (
      SELECT queues, types FROM ${t.workers}
      WHERE last_heartbeat_at > now() - make_interval(secs => ${p.onlineWithinMs / 1000})
    ), serving AS (SELECT queues, types FROM online WHERE queues ? ${p.queue}::text)
    SELECT now() AS now,
      EXISTS (SELECT 1 FROM ${t.queues} WHERE name = ${p.queue} AND paused) AS paused,
      (SELECT count(*)::int FROM online) AS online,
      (SELECT count(*)::int FROM serving) AS serving,
      (SELECT count(*)::int FROM serving WHERE ${p.type}::text = ANY(types)) AS knowing,
      (SELECT coalesce(sum((queues ->> ${p.queue}::text)::int), 0)::int FROM serving
        WHERE ${p.type}::text = ANY(types)) AS slots,
      (SELECT count(*)::int FROM ${t.jobs} WHERE status = 'RUNNING' AND queue = ${p.queue}) AS running,
      (SELECT count(*)::int FROM ${t.jobs} a, ${t.jobs} tj
        WHERE tj.id = ${p.id} AND ${claimReady('a', p.queue)} AND a.id <> tj.id
          AND ${claimRank('a', p.starvationMs)} < ${claimRank('tj', p.starvationMs)}) AS ahead,
      (SELECT coalesce(array_agg(DISTINCT k ORDER BY k), '{}') FROM serving, unnest(types) AS k) AS known_types`.execute(
    exec.raw,
  );
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
    ahead: x.ahead,
    knownTypes: x.known_types,
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
