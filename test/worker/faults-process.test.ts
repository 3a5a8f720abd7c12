// Misbehaving handlers with real `jobq worker` processes: a type configured for 2 attempts whose worker is
// killed (-9) twice ends DEAD after 2 attempts (the reclaim honours the type's maxAttempts); a handler
// that never resolves ends by itself with the default timeout, and with the timeout off three graceful
// restarts in a row send it DEAD with the release error (JOBQ_FREE_RELEASES=0: the first). Needs `npm run build`.
import { describe, expect, it } from 'vitest';
import { explainJob } from '../../src/queue/explain.js';
import { enqueue, getJob, reclaimExpired } from '../../src/queue/index.js';
import { runCli } from '../helpers/cli.js';
import { freshDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { spawnWorker, workerIdOf, type WorkerProcess } from './helpers.js';

const db = await freshDb();
const exec = db.exec;
const env = {
  ...db.env,
  JOBQ_LEASE_SECONDS: '2',
  JOBQ_POLL_INTERVAL_MS: '100',
  JOBQ_BACKOFF_BASE_MS: '10',
  JOBQ_BACKOFF_MAX_MS: '20',
  JOBQ_SHUTDOWN_GRACE_SECONDS: '0',
  JOBQ_LOG_LEVEL: 'info',
};

async function running(id: string, attempt: number): Promise<void> {
  await waitFor(
    async () => {
      const j = await getJob(exec, id);
      return j.status === 'RUNNING' && j.attempts === attempt;
    },
    { what: `job ${id} running attempt ${attempt}`, timeoutMs: 30_000 },
  );
}

/**
 * The hanging handler of job `id` has started in `w`. The claim commits before the handler starts, and a
 * job claimed but not yet started when a stop comes is handed back uncounted (rightly): a test of what a
 * release of a *running* handler counts must wait for the handler itself.
 */
async function handlerStarted(w: WorkerProcess, id: string): Promise<void> {
  await waitFor(() => w.output().includes(`hang started ${id}`), {
    what: `the handler of job ${id} to start`,
    timeoutMs: 30_000,
  });
}

async function registered(p: WorkerProcess): Promise<void> {
  await waitFor(() => workerIdOf(db, p.pid), { what: `worker ${p.pid} to register`, timeoutMs: 60_000 });
}

describe('misbehaving handlers, real worker processes', () => {
  it('a type configured for 2 attempts whose worker is killed (-9) twice ends DEAD after 2 attempts', async () => {
    const { job } = await enqueue(exec, { type: 'test.hang2', queue: 'k9' });
    expect((await getJob(exec, job.id)).maxAttempts).toBe(5); // the job's own default
    for (const attempt of [1, 2]) {
      const w = spawnWorker({ ...env, QUEUE: 'k9' });
      await registered(w);
      await running(job.id, attempt);
      w.child.kill('SIGKILL');
      await w.exited;
      // the lease expires; any process may reclaim it (here the test itself)
      await waitFor(async () => (await reclaimExpired(exec)).length > 0, {
        what: 'the expired lease to be reclaimed',
        timeoutMs: 15_000,
      });
    }
    const j = await getJob(exec, job.id);
    expect(j.status).toBe('DEAD');
    expect(j.attempts).toBe(2);
    expect(j.maxAttempts).toBe(2); // recorded at claim from the type's options
    expect(j.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^lease expired/),
      expect.stringMatching(/^lease expired/),
    ]);
  });

  it('a handler that never resolves fails by itself with the default timeout (JOBQ_JOB_TIMEOUT_MS)', async () => {
    const w = spawnWorker({ ...env, QUEUE: 'to', JOBQ_JOB_TIMEOUT_MS: '500' });
    await registered(w);
    const { job } = await enqueue(exec, { type: 'test.hang1', queue: 'to' });
    const j = await waitFor(
      async () => {
        const x = await getJob(exec, job.id);
        return x.status === 'DEAD' ? x : undefined;
      },
      { what: 'the hanging job to time out', timeoutMs: 20_000 },
    );
    expect(j.lastError).toBe('handler timed out after 500ms');
    expect(j.attempts).toBe(1);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });

  it('with the timeout off, three graceful restarts in a row send a never-resolving job DEAD with the release error', async () => {
    const { job } = await enqueue(exec, { type: 'test.hang1', queue: 'rel' });
    for (let restart = 1; restart <= 3; restart++) {
      const w = spawnWorker({ ...env, QUEUE: 'rel', JOBQ_JOB_TIMEOUT_MS: '0' });
      await registered(w);
      await running(job.id, 1);
      await handlerStarted(w, job.id);
      w.child.kill('SIGTERM');
      expect(await w.exited).toBe(0);
      const j = await getJob(exec, job.id);
      if (restart < 3) {
        expect(j.status).toBe('PENDING');
        expect(j.attempts).toBe(0); // a release is not an attempt, twice
      }
    }
    const j = await getJob(exec, job.id);
    expect(j.status).toBe('DEAD');
    expect(j.attempts).toBe(1);
    expect(j.lastError).toMatch(
      /^released by a graceful shutdown of its worker before it finished \(released 3 times/,
    );
    expect(j.errors).toHaveLength(1);
  });

  it('JOBQ_FREE_RELEASES=0: the first graceful release already counts as a failed attempt', async () => {
    const { job } = await enqueue(exec, { type: 'test.hang1', queue: 'rel0' });
    const w = spawnWorker({ ...env, QUEUE: 'rel0', JOBQ_JOB_TIMEOUT_MS: '0', JOBQ_FREE_RELEASES: '0' });
    await registered(w);
    await running(job.id, 1);
    await handlerStarted(w, job.id);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    const j = await getJob(exec, job.id);
    expect(j.status).toBe('DEAD'); // test.hang1 allows 1 attempt; with the default (2) it would be PENDING
    expect(j.lastError).toMatch(/\(released 1 times without finishing: from release 1 on, each counts/);
  });

  it('JOBQ_TIMEOUT_GRACE_MS and JOBQ_FREE_RELEASES refuse a bad value, naming the variable (exit 1, like every JOBQ_* variable)', async () => {
    for (const [name, value, says] of [
      [
        'JOBQ_TIMEOUT_GRACE_MS',
        'soon',
        /JOBQ_TIMEOUT_GRACE_MS: expected a whole number from 0 to 3600000, got "soon"/,
      ],
      ['JOBQ_FREE_RELEASES', '-1', /JOBQ_FREE_RELEASES: expected a whole number from 0 to 1000, got -1/],
    ] as const) {
      const r = await runCli(['worker'], { ...env, [name]: value });
      expect(r.code, name).toBe(1);
      expect(r.stderr).toMatch(says);
    }
  });

  it('a handler blocking the event loop for longer than the lease: reclaimed, the stall logged, and explain says so', async () => {
    const w = spawnWorker({ ...env, QUEUE: 'stall', JOBQ_LEASE_SECONDS: '1' });
    await registered(w);
    const { job } = await enqueue(exec, { type: 'test.block', queue: 'stall', payload: { ms: 4000 } });
    await running(job.id, 1);
    await waitFor(async () => (await reclaimExpired(exec)).length > 0, {
      what: 'the lease of the blocked worker to be reclaimed',
      timeoutMs: 15_000,
    });
    expect((await getJob(exec, job.id)).status).toBe('DEAD');
    await waitFor(() => /event loop blocked for \d+ms/.test(w.output()), { what: 'the stall log line' });
    const e = await waitFor(
      async () => {
        const x = await explainJob(exec, job.id, { onlineWithinMs: 10_000, starvationMs: 60_000 });
        return x.details.some((d) => d.label === 'worker stall') ? x : undefined;
      },
      { what: 'explain to cite the stall', timeoutMs: 15_000 },
    );
    expect(e.summary).toMatch(/reported its event loop blocked for [\d.]+s/);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });

  it('more runaway handlers than JOBQ_MAX_RUNAWAYS: the worker stops claiming and exits 1 after its grace', async () => {
    const w = spawnWorker({ ...env, QUEUE: 'runaway', JOBQ_JOB_TIMEOUT_MS: '200', JOBQ_MAX_RUNAWAYS: '0' });
    await registered(w);
    const { job } = await enqueue(exec, { type: 'test.hang', queue: 'runaway' });
    expect(await w.exited).toBe(1);
    expect(w.output()).toMatch(/runaway handler: job \S+ ignored its signal/);
    expect(w.output()).toMatch(/1 runaway handlers \(more than 0\) keep running after their timeout/);
    expect((await getJob(exec, job.id)).errors[0]?.message).toBe('handler timed out after 200ms');
  });
});
