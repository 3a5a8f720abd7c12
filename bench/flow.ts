// Flow-control scenarios (issue 14): the cost of limits that do not bind, fair shares between keys, and
// rate-limit accuracy across worker processes. Times come from the database clock.
import { sql } from 'kysely';
import type { Database } from '../src/db/connect.js';
import { enqueueMany, setQueueLimits } from '../src/queue/index.js';
import { drain, loadJobs, startWorkers, stopWorkers } from './workers.js';

type Db = Database & { drop(): Promise<void> };

/** Drain rates of 50,000 no-op jobs without limits and with limits far above what is reached. */
export async function flowOverhead(
  fresh: () => Promise<Db>,
  concurrency: number,
): Promise<{ plain: number; limited: number }> {
  const run = async (limited: boolean): Promise<number> => {
    const d = await fresh();
    try {
      if (limited)
        await setQueueLimits(d.exec, 'default', {
          concurrency: 1_000_000,
          rate: '1000000/s',
          burst: 1_000_000,
        });
      await loadJobs(d, 50_000);
      return await drain(d, { processes: 1, concurrency, measure: 50_000 });
    } finally {
      await d.drop();
    }
  };
  // alternate, so drift of a shared machine touches both sides alike
  const plain1 = await run(false);
  const limited1 = await run(true);
  const limited2 = await run(true);
  const plain2 = await run(false);
  return { plain: (plain1 + plain2) / 2, limited: (limited1 + limited2) / 2 };
}

async function countWhere(d: Db, where: ReturnType<typeof sql>): Promise<number> {
  const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${d.exec.t.jobs} WHERE ${where}`.execute(
    d.exec.raw,
  );
  return r.rows[0]?.n ?? 0;
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Tenant A enqueues 10,000 jobs of 50 ms, then (once A is under way) tenant B enqueues 100; one worker
 * with 20 slots. Returns B's enqueue-to-start p50/p99 in seconds, with keys (fair shares) or without
 * (first in, first out).
 */
export async function flowFairness(d: Db, keyed: boolean): Promise<{ p50: number; p99: number }> {
  const spec = (key: string) => ({
    type: 'bench.sleep',
    queue: 'fair',
    payload: { ms: 50 },
    ...(keyed ? { key } : {}),
  });
  await enqueueMany(
    d.exec,
    Array.from({ length: 10_000 }, () => spec('A')),
  );
  const procs = await startWorkers(d, 1, 20, 'fair');
  try {
    await until('A under way', async () => (await countWhere(d, sql`status = 'COMPLETED'`)) >= 200);
    const b = await enqueueMany(
      d.exec,
      Array.from({ length: 100 }, () => spec('B')),
    );
    const ids = b.map((x) => x.id);
    await until(
      "B's jobs to start",
      async () => (await countWhere(d, sql`id = ANY(${ids}::uuid[]) AND started_at IS NOT NULL`)) === 100,
      120_000,
    );
    const r = await sql<{ p50: number; p99: number }>`SELECT
        percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at))::float8 AS p50,
        percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at))::float8 AS p99
      FROM ${d.exec.t.jobs} WHERE id = ANY(${ids}::uuid[])`.execute(d.exec.raw);
    return { p50: r.rows[0]?.p50 ?? NaN, p99: r.rows[0]?.p99 ?? NaN };
  } finally {
    await stopWorkers(procs);
  }
}

/**
 * `--rate 50/s --burst 10` with 4 worker processes for 20 s: job starts counted from the first start
 * (database clock), against the bound rate × t + burst.
 */
export async function flowRate(d: Db): Promise<{ starts: number; bound: number }> {
  const rate = 50;
  const burst = 10;
  const seconds = 20;
  await setQueueLimits(d.exec, 'rated', { rate: `${rate}/s`, burst });
  await enqueueMany(
    d.exec,
    Array.from({ length: 1500 }, () => ({ type: 'bench.noop', queue: 'rated' })),
  );
  const procs = await startWorkers(d, 4, 20, 'rated');
  try {
    const span = sql`(SELECT extract(epoch FROM max(started_at) - min(started_at)) FROM ${d.exec.t.jobs}
      WHERE queue = 'rated' AND started_at IS NOT NULL)`;
    await until('20 s of starts', async () => {
      const r = await sql<{ s: number | null }>`SELECT ${span}::float8 AS s`.execute(d.exec.raw);
      return (r.rows[0]?.s ?? 0) >= seconds + 0.5;
    });
    const starts = await countWhere(
      d,
      sql`queue = 'rated' AND started_at <= (SELECT min(started_at) FROM ${d.exec.t.jobs} WHERE queue = 'rated')
        + make_interval(secs => ${seconds})`,
    );
    return { starts, bound: rate * seconds + burst };
  } finally {
    await stopWorkers(procs);
  }
}
