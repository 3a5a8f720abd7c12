// Worker-process scenarios: real `jobq worker` processes draining a queue, and enqueue-to-start latency
// with an idle worker. Durations come from the database clock (finished_at), not from polling.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { createClient } from '../src/client/client.js';
import type { Database } from '../src/db/connect.js';
import { pauseQueue, resumeQueue } from '../src/queue/index.js';

const BIN = fileURLToPath(new URL('../bin/jobq.js', import.meta.url));
const HANDLERS = fileURLToPath(new URL('./handlers.js', import.meta.url));

/** Starts `count` worker processes on a queue (default: default) and waits until all have registered. */
export async function startWorkers(
  db: Database,
  count: number,
  concurrency: number,
  queue = 'default',
): Promise<ChildProcess[]> {
  const procs = Array.from({ length: count }, () =>
    spawn(process.execPath, [BIN, 'worker', '--queue', `${queue}:${concurrency}`, '--handlers', HANDLERS], {
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        JOBQ_SCHEMA: db.schema,
        JOBQ_METRICS_PORT: '0',
        JOBQ_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await sql<{ n: number }>`SELECT count(*) AS n FROM ${db.exec.t.workers}`.execute(db.exec.raw);
    if ((r.rows[0]?.n ?? 0) >= count) return procs;
    if (Date.now() > deadline) throw new Error('workers did not register within 30 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGTERM and wait for exit. */
export async function stopWorkers(procs: ChildProcess[]): Promise<void> {
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGTERM');
        }),
    ),
  );
}

/**
 * Waits until n jobs have completed, counting only those finished at or after `since` when given. The
 * count reads every finished row (~17 ms of server CPU per 50,000), so polling it every 100 ms took ~15 %
 * of a core from the drain being measured (the ceilings poll nothing): after the first two counts it
 * polls at ~80 % of the time the observed rate says is left (≥ 100 ms), a handful of counts per drain.
 */
export async function waitCompleted(
  db: Database,
  n: number,
  timeoutMs: number,
  since = new Date(0),
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: { at: number; done: number } | undefined;
  for (;;) {
    const r = await sql<{ n: number }>`SELECT count(*) AS n FROM ${db.exec.t.jobs}
      WHERE status = 'COMPLETED' AND finished_at >= ${since}`.execute(db.exec.raw);
    const done = r.rows[0]?.n ?? 0;
    if (done >= n) return;
    if (Date.now() > deadline) throw new Error(`only ${done} of ${n} jobs completed in time`);
    const at = performance.now();
    const rate = last && done > last.done ? (done - last.done) / (at - last.at) : 0;
    last = { at, done };
    const wait = rate > 0 ? Math.min(5000, Math.max(100, (0.8 * (n - done)) / rate)) : 100;
    await new Promise((r) => setTimeout(r, wait));
  }
}

/**
 * Drains the first `measure` jobs of what is in queue default with `processes` workers: the queue is
 * paused while workers start, then resumed; the rate is measure / (finish time of the measure-th job −
 * resume time), both on the database clock.
 */
export async function drain(
  db: Database,
  opts: { processes: number; concurrency: number; measure: number },
): Promise<number> {
  await pauseQueue(db.exec, 'default');
  const procs = await startWorkers(db, opts.processes, opts.concurrency);
  try {
    const t =
      (await sql<{ t: Date }>`SELECT clock_timestamp() AS t`.execute(db.exec.raw)).rows[0]?.t ?? new Date();
    await resumeQueue(db.exec, 'default');
    await waitCompleted(db, opts.measure, 600_000, t);
    // Only jobs finished after the resume count: scenario (f) preloads finished history.
    const r = await sql<{ secs: number }>`SELECT extract(epoch FROM f - ${t})::float8 AS secs FROM (
        SELECT finished_at AS f FROM ${db.exec.t.jobs} WHERE status = 'COMPLETED' AND finished_at >= ${t}
        ORDER BY finished_at OFFSET ${opts.measure - 1} LIMIT 1) x`.execute(db.exec.raw);
    return opts.measure / (r.rows[0]?.secs ?? Infinity);
  } finally {
    await stopWorkers(procs);
  }
}

/** Loads n no-op jobs into queue default in one statement (for drain scenarios). */
export async function loadJobs(
  db: Database,
  n: number,
  status: 'PENDING' | 'COMPLETED' = 'PENDING',
): Promise<void> {
  const finished = status === 'COMPLETED' ? sql`now()` : sql`NULL`;
  await sql`INSERT INTO ${db.exec.t.jobs} (type, status, finished_at, run_after)
    SELECT 'bench.noop', ${status}, ${finished}, now() - interval '1 second' FROM generate_series(1, ${n})`.execute(
    db.exec.raw,
  );
  await sql`VACUUM ANALYZE ${db.exec.t.jobs}`.execute(db.exec.raw);
}

export interface Latency {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** p50/p95/p99/max of latencies in ms. */
export function percentiles(values: number[]): Latency {
  const lat = [...values].sort((a, b) => a - b);
  const q = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  return { p50: q(0.5), p95: q(0.95), p99: q(0.99), max: lat.at(-1) ?? NaN };
}

/** Enqueue-to-handler-start latency with an idle worker: `count` jobs, one every `gapMs`. */
export async function latency(db: Database, count: number, gapMs: number): Promise<Latency> {
  const procs = await startWorkers(db, 1, 10);
  const client = createClient({ database: db });
  const sent = new Map<string, number>();
  try {
    // warm up the worker's connections and code paths
    for (let i = 0; i < 20; i++) await client.enqueue({ type: 'bench.stamp' });
    await waitCompleted(db, 20, 30_000);
    for (let i = 0; i < count; i++) {
      const t0 = performance.timeOrigin + performance.now();
      const { id } = await client.enqueue({ type: 'bench.stamp' });
      sent.set(id, t0);
      await new Promise((r) => setTimeout(r, gapMs));
    }
    await waitCompleted(db, count + 20, 60_000);
    const rows = await sql<{
      id: string;
      started: number;
    }>`SELECT id, (result->>'startedAt')::float8 AS started
      FROM ${db.exec.t.jobs} WHERE id = ANY(${[...sent.keys()]}::uuid[])`.execute(db.exec.raw);
    return percentiles(rows.rows.map((r) => r.started - (sent.get(r.id) ?? 0)));
  } finally {
    await stopWorkers(procs);
  }
}
