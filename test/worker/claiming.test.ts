// How a worker finds work: LISTEN wake-ups, the poll fallback without LISTEN, per-queue slot pools,
// paused queues, starvation protection, reclaiming a dead worker's expired leases, and the registry.
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/client.js';
import { connect } from '../../src/db/connect.js';
import { claim, enqueue, enqueueMany, getJob, pauseQueue, resumeQueue } from '../../src/queue/index.js';
import type { HandlerContext } from '../../src/worker/index.js';
import { freshDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { aborted, gate, metricValue, startWorker, statusCounts } from './helpers.js';

const db = await freshDb();
const exec = db.exec;

const completed = (id: string) =>
  waitFor(
    async () => {
      const j = await getJob(exec, id);
      return j.status === 'COMPLETED' ? j : undefined;
    },
    { what: `job ${id} to complete` },
  );

describe('wake-up', () => {
  it('LISTEN/NOTIFY starts a job at once even when the poll is an hour away', async () => {
    const w = await startWorker(db, { queues: 'n1', pollIntervalMs: 3_600_000 });
    // Once LISTEN is up and the claims made at start are done, only a NOTIFY can wake the queue.
    await waitFor(() => w.stats().listening && w.stats().queues[0]?.claimsInFlight === 0, {
      what: 'LISTEN connection and idle queue',
    });
    const client = createClient({ database: db });
    const t0 = Date.now();
    const { id } = await client.enqueue({ type: 'demo.echo', queue: 'n1', payload: 'hi' });
    await completed(id);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('without LISTEN (e.g. through PgBouncer) the jittered poll still finds work', async () => {
    const w = await startWorker(db, { queues: 'n2', listen: false, pollIntervalMs: 100 });
    expect(w.stats().listening).toBe(false);
    const { job } = await enqueue(exec, { type: 'demo.echo', queue: 'n2' });
    await completed(job.id);
    expect(w.stats().listening).toBe(false);
  });

  it('a job delayed into the future runs when it becomes ready (poll), not before', async () => {
    await startWorker(db, { queues: 'n3', pollIntervalMs: 100 });
    const { job } = await enqueue(exec, { type: 'demo.echo', queue: 'n3', delayMs: 700 });
    const done = await completed(job.id);
    expect(done.startedAt?.getTime()).toBeGreaterThanOrEqual(done.runAfter.getTime());
  });
});

describe('queues', () => {
  it('per-queue pools: a flood of slow jobs in one queue does not delay a job in another', async () => {
    const release = gate();
    const w = await startWorker(db, {
      queues: { flood: 2, other: 1 },
      handlers: { slow: () => release.promise, fast: () => 'done' },
    });
    await enqueueMany(
      exec,
      Array.from({ length: 30 }, () => ({ type: 'slow', queue: 'flood' })),
    );
    await waitFor(() => w.stats().queues.find((q) => q.name === 'flood')?.running === 2);
    const { job } = await enqueue(exec, { type: 'fast', queue: 'other' });
    await completed(job.id);
    // the flood is still there: 2 running, 28 waiting
    expect(await statusCounts(db, 'flood')).toEqual({ RUNNING: 2, PENDING: 28 });
    release.open();
    await waitFor(async () => (await statusCounts(db, 'flood')).COMPLETED === 30);
  });

  it('a paused queue is not claimed from until resumed', async () => {
    await pauseQueue(exec, 'paused');
    const w = await startWorker(db, { queues: 'paused', pollIntervalMs: 50 });
    const { job } = await enqueue(exec, { type: 'demo.echo', queue: 'paused' });
    const claims = (): number => w.stats().queues[0]?.claims ?? 0;
    const before = claims();
    // the worker keeps trying (NOTIFY + poll) and gets nothing
    await waitFor(() => claims() >= before + 5, { what: 'several claim attempts' });
    expect((await getJob(exec, job.id)).status).toBe('PENDING');
    await resumeQueue(exec, 'paused');
    await completed(job.id);
  });

  it('starvation: a low-priority job runs within the bound under an endless stream of higher-priority work', async () => {
    let stop = false;
    let pendingHighAtLowStart = -1;
    let lowStartedAt = 0;
    await startWorker(db, {
      queues: { starve: 1 },
      starvationMs: 1000,
      handlers: {
        high: async () => {
          // each high-priority job enqueues the next: the queue never runs out of higher work
          if (!stop) await enqueue(exec, { type: 'high', queue: 'starve', priority: 10 });
          await new Promise((r) => setTimeout(r, 5));
        },
        low: async () => {
          lowStartedAt = Date.now();
          const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${exec.t.jobs}
            WHERE queue = 'starve' AND type = 'high' AND status = 'PENDING'`.execute(exec.raw);
          pendingHighAtLowStart = r.rows[0]?.n ?? 0;
        },
      },
    });
    // one statement: the low-priority job and the first higher-priority ones become ready together
    const [low] = await enqueueMany(exec, [
      { type: 'low', queue: 'starve', priority: -10 },
      ...Array.from({ length: 5 }, () => ({ type: 'high', queue: 'starve', priority: 10 })),
    ]);
    if (!low) throw new Error('enqueue returned nothing');
    const t0 = Date.now();
    await completed(low.id);
    stop = true;
    expect(pendingHighAtLowStart).toBeGreaterThan(0);
    // it waited for higher-priority work first, then went ahead of it once past the bound
    expect(lowStartedAt - t0).toBeGreaterThan(500);
    expect(lowStartedAt - t0).toBeLessThan(10_000);
  });
});

describe('prepared statements', () => {
  it('when the connection loses its prepared statements (as behind PgBouncer in transaction mode), the worker falls back and keeps working', async () => {
    const one = connect({ url: db.url, schema: db.schema, max: 1 });
    try {
      const w = await startWorker(one, { queues: 'prep', pollIntervalMs: 50 });
      const first = await enqueue(exec, { type: 'demo.echo', queue: 'prep', payload: 1 });
      await completed(first.job.id);
      expect(w.claimExec).not.toBe(w.exec);
      // the server forgets them, the driver still believes they exist: the next claim fails with 26000
      await one.pool.query('DEALLOCATE ALL');
      const second = await enqueue(exec, { type: 'demo.echo', queue: 'prep', payload: 2 });
      await completed(second.job.id);
      expect(w.claimExec).toBe(w.exec);
      await w.stop();
    } finally {
      await one.close();
    }
  });
});

describe('claim-ahead', () => {
  it('jobs claimed ahead behind a slow job go back to the queue within the wait limit; another worker runs them', async () => {
    const release = gate();
    const a = await startWorker(db, {
      queues: { ahead: 1 },
      leaseMs: 2000, // wait limit: a quarter lease, 500 ms
      handlers: { fast: () => null, block: () => release.promise },
    });
    // Many quick jobs teach the pool that handlers are fast, so it claims far ahead of its one slot;
    // the blocking jobs behind them then wait in vain for that slot.
    await enqueueMany(exec, [
      ...Array.from({ length: 300 }, () => ({ type: 'fast', queue: 'ahead', priority: 1 })),
      ...Array.from({ length: 20 }, () => ({ type: 'block', queue: 'ahead' })),
    ]);
    await waitFor(async () => (await statusCounts(db, 'ahead')).COMPLETED === 300, { what: 'the fast jobs' });
    // one block job holds the slot; the others were given back (PENDING, attempt not counted)
    await waitFor(
      async () => {
        const c = await statusCounts(db, 'ahead');
        return c.RUNNING === 1 && c.PENDING === 19;
      },
      { what: 'the blocked claimed-ahead jobs to be given back' },
    );
    const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${exec.t.jobs}
      WHERE queue = 'ahead' AND status = 'PENDING' AND attempts = 0`.execute(exec.raw);
    expect(r.rows[0]?.n).toBe(19);
    const b = await startWorker(db, { queues: { ahead: 19 }, handlers: { block: () => 'b' } });
    await waitFor(async () => (await statusCounts(db, 'ahead')).COMPLETED === 319, { what: 'worker b' });
    const byB = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${exec.t.jobs}
      WHERE queue = 'ahead' AND locked_by = ${b.id}`.execute(exec.raw);
    expect(byB.rows[0]?.n).toBe(19);
    expect(a.stats().queues[0]?.running).toBe(1);
    release.open();
  });
});

describe('crash recovery and registry', () => {
  it('a live worker reclaims the expired lease of a dead worker and runs the job', async () => {
    const { job } = await enqueue(exec, { type: 'demo.echo', queue: 'r1', payload: 1 });
    const [c] = await claim(exec, {
      queue: 'r1',
      workerId: 'ghost',
      limit: 1,
      leaseMs: 1,
      starvationMs: 60_000,
    });
    expect(c?.id).toBe(job.id);
    const w = await startWorker(db, { queues: 'r1', leaseMs: 600 });
    const done = await completed(job.id);
    expect(done.attempts).toBe(2);
    expect(done.lockedBy).toBe(w.id);
    expect(done.errors[0]?.message).toMatch(/lease expired: worker ghost/);
    expect(await metricValue(w.metrics.jobsReclaimed, { queue: 'r1', status: 'RETRY' })).toBe(1);
  });

  it('registers itself, heartbeats its load, and unregisters on stop', async () => {
    const release = gate();
    const w = await startWorker(db, {
      queues: 'reg:3',
      leaseMs: 600,
      handlers: {
        hold: (_p: unknown, ctx: HandlerContext) => Promise.race([release.promise, aborted(ctx.signal)]),
      },
    });
    const row = async () =>
      (
        await sql<Record<string, unknown>>`SELECT * FROM ${exec.t.workers} WHERE id = ${w.id}`.execute(
          exec.raw,
        )
      ).rows[0];
    expect(await row()).toMatchObject({
      id: w.id,
      pid: process.pid,
      queues: { reg: 3 },
      running: 0,
      version: expect.any(String) as unknown,
    });
    expect((await row())?.types).toContain('demo.sleep');
    expect(w.id).toMatch(new RegExp(`-${process.pid}-[0-9a-f]{6}$`));
    const { job } = await enqueue(exec, { type: 'hold', queue: 'reg' });
    await waitFor(async () => (await row())?.running === 1, { what: 'heartbeat with running = 1' });
    release.open();
    await completed(job.id);
    await w.stop();
    expect(await row()).toBeUndefined();
  });
});
