// Helpers for the worker tests: in-process workers with short leases (stopped after each test), metric
// reads, job-state queries, and real `jobq worker` processes (spawned from bin/jobq.js; build first).
import { sql } from 'kysely';
import { afterEach } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import type { JobStatus } from '../../src/db/schema.js';
import { createLogger } from '../../src/log.js';
import type { Metrics } from '../../src/metrics/metrics.js';
import { createWorker, type Worker, type WorkerOptions } from '../../src/worker/index.js';
import { FIXTURE_HANDLERS, spawnJobq, type Daemon } from '../helpers/daemon.js';

export { FIXTURE_HANDLERS };

const running: Worker[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((w) => w.stop()));
});

/** Starts an in-process worker on `db` with test-friendly defaults; stopped after the test. */
export async function startWorker(db: Database, opts: Partial<WorkerOptions> = {}): Promise<Worker> {
  const w = createWorker({
    database: db,
    leaseMs: 3000,
    pollIntervalMs: 200,
    shutdownGraceMs: 0,
    backoff: { baseMs: 10, maxMs: 50 },
    ...(process.env.JOBQ_TEST_LOG ? { logger: createLogger(process.env.JOBQ_TEST_LOG, 2) } : {}),
    ...opts,
  });
  running.push(w);
  await w.start();
  return w;
}

/** Sum of a metric's values whose labels include `labels`. */
export async function metricValue(
  metric: Metrics[keyof Metrics],
  labels: Record<string, string> = {},
): Promise<number> {
  const m = metric as unknown as {
    get(): Promise<{ values: { value: number; labels: Record<string, unknown>; metricName?: string }[] }>;
  };
  const { values } = await m.get();
  return values
    .filter((v) => !v.metricName || !/_bucket$|_sum$/.test(v.metricName))
    .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((a, v) => a + v.value, 0);
}

/** Counts jobs by status (optionally of one queue). */
export async function statusCounts(
  db: Database,
  queue?: string,
): Promise<Partial<Record<JobStatus, number>>> {
  const t = db.exec.t;
  const r = await sql<{ status: JobStatus; n: number }>`SELECT status, count(*)::int AS n FROM ${t.jobs}
    WHERE ${queue ?? null}::text IS NULL OR queue = ${queue ?? null} GROUP BY status`.execute(db.exec.raw);
  return Object.fromEntries(r.rows.map((x) => [x.status, x.n]));
}

/** A promise with its resolve function exposed (a gate a handler waits on). */
export function gate<T = void>(): { promise: Promise<T>; open: (v: T) => void } {
  let open!: (v: T) => void;
  const promise = new Promise<T>((r) => (open = r));
  return { promise, open };
}

/** Resolves when the signal fires, with its reason. */
export function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });
}

/** A real `jobq worker` process (test/helpers/daemon.ts). */
export type WorkerProcess = Daemon;

/** Spawns `jobq worker …` with env over process.env (metrics off unless env sets a port). */
export function spawnWorker(env: Record<string, string>, args: string[] = []): WorkerProcess {
  return spawnJobq(['worker', ...args], { JOBQ_METRICS_PORT: '0', ...env });
}

/** The registered id of the worker process with this pid (waits for its registration). */
export async function workerIdOf(db: Database, pid: number): Promise<string | undefined> {
  const r = await sql<{ id: string }>`SELECT id FROM ${db.exec.t.workers} WHERE pid = ${pid}`.execute(
    db.exec.raw,
  );
  return r.rows[0]?.id;
}
