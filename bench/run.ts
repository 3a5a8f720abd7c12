// `npm run bench`: jobq's figures beside the raw-SQL ceiling of the same database, measured in one run.
// Uses DATABASE_URL when set (e.g. the machine's PostgreSQL), else an embedded PostgreSQL 16.
import os from 'node:os';
import { benchSchema, benchServer } from './db.js';
import { ceilingBulkInsert, ceilingConcurrentInsert, ceilingDrain, ceilingLatency } from './ceiling.js';
import { bulkEnqueue, concurrentEnqueue } from './enqueue.js';
import { scaleDrain, walPerJob } from './scale.js';
import { drain, latency, loadJobs, percentiles, type Latency } from './workers.js';
import { flowFairness, flowOverhead, flowRate } from './flow.js';
import { counterRowCost } from './flow-counter.js';

interface Row {
  scenario: string;
  jobq: string;
  ceiling: string;
  ratio: string;
  target: string;
}

const rows: Row[] = [];
const fmt = (n: number): string => `${Math.round(n).toLocaleString('en-US')}/s`;
const only = process.env.BENCH_ONLY?.split(',');
// Slots per worker process for the no-op drains: no-op jobs finish in microseconds, so the worker is bound
// by claim round trips unless a claim can take many jobs at once (measured: 100 slots 0.79×, 1000 slots
// 0.94× of the ceiling).
const DRAIN_CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 1000);

async function scenario(key: string, fn: () => Promise<void>): Promise<void> {
  if (only && !only.includes(key)) return;
  process.stderr.write(`bench: ${key}…\n`);
  await fn();
}

function add(scenario: string, jobq: number, ceiling: number | undefined, target: string): void {
  rows.push({
    scenario,
    jobq: fmt(jobq),
    ceiling: ceiling === undefined ? '-' : fmt(ceiling),
    ratio: ceiling === undefined ? '-' : `${(jobq / ceiling).toFixed(2)}×`,
    target,
  });
}

const server = await benchServer();
const url = server.url;
const fresh = () => benchSchema(url);
/** Runs f on a fresh schema and drops the schema afterwards, whatever f does. */
async function onFresh<T>(f: (d: Awaited<ReturnType<typeof fresh>>) => Promise<T>): Promise<T> {
  const d = await fresh();
  try {
    return await f(d);
  } finally {
    await d.drop();
  }
}
try {
  await scenario('a', async () => {
    let d = await fresh();
    const ceil = await ceilingBulkInsert(d, 100_000);
    await d.drop();
    d = await fresh();
    add('(a) bulk enqueue, 100,000 jobs', await bulkEnqueue(d, 100_000), ceil, '≥ 100,000/s');
    await d.drop();
  });
  await scenario('b', async () => {
    let d = await fresh();
    const ceil = await ceilingConcurrentInsert(d, 20_000, 16);
    await d.drop();
    d = await fresh();
    add(
      '(b) 20,000 single enqueues, 16 concurrent callers',
      await concurrentEnqueue(d, 20_000, 16),
      ceil,
      '≥ 10,000/s',
    );
    await d.drop();
  });
  let drainCeil: number | undefined;
  await scenario('c', async () => {
    let d = await fresh();
    drainCeil = await ceilingDrain(d, 50_000, 4);
    await d.drop();
    for (const processes of [1, 2]) {
      d = await fresh();
      await loadJobs(d, 50_000);
      const rate = await drain(d, { processes, concurrency: DRAIN_CONCURRENCY, measure: 50_000 });
      add(
        `(c) drain 50,000 no-op jobs, ${processes} worker process${processes > 1 ? 'es' : ''}`,
        rate,
        drainCeil,
        processes === 1 ? '≥ 40,000/s and ≥ 0.9× ceiling' : '',
      );
      await d.drop();
    }
  });
  // (k) scale-out: the same drain with more worker processes, beside the 1-process figure of this run
  await scenario('k', async () => {
    let one: number | undefined;
    for (const processes of [1, 2, 4, 16]) {
      const d = await fresh();
      await loadJobs(d, 50_000);
      const { rate, peak } = await scaleDrain(d, processes, DRAIN_CONCURRENCY, 50_000);
      one ??= rate;
      rows.push({
        scenario: `(k) drain 50,000, ${processes} worker process${processes > 1 ? 'es' : ''} (peak ${peak} connections)`,
        jobq: fmt(rate),
        ceiling: processes === 1 ? '-' : fmt(one),
        ratio: processes === 1 ? '-' : `${(rate / one).toFixed(2)}× of 1`,
        target: processes === 2 ? '≥ 1.15× of 1' : '',
      });
      await d.drop();
    }
  });
  // (l) write volume: WAL bytes per job for enqueue and for drain of 50,000 jobs, each after a CHECKPOINT
  await scenario('l', async () => {
    const d = await fresh();
    const w = await walPerJob(d, 50_000, DRAIN_CONCURRENCY);
    rows.push({
      scenario: '(l) WAL per job, 50,000 jobs: enqueue + drain',
      jobq: `${Math.round(w.enqueue)} + ${Math.round(w.drain)} = ${Math.round(w.enqueue + w.drain)} bytes`,
      ceiling: '-',
      ratio: '-',
      target: 'report',
    });
    await d.drop();
  });
  await scenario('d', async () => {
    let d = await fresh();
    const c = percentiles(await ceilingLatency(d, 1000, 5));
    await d.drop();
    d = await fresh();
    const l = await latency(d, 1000, 5);
    const ms = (x: Latency): string =>
      `p50 ${x.p50.toFixed(2)} ms, p95 ${x.p95.toFixed(2)} ms, p99 ${x.p99.toFixed(2)} ms`;
    rows.push({
      scenario: '(d) enqueue → handler start, idle worker, 1,000 jobs 5 ms apart',
      jobq: ms(l),
      ceiling: ms(c),
      ratio: `p50 ${(l.p50 / c.p50).toFixed(2)}×, p99 ${(l.p99 / c.p99).toFixed(2)}×`,
      target: 'p50 ≤ 1.5 ms, p99 ≤ 4 ms',
    });
    await d.drop();
  });
  // (e) and (f) are compared with draining the same 20,000 jobs from an otherwise empty table, measured
  // in the same run, so the ratio isolates what the backlog or the history costs.
  let baseline: number | undefined;
  const drain20k = async (
    prepare: (d: Awaited<ReturnType<typeof fresh>>) => Promise<void>,
  ): Promise<number> => {
    const d = await fresh();
    await prepare(d);
    const rate = await drain(d, { processes: 1, concurrency: DRAIN_CONCURRENCY, measure: 20_000 });
    await d.drop();
    return rate;
  };
  const base = async (): Promise<number> => (baseline ??= await drain20k((d) => loadJobs(d, 20_000)));
  await scenario('e', async () => {
    const b = await base();
    add(
      '(e) drain first 20,000 of a 1,000,000-job backlog',
      await drain20k((d) => loadJobs(d, 1_000_000)),
      b,
      '≥ 0.9× (slowdown ≤ 10 %)',
    );
  });
  await scenario('f', async () => {
    const b = await base();
    const rate = await drain20k(async (d) => {
      await loadJobs(d, 1_000_000, 'COMPLETED');
      await loadJobs(d, 20_000);
    });
    add('(f) drain 20,000 with 1,000,000 finished jobs retained', rate, b, '≥ 0.9× (slowdown ≤ 10 %)');
  });
  if (baseline !== undefined)
    add('    baseline for (e), (f): drain 20,000, nothing else in the table', baseline, undefined, '');
  // Flow control (issue 14): (g)'s ceiling column is the same drain without limits, in the same run.
  await scenario('g', async () => {
    const o = await flowOverhead(fresh, DRAIN_CONCURRENCY);
    add('(g) drain 50,000 no-op jobs, limits set but not binding', o.limited, o.plain, '≥ 0.9× (no limits)');
  });
  await scenario('h', async () => {
    const fair = await onFresh((d) => flowFairness(d, true));
    const fifo = await onFresh((d) => flowFairness(d, false));
    const s = (x: { p50: number; p99: number }) => `p50 ${x.p50.toFixed(2)} s, p99 ${x.p99.toFixed(2)} s`;
    rows.push({
      scenario: '(h) tenant B (100 jobs) behind A (10,000 × 50 ms), 20 slots: B enqueue → start',
      jobq: `keys: ${s(fair)}`,
      ceiling: `no keys (FIFO): ${s(fifo)}`,
      ratio: `p99 ${(fair.p99 / fifo.p99).toFixed(3)}×`,
      target: 'p99 ≤ 1 s',
    });
  });
  await scenario('j', async () => {
    const without = await onFresh((d) => counterRowCost(d, false));
    const withRow = await onFresh((d) => counterRowCost(d, true));
    add(
      '(j) not used: a counter row every claim and completion update (16 conns, 1 job at a time)',
      withRow,
      without,
      'why jobq has none',
    );
  });
  await scenario('i', async () => {
    const r = await onFresh((d) => flowRate(d));
    rows.push({
      scenario: '(i) --rate 50/s --burst 10, 4 worker processes, 20 s: job starts',
      jobq: String(r.starts),
      ceiling: `bound ${r.bound}`,
      ratio: `${(r.starts / r.bound).toFixed(3)}×`,
      target: '≤ bound and ≥ 0.9×',
    });
  });
} finally {
  await server.stop();
}

const head: Row = {
  scenario: 'scenario',
  jobq: 'jobq',
  ceiling: 'raw-SQL ceiling',
  ratio: 'ratio',
  target: 'target',
};
const widths = (Object.keys(head) as (keyof Row)[]).map((k) =>
  Math.max(...[head, ...rows].map((r) => r[k].length)),
);
const line = (r: Row): string =>
  `| ${(Object.keys(head) as (keyof Row)[]).map((k, i) => r[k].padEnd(widths[i] ?? 0)).join(' | ')} |`;
console.log(
  `\nMachine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; database: ${server.label}\n`,
);
console.log(line(head));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
console.log(
  "\nCeilings are plain SQL on the seed schema's own table; (d)'s is INSERT + NOTIFY, LISTEN and a bare SKIP LOCKED claim (a latency ratio above 1 is slower); (e) and (f) are compared with the 20,000-job baseline of the same run.",
);
