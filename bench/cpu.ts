// Where a drain's CPU goes: drains `BENCH_JOBS` (default 50,000) no-op jobs with 1 and 2 worker processes
// (BENCH_PROCS=1,2; 0 = the raw-SQL ceiling) and reports, per job, the CPU time of the worker processes
// (node), of their PostgreSQL backends, and of every other postgres process on the host (background
// writers, and on a shared server other clients' backends), read from /proc (Linux; the server must run
// on this host). CPU per job varies less than jobs/s on a busy machine. Knobs: BENCH_ROUNDS,
// BENCH_VARIANTS="K=1;K=2" (environment of the worker processes, alternated), BENCH_SAMPLE=1 (sample the
// worker connections' state in pg_stat_activity), BENCH_PERF=file (perf record -a -g during the drain).
//   flock /tmp/jobq-bench.lock env DATABASE_URL=… node --import tsx bench/cpu.ts
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { sql } from 'kysely';
import { benchSchema, benchServer } from './db.js';
import { loadJobs, startWorkers, stopWorkers, waitCompleted } from './workers.js';
import { pauseQueue, resumeQueue } from '../src/queue/index.js';
import { ceilingDrain } from './ceiling.js';

const TICK = 100; // USER_HZ

/** utime + stime of a process in seconds (0 when it is gone). */
function cpuOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK;
  } catch {
    return 0;
  }
}

/** Every postgres process on the host: pid → cpu seconds. */
function postgresCpu(): Map<number, number> {
  const m = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() !== 'postgres') continue;
    } catch {
      continue;
    }
    m.set(Number(d), cpuOf(Number(d)));
  }
  return m;
}

const server = await benchServer();
const n = Number(process.env.BENCH_JOBS ?? 50_000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 1000);
const procsList = (process.env.BENCH_PROCS ?? '1,2').split(',').map(Number);
const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
try {
  // BENCH_VARIANTS="A=1;A=2": environment settings for the worker processes, alternated within a round
  const variants = (process.env.BENCH_VARIANTS ?? '').split(';');
  for (let round = 0; round < rounds; round++)
    for (const variant of variants)
      for (const procs of procsList) {
        for (const kv of variant.split(',').filter(Boolean)) {
          const [k, v] = kv.split('=');
          if (k) process.env[k] = v;
        }
        const db = await benchSchema(server.url);
        try {
          if (procs === 0) {
            // the raw-SQL ceiling (4 connections of this process), its backends' CPU per job
            const pg0 = postgresCpu();
            const node0 = cpuOf(process.pid);
            const rate = await ceilingDrain(db, n, 4);
            const pg1 = postgresCpu();
            let pgAll = 0;
            for (const [pid, c] of pg1) pgAll += c - (pg0.get(pid) ?? 0);
            const us = (s: number): string => `${((s / n) * 1e6).toFixed(1)} µs`;
            console.log(
              `ceiling: ${Math.round(rate)} jobs/s; per job (incl. its load): node ${us(cpuOf(process.pid) - node0)}, all pg ${us(pgAll)}`,
            );
            continue;
          }
          await loadJobs(db, n);
          await pauseQueue(db.exec, 'default');
          const workers = await startWorkers(db, procs, concurrency);
          const pg0 = postgresCpu();
          const node0 = workers.map((w) => cpuOf(w.pid ?? 0));
          const t = (await sql<{ t: Date }>`SELECT clock_timestamp() AS t`.execute(db.exec.raw)).rows[0]?.t;
          const w0 = performance.now();
          // BENCH_PERF=file: record the whole host with perf during the drain (report later with --pid)
          const perf = process.env.BENCH_PERF
            ? spawn('perf', ['record', '-a', '-g', '-o', process.env.BENCH_PERF], { stdio: 'ignore' })
            : undefined;
          if (perf) await new Promise((r) => setTimeout(r, 300));
          await resumeQueue(db.exec, 'default');
          // BENCH_SAMPLE=1: sample the worker connections' state every 2 ms during the drain
          const samples = new Map<string, number>();
          let nSamples = 0;
          let sampling = process.env.BENCH_SAMPLE === '1';
          const sampler = (async () => {
            while (sampling) {
              const r = await sql<{
                s: string;
              }>`SELECT coalesce(state, '?') || ':' || CASE WHEN state = 'active'
                THEN coalesce(wait_event_type || '/' || wait_event, 'cpu') || ' ' || left(regexp_replace(query, '\s+', ' ', 'g'), 12)
                ELSE '' END AS s
              FROM pg_stat_activity WHERE application_name = 'jobq-worker' AND backend_type = 'client backend'
                AND query NOT LIKE 'LISTEN%'`.execute(db.exec.raw);
              nSamples++;
              for (const row of r.rows) samples.set(row.s, (samples.get(row.s) ?? 0) + 1);
              await new Promise((r) => setTimeout(r, 2));
            }
          })();
          await waitCompleted(db, n, 600_000, t);
          sampling = false;
          await sampler;
          if (nSamples > 0)
            console.log(
              [...samples]
                .sort((a, b) => b[1] - a[1])
                .map(([k, v]) => `${k} ${(v / nSamples).toFixed(2)}`)
                .join('; '),
            );
          const wall = (performance.now() - w0) / 1000;
          const backends = await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity
          WHERE application_name LIKE 'jobq-worker%' AND datname = current_database()`.execute(db.exec.raw);
          if (perf) {
            perf.kill('SIGINT');
            await new Promise((r) => perf.once('exit', r));
            writeFileSync(
              `${process.env.BENCH_PERF}.pids`,
              [...backends.rows.map((r) => r.pid), ...workers.map((w) => w.pid)].join(','),
            );
          }
          const nodeCpu = workers.reduce((s, w, i) => s + cpuOf(w.pid ?? 0) - (node0[i] ?? 0), 0);
          const pg1 = postgresCpu();
          const mine = new Set(backends.rows.map((r) => r.pid));
          let pgWorkers = 0;
          let pgOther = 0;
          for (const [pid, c] of pg1) {
            const d = c - (pg0.get(pid) ?? 0);
            if (mine.has(pid)) pgWorkers += d;
            else pgOther += d;
          }
          const r = await sql<{
            secs: number;
          }>`SELECT extract(epoch FROM max(finished_at) - ${t})::float8 AS secs
          FROM ${db.exec.t.jobs} WHERE status = 'COMPLETED'`.execute(db.exec.raw);
          const secs = r.rows[0]?.secs ?? NaN;
          const us = (s: number): string => `${((s / n) * 1e6).toFixed(1)} µs`;
          console.log(
            `${variant ? `[${variant}] ` : ''}${procs} proc: ${Math.round(n / secs)} jobs/s (${secs.toFixed(2)} s db, ${wall.toFixed(2)} s wall); ` +
              `per job: node ${us(nodeCpu)}, pg backends ${us(pgWorkers)}, other pg ${us(pgOther)}; ` +
              `cores used ${((nodeCpu + pgWorkers + pgOther) / secs).toFixed(2)} (CPU over the drain's database time)`,
          );
          await stopWorkers(workers);
        } finally {
          await db.drop();
        }
      }
} finally {
  await server.stop();
}
