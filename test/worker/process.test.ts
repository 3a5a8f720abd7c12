// `jobq worker` as a real process: graceful shutdown (SIGTERM finishes within the grace period and exits
// 0, or releases the job so another worker takes it at once), bad command-line input, and the embedded
// worker example (examples/embedded-worker.js). Needs `npm run build`.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { enqueue, getJob } from '../../src/queue/index.js';
import { runCli } from '../helpers/cli.js';
import { freshDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { spawnWorker, workerIdOf } from './helpers.js';

const db = await freshDb();
const exec = db.exec;
const EXAMPLE = fileURLToPath(new URL('../../examples/embedded-worker.js', import.meta.url));

const runningUnder = (id: string) =>
  waitFor(
    async () => {
      const j = await getJob(exec, id);
      return j.status === 'RUNNING' ? j : undefined;
    },
    { what: `job ${id} to run`, timeoutMs: 60_000 },
  );

describe('graceful shutdown (SIGTERM)', () => {
  it.concurrent(
    'during a 5 s job with a 10 s grace: the job completes and the worker exits 0',
    { timeout: 180_000 },
    async () => {
      const w = spawnWorker({ ...db.env, QUEUE: 'grace10', JOBQ_SHUTDOWN_GRACE_SECONDS: '10' });
      const { job } = await enqueue(exec, { type: 'demo.sleep', queue: 'grace10', payload: { seconds: 5 } });
      await runningUnder(job.id);
      w.child.kill('SIGTERM');
      expect(await w.exited).toBe(0);
      const done = await getJob(exec, job.id);
      expect(done.status).toBe('COMPLETED');
      expect(done.result).toEqual({ slept: 5 });
      expect(w.output()).toMatch(/waiting up to 10000ms for 1 running job/);
      expect(await workerIdOf(db, w.pid)).toBeUndefined(); // unregistered
    },
  );

  it.concurrent(
    'with a 1 s grace: the lease is released and another worker completes the job at once',
    { timeout: 180_000 },
    async () => {
      const a = spawnWorker({ ...db.env, QUEUE: 'grace1', JOBQ_SHUTDOWN_GRACE_SECONDS: '1' });
      // Long enough to outlast starting worker b on a loaded machine (5 s did not, once: the job finished
      // within a's grace and nothing was released).
      const { job } = await enqueue(exec, { type: 'demo.sleep', queue: 'grace1', payload: { seconds: 15 } });
      const first = await runningUnder(job.id);
      const b = spawnWorker({ ...db.env, QUEUE: 'grace1' });
      const bId = await waitFor(() => workerIdOf(db, b.pid), { what: 'worker b', timeoutMs: 60_000 });
      a.child.kill('SIGTERM');
      const termAt = Date.now();
      expect(await a.exited).toBe(0);
      expect(a.output()).toMatch(/released 1 unfinished job/);
      const taken = await waitFor(
        async () => {
          const j = await getJob(exec, job.id);
          return j.status === 'RUNNING' && j.lockedBy === bId ? j : undefined;
        },
        { what: 'worker b to take the released job', timeoutMs: 20_000, intervalMs: 20 },
      );
      // at once: long before the 30 s lease would have expired; the released attempt is not counted
      expect(Date.now() - termAt).toBeLessThan(10_000);
      expect(taken.attempts).toBe(first.attempts);
      expect(taken.errors).toEqual([]);
      await waitFor(async () => (await getJob(exec, job.id)).status === 'COMPLETED', { timeoutMs: 60_000 });
      b.child.kill('SIGTERM');
      expect(await b.exited).toBe(0);
    },
  );
});

describe('bad input', () => {
  it(
    'a malformed --queue exits 1 naming the option and the expected form',
    { timeout: 180_000 },
    async () => {
      const r = await runCli(['worker', '--queue', 'email:ten'], db.env);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/--queue: email: expected slots as a whole number from 1 to 10000, got "ten"/);
      const r2 = await runCli(['worker', '--queue', 'Bad Name!'], db.env);
      expect(r2.code).toBe(1);
      expect(r2.stderr).toMatch(/--queue: expected a comma list of queue names/);
    },
  );

  it(
    'a handlers module that cannot be loaded exits 1 naming --handlers / JOBQ_HANDLERS',
    { timeout: 180_000 },
    async () => {
      const r = await runCli(['worker', '--handlers', './no/such/handlers.js'], db.env);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /--handlers \/ JOBQ_HANDLERS: expected a loadable ES module exporting job handlers/,
      );
    },
  );
});

describe('library', () => {
  it(
    'the embedded worker example runs: enqueues, runs the handler, records the effect once',
    { timeout: 180_000 },
    async () => {
      // the example's own table goes to this test's schema (search_path), not the shared public schema
      const url = `${db.url}${db.url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${db.schema}`)}`;
      const child = spawn(process.execPath, [EXAMPLE], {
        env: { ...process.env, DATABASE_URL: url, JOBQ_SCHEMA: db.schema },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(out).toMatch(/^job [0-9a-f-]{36} COMPLETED \{"sent":"ada@example.com"\}$/m);
      expect(code).toBe(0);
      const id = /^job ([0-9a-f-]{36})/m.exec(out)?.[1];
      const rows = await sql<{
        job_id: string;
      }>`SELECT job_id FROM ${sql.table(`${db.schema}.sent_emails`)}`.execute(exec.raw);
      expect(rows.rows.map((r) => r.job_id)).toEqual([id]);
    },
  );
});
