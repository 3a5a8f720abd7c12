// Flow control with real `jobq worker` processes (issue 14's acceptance): a queue's concurrency limit
// with 4 workers × 50 slots, its rate limit across 4 workers, per-key limits with 3 keys, fair shares for
// a small tenant behind a deep backlog, and limits changed and removed while workers run. Running counts
// are sampled from the database as fast as it answers. Needs `npm run build`.
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { clearQueueLimits, enqueueMany, setQueueLimits } from '../../src/queue/index.js';
import { freshDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { spawnWorker, type WorkerProcess } from './helpers.js';

const db = await freshDb();
const exec = db.exec;
const t = exec.t;

function workers(n: number, queue: string, slots: number, env: Record<string, string> = {}): WorkerProcess[] {
  return Array.from({ length: n }, () =>
    spawnWorker({ ...db.env, QUEUE: `${queue}:${slots}`, JOBQ_POLL_INTERVAL_MS: '200', ...env }),
  );
}

async function stopAll(ws: WorkerProcess[]): Promise<void> {
  for (const w of ws) w.child.kill('SIGKILL');
  await Promise.all(ws.map((w) => w.exited));
}

async function counts(
  queue: string,
): Promise<{ running: number; done: number; perKey: Record<string, number> }> {
  const r = await sql<{
    key: string | null;
    status: string;
    n: number;
  }>`SELECT key, status, count(*)::int AS n
    FROM ${t.jobs} WHERE queue = ${queue} AND status IN ('RUNNING', 'COMPLETED') GROUP BY key, status`.execute(
    exec.raw,
  );
  const perKey: Record<string, number> = {};
  let running = 0;
  let done = 0;
  for (const x of r.rows) {
    if (x.status === 'COMPLETED') done += x.n;
    else {
      running += x.n;
      if (x.key !== null) perKey[x.key] = (perKey[x.key] ?? 0) + x.n;
    }
  }
  return { running, done, perKey };
}

/** Samples the queue until `until` holds; returns the peaks seen. */
async function sample(
  queue: string,
  until: (c: Awaited<ReturnType<typeof counts>>) => boolean,
  timeoutMs = 120_000,
): Promise<{ peak: number; keyPeak: number; samples: number }> {
  const end = Date.now() + timeoutMs;
  let peak = 0;
  let keyPeak = 0;
  let samples = 0;
  for (;;) {
    const c = await counts(queue);
    samples++;
    peak = Math.max(peak, c.running);
    keyPeak = Math.max(keyPeak, ...Object.values(c.perKey), 0);
    if (until(c)) return { peak, keyPeak, samples };
    if (Date.now() > end) throw new Error(`timed out sampling ${queue}: ${JSON.stringify(c)}`);
  }
}

const sleepJobs = (queue: string, n: number, ms: number, key?: string) =>
  enqueueMany(
    exec,
    Array.from({ length: n }, () => ({
      type: 'test.sleep',
      queue,
      payload: { ms },
      ...(key ? { key } : {}),
    })),
  );

describe('flow control across worker processes', () => {
  it(
    '4 workers × 50 slots on a queue limited to 5: the sampled running count never exceeds 5; all jobs complete',
    { timeout: 240_000 },
    async () => {
      await setQueueLimits(exec, 'conc', { concurrency: 5 });
      await sleepJobs('conc', 300, 20);
      const ws = workers(4, 'conc', 50);
      try {
        const s = await sample('conc', (c) => c.done === 300);
        expect(s.peak).toBeLessThanOrEqual(5);
        expect(s.peak).toBe(5); // and the limit is used
        expect(s.samples).toBeGreaterThan(20);
      } finally {
        await stopAll(ws);
      }
    },
  );

  it(
    'a rate limit across 4 workers holds within rate × t + burst and is used at ≥ 90 %',
    { timeout: 240_000 },
    async () => {
      const rate = 40;
      const burst = 10;
      const windowS = 4;
      await setQueueLimits(exec, 'rate', { rate: `${rate}/s`, burst });
      await sleepJobs('rate', 600, 0);
      const ws = workers(4, 'rate', 20);
      try {
        const span = async () => {
          const r = await sql<{
            s: number;
          }>`SELECT extract(epoch FROM max(started_at) - min(started_at))::float8 AS s
          FROM ${t.jobs} WHERE queue = 'rate' AND started_at IS NOT NULL`.execute(exec.raw);
          return (r.rows[0]?.s ?? 0) > windowS + 0.5;
        };
        await waitFor(span, { timeoutMs: 120_000, what: 'starts spanning the window' });
        const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${t.jobs}
        WHERE queue = 'rate' AND started_at <= (SELECT min(started_at) FROM ${t.jobs} WHERE queue = 'rate')
          + make_interval(secs => ${windowS})`.execute(exec.raw);
        const starts = r.rows[0]?.n ?? 0;
        const bound = rate * windowS + burst;
        expect(starts).toBeLessThanOrEqual(bound);
        expect(starts).toBeGreaterThanOrEqual(Math.floor(0.9 * bound));
      } finally {
        await stopAll(ws);
      }
    },
  );

  it(
    'per-key limit 2 with 3 keys and 4 workers: never more than 2 running per key; all complete',
    { timeout: 240_000 },
    async () => {
      await setQueueLimits(exec, 'keys', { perKeyConcurrency: 2 });
      for (const key of ['k1', 'k2', 'k3']) await sleepJobs('keys', 40, 20, key);
      const ws = workers(4, 'keys', 10);
      try {
        const s = await sample('keys', (c) => c.done === 120);
        expect(s.keyPeak).toBeLessThanOrEqual(2);
        expect(s.keyPeak).toBe(2);
        expect(s.peak).toBeLessThanOrEqual(6);
      } finally {
        await stopAll(ws);
      }
    },
  );

  it(
    "fair shares: tenant B enqueued behind 3,000 jobs of tenant A starts within 1 s (p99), not after A — even when A's backlog is older than the starvation bound",
    { timeout: 240_000 },
    async () => {
      await sleepJobs('fair', 3000, 50, 'A');
      // A's backlog is past a 1 s starvation bound by the time B arrives: age must not turn the order
      // first-in-first-out (it lifts jobs over higher priorities only, and there is one priority here)
      const ws = workers(2, 'fair', 10, { JOBQ_STARVATION_SECONDS: '1' });
      try {
        await waitFor(async () => (await counts('fair')).done >= 100, {
          timeoutMs: 120_000,
          what: 'A under way',
        });
        await sleepJobs('fair', 30, 50, 'B');
        await waitFor(
          async () => {
            const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${t.jobs}
            WHERE queue = 'fair' AND key = 'B' AND started_at IS NOT NULL`.execute(exec.raw);
            return r.rows[0]?.n === 30;
          },
          { timeoutMs: 120_000, what: "B's jobs to start" },
        );
        const r = await sql<{ p99: number; a_left: number }>`SELECT
          percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at))::float8 AS p99,
          (SELECT count(*)::int FROM ${t.jobs} WHERE queue = 'fair' AND key = 'A' AND status = 'PENDING') AS a_left
        FROM ${t.jobs} WHERE queue = 'fair' AND key = 'B'`.execute(exec.raw);
        expect(r.rows[0]?.p99).toBeLessThanOrEqual(1);
        expect(r.rows[0]?.a_left).toBeGreaterThan(1000); // B did not wait for A's backlog
      } finally {
        await stopAll(ws);
      }
    },
  );

  it(
    'limits changed while workers run take effect without a restart (concurrency, rate, per key); removing them restores full speed',
    { timeout: 240_000 },
    async () => {
      await setQueueLimits(exec, 'chg', { concurrency: 2 });
      for (let k = 0; k < 10; k++) await sleepJobs('chg', 300, 40, `k${k}`);
      const ws = workers(2, 'chg', 20);
      try {
        const low = await sample('chg', (c) => c.done >= 30);
        expect(low.peak).toBeLessThanOrEqual(2);
        await setQueueLimits(exec, 'chg', { concurrency: 8 });
        const raisedAt = Date.now();
        const mid = await sample('chg', (c) => c.running >= 7);
        expect(Date.now() - raisedAt).toBeLessThan(2500);
        const held = await sample('chg', (c) => c.done >= 150);
        expect(Math.max(mid.peak, held.peak)).toBeLessThanOrEqual(8);
        await clearQueueLimits(exec, 'chg');
        const clearedAt = Date.now();
        await sample('chg', (c) => c.running > 20);
        expect(Date.now() - clearedAt).toBeLessThan(2500);

        // a rate limit set now: after a second, starts keep to it (started_at is the claim's own time)
        await setQueueLimits(exec, 'chg', { rate: '10/s', burst: 1 });
        const t0 = (await sql<{ t: Date }>`SELECT now() AS t`.execute(exec.raw)).rows[0]?.t ?? new Date();
        await new Promise((r) => setTimeout(r, 3500));
        const rated = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${t.jobs} WHERE queue = 'chg'
          AND started_at > ${t0}::timestamptz + interval '1 second'
          AND started_at <= ${t0}::timestamptz + interval '3 seconds'`.execute(exec.raw);
        expect(rated.rows[0]?.n).toBeLessThanOrEqual(10 * 2 + 1);
        expect(rated.rows[0]?.n).toBeGreaterThan(0);

        // the rate removed and a per-key limit set: at most one running per key, several keys at once
        await setQueueLimits(exec, 'chg', { rate: null, perKeyConcurrency: 1 });
        await new Promise((r) => setTimeout(r, 1000));
        const until = Date.now() + 1500;
        const keyed = await sample('chg', () => Date.now() > until);
        expect(keyed.keyPeak).toBe(1);
        expect(keyed.peak).toBeGreaterThan(2);
      } finally {
        await stopAll(ws);
      }
    },
  );
});
