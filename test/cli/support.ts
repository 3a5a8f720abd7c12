// Shared helpers of the CLI tests: run many invocations with bounded parallelism, fingerprint the tables
// (to prove a failed command wrote nothing), and put jobs into given states through the queue library.
import { sql } from 'kysely';
import type { Executor } from '../../src/db/connect.js';
import { freePort } from '../../src/db/embedded.js';
import { claim, enqueue, fail, type EnqueueSpec, type Job } from '../../src/queue/index.js';
import { runCli, type CliResult } from '../helpers/cli.js';

/** Runs invocations with at most `parallel` node processes at a time; results in input order. */
export async function runMany(
  calls: { args: string[]; env: Record<string, string>; stdin?: string }[],
  parallel = 6,
): Promise<CliResult[]> {
  const out: CliResult[] = new Array<CliResult>(calls.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, calls.length) }, async () => {
      while (next < calls.length) {
        const i = next++;
        const c = calls[i];
        if (c) out[i] = await runCli(c.args, c.env, c.stdin);
      }
    }),
  );
  return out;
}

/** A digest of every row of the jobs, queues and workers tables: equal digests mean nothing was written. */
export async function fingerprint(exec: Executor): Promise<string> {
  const t = exec.t;
  const r = await sql<{
    jobs: string | null;
    queues: string | null;
    workers: string | null;
    n: number;
  }>`SELECT
      (SELECT md5(string_agg(j::text, '|' ORDER BY id)) FROM ${t.jobs} j) AS jobs,
      (SELECT md5(string_agg(q::text, '|' ORDER BY name)) FROM ${t.queues} q) AS queues,
      (SELECT md5(string_agg(w::text, '|' ORDER BY id)) FROM ${t.workers} w) AS workers,
      (SELECT count(*) FROM ${t.jobs}) AS n`.execute(exec.raw);
  const row = r.rows[0];
  return `${row?.n ?? '?'} jobs ${row?.jobs ?? '-'} ${row?.queues ?? '-'} ${row?.workers ?? '-'}`;
}

/** Number of rows in the jobs table. */
export async function jobCount(exec: Executor): Promise<number> {
  const r = await sql<{ n: number }>`SELECT count(*) AS n FROM ${exec.t.jobs}`.execute(exec.raw);
  return r.rows[0]?.n ?? -1;
}

/** A postgres:// URL to a local port nothing listens on. */
export async function closedPortUrl(): Promise<string> {
  return `postgres://postgres@127.0.0.1:${await freePort()}/postgres`;
}

const BACKOFF = { baseMs: 1000, maxMs: 60_000 };

/** Claims the job (which must be the only ready one in its queue) as `worker`; returns the attempt. */
export async function claimOne(exec: Executor, job: Job, worker = 'test-worker', leaseMs = 60_000) {
  const [c] = await claim(exec, {
    queue: job.queue,
    workerId: worker,
    limit: 1,
    leaseMs,
    starvationMs: 3_600_000,
  });
  if (c?.id !== job.id) throw new Error(`expected to claim ${job.id}, got ${c?.id ?? 'nothing'}`);
  return c;
}

/** Enqueues a job and fails it permanently with `message`: it ends DEAD. */
export async function deadJob(exec: Executor, spec: EnqueueSpec, message = 'boom'): Promise<Job> {
  // Top priority, so it is the one claimed even when its queue holds other ready jobs.
  const { job } = await enqueue(exec, {
    queue: `dq-${Math.random().toString(36).slice(2, 8)}`,
    priority: 1000,
    ...spec,
  });
  const c = await claimOne(exec, job);
  await fail(exec, {
    id: job.id,
    attempt: c.attempt,
    workerId: 'test-worker',
    error: new Error(message),
    permanent: true,
    backoff: BACKOFF,
  });
  return job;
}

/** Enqueues a job, claims it and fails one attempt (it ends RETRY, or DEAD when out of attempts). */
export async function failOnce(
  exec: Executor,
  job: Job,
  message: string,
  worker = 'test-worker',
  backoff = BACKOFF,
): Promise<void> {
  const c = await claimOne(exec, job, worker);
  await fail(exec, {
    id: job.id,
    attempt: c.attempt,
    workerId: worker,
    error: new Error(message),
    permanent: false,
    backoff,
  });
}
