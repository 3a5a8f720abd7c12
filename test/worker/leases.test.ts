// Leases in-process: a lost lease found by the heartbeat (signal fires, outcome refused and counted),
// cancelling a running job (via the NOTIFY hint and via the heartbeat), a handler that ignores the signal,
// and stop(): finish within the grace period, or release for another worker.
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { cancelJobs, complete, enqueue, getJob } from '../../src/queue/index.js';
import type { HandlerContext } from '../../src/worker/index.js';
import { freshDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { aborted, gate, metricValue, startWorker } from './helpers.js';

const db = await freshDb();
const exec = db.exec;

const status = async (id: string) => (await getJob(exec, id)).status;

describe('lost lease (fencing)', () => {
  it('the heartbeat finds the lease gone: the signal fires, the late outcome is refused and counted', async () => {
    let reason: unknown;
    const w = await startWorker(db, {
      queues: 'l1',
      leaseMs: 600,
      handlers: {
        stall: async (_p: unknown, ctx: HandlerContext) => {
          reason = await aborted(ctx.signal);
          return 'late result';
        },
      },
    });
    const { job } = await enqueue(exec, { type: 'stall', queue: 'l1' });
    await waitFor(async () => (await status(job.id)) === 'RUNNING');
    // The worker stalled: its lease expired, and another worker reclaimed and claimed the job.
    await sql`UPDATE ${exec.t.jobs} SET locked_by = 'other-worker', attempts = attempts + 1 WHERE id = ${job.id}`.execute(
      exec.raw,
    );
    await waitFor(() => reason, { what: 'the signal to fire' });
    expect((reason as Error).name).toBe('LeaseLostError');
    await waitFor(
      async () => (await metricValue(w.metrics.leasesLost, { queue: 'l1', type: 'stall' })) === 1,
    );
    await waitFor(() => w.stats().held === 0 && w.stats().queues[0]?.running === 0);
    const now = await getJob(exec, job.id);
    expect(now).toMatchObject({ status: 'RUNNING', lockedBy: 'other-worker', result: null });
    // the rightful owner can still complete it
    expect(await complete(exec, 'other-worker', { id: job.id, attempt: 2 }, 'ok')).toBe(true);
  });
});

describe('cancelling a running job', () => {
  it('via the NOTIFY hint: the signal fires and the job ends CANCELLED', async () => {
    let reason: unknown;
    const w = await startWorker(db, {
      queues: 'c1',
      leaseMs: 60_000, // the heartbeat is 20 s away: only the hint can be this quick
      handlers: {
        wait: async (_p: unknown, ctx: HandlerContext) => {
          reason = await aborted(ctx.signal);
          throw reason;
        },
      },
    });
    await waitFor(() => w.stats().listening);
    const { job } = await enqueue(exec, { type: 'wait', queue: 'c1' });
    await waitFor(async () => (await status(job.id)) === 'RUNNING');
    await cancelJobs(exec, [job.id]);
    await waitFor(async () => (await status(job.id)) === 'CANCELLED', { what: 'CANCELLED' });
    expect((reason as Error).name).toBe('JobCancelledError');
    await waitFor(async () => (await metricValue(w.metrics.jobsCancelled, { queue: 'c1' })) === 1, {
      what: 'jobs_cancelled_total',
    });
    const j = await getJob(exec, job.id);
    expect(j.errors).toEqual([]);
    expect(j.finishedAt).not.toBeNull();
  });

  it('via the heartbeat when NOTIFY is not available; a handler ignoring the signal keeps its slot and its result is not recorded', async () => {
    const finish = gate<string>();
    let signalled = false;
    const w = await startWorker(db, {
      queues: 'c2',
      listen: false,
      pollIntervalMs: 100,
      leaseMs: 600,
      handlers: {
        stubborn: (_p: unknown, ctx: HandlerContext) => {
          ctx.signal.addEventListener('abort', () => (signalled = true));
          return finish.promise; // ignores the signal
        },
      },
    });
    const { job } = await enqueue(exec, { type: 'stubborn', queue: 'c2' });
    await waitFor(async () => (await status(job.id)) === 'RUNNING');
    await cancelJobs(exec, [job.id]);
    await waitFor(async () => (await status(job.id)) === 'CANCELLED', { what: 'CANCELLED via heartbeat' });
    expect(signalled).toBe(true);
    expect(w.stats().queues[0]?.running).toBe(1); // not killed: still holds its slot
    finish.open('late result');
    await waitFor(() => w.stats().queues[0]?.running === 0);
    const j = await getJob(exec, job.id);
    expect(j.status).toBe('CANCELLED');
    expect(j.result).toBeNull();
  });
});

describe('stop()', () => {
  it('waits for running jobs within the grace period', async () => {
    const w = await startWorker(db, { queues: 's1', shutdownGraceMs: 10_000 });
    const { job } = await enqueue(exec, { type: 'demo.sleep', queue: 's1', payload: { seconds: 0.3 } });
    // RUNNING in the table once the claim commits; the handler starts a moment later (a job claimed but
    // not yet started when stop() comes is given back, not run), so wait for the handler itself.
    await waitFor(() => w.stats().queues[0]?.running === 1);
    await w.stop();
    expect(await status(job.id)).toBe('COMPLETED');
  });

  it('after the grace period fires the signal and releases the job (PENDING at once, attempt not counted)', async () => {
    let reason: unknown;
    const w = await startWorker(db, {
      queues: 's2',
      shutdownGraceMs: 100,
      handlers: {
        long: async (_p: unknown, ctx: HandlerContext) => {
          reason = await aborted(ctx.signal);
          throw reason;
        },
      },
    });
    const { job } = await enqueue(exec, { type: 'long', queue: 's2' });
    await waitFor(() => w.stats().queues[0]?.running === 1); // the handler itself, as above
    await w.stop();
    expect((reason as Error).name).toBe('WorkerShutdownError');
    const j = await getJob(exec, job.id);
    expect(j).toMatchObject({ status: 'PENDING', attempts: 0, lockedBy: null, errors: [] });
    expect(j.runAfter.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
  });
});
