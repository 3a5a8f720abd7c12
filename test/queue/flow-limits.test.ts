// Flow control in the queue library against a real PostgreSQL: a queue's concurrency limit under racing
// claims, its rate limit, per-key limits, fair shares between keys, and limits as configuration.
import { sql } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/db/connect.js';
import { ValidationError } from '../../src/errors.js';
import {
  claim,
  claimFlow,
  clearQueueLimits,
  completeMany,
  enqueueMany,
  listQueueLimits,
  setQueueLimits,
} from '../../src/queue/index.js';
import { freshDb, resetDb } from '../helpers/db.js';

const db = await freshDb();
const exec = db.exec;
const opts = (workerId: string, limit = 10, queue = 'q') => ({
  queue,
  workerId,
  limit,
  leaseMs: 30_000,
  starvationMs: 3_600_000,
});
const running = async (queue = 'q') =>
  (
    await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${exec.t.jobs}
      WHERE queue = ${queue} AND status = 'RUNNING'`.execute(exec.raw)
  ).rows[0]?.n ?? 0;

beforeEach(() => resetDb(db));

describe('queue concurrency limit', () => {
  it('claims stop at the limit, say why, and a completion makes room', async () => {
    await setQueueLimits(exec, 'q', { concurrency: 3 });
    await enqueueMany(
      exec,
      Array.from({ length: 10 }, () => ({ type: 't', queue: 'q' })),
    );
    const first = await claimFlow(exec, opts('w1'));
    expect(first.jobs).toHaveLength(3);
    expect(first.limited).toBe(true);
    expect(first.throttled).toBe('concurrency');
    expect((await claimFlow(exec, { ...opts('w2'), limited: true })).jobs).toHaveLength(0);
    const j = first.jobs[0];
    if (!j) throw new Error('no job');
    await completeMany(exec, 'w1', [{ id: j.id, attempt: j.attempt }]);
    expect(await claim(exec, opts('w2'))).toHaveLength(1);
  });

  it('16 connections racing to claim never hold more than the limit (the flow lock and fresh counts)', async () => {
    await setQueueLimits(exec, 'q', { concurrency: 5 });
    await enqueueMany(
      exec,
      Array.from({ length: 400 }, () => ({ type: 't', queue: 'q' })),
    );
    const conns = Array.from({ length: 16 }, () => connect({ url: db.url, schema: db.schema, max: 1 }));
    try {
      let peak = 0;
      let done = 0;
      await Promise.all(
        conns.map(async (c, w) => {
          while (done < 400) {
            const jobs = await claim(c.exec, { ...opts(`w${w}`, 3) });
            peak = Math.max(peak, await running());
            if (jobs.length > 0) {
              await completeMany(
                c.exec,
                `w${w}`,
                jobs.map((j) => ({ id: j.id, attempt: j.attempt })),
              );
              done += jobs.length;
            }
          }
        }),
      );
      expect(peak).toBeLessThanOrEqual(5);
      expect(peak).toBeGreaterThan(0);
    } finally {
      await Promise.all(conns.map((c) => c.close()));
    }
  });

  it('a worker that still thinks the queue has no limit cannot bypass it', async () => {
    await enqueueMany(
      exec,
      Array.from({ length: 10 }, () => ({ type: 't', queue: 'q' })),
    );
    await setQueueLimits(exec, 'q', { concurrency: 2 });
    const r = await claimFlow(exec, { ...opts('w1'), limited: false });
    expect(r.jobs).toHaveLength(2);
    expect(await running()).toBe(2);
  });
});

describe('queue rate limit', () => {
  it('a claim takes at most the burst, then one start per token, and says when the next is due', async () => {
    await setQueueLimits(exec, 'q', { rate: '5/s', burst: 4 });
    await enqueueMany(
      exec,
      Array.from({ length: 20 }, () => ({ type: 't', queue: 'q' })),
    );
    const a = await claimFlow(exec, opts('w1'));
    expect(a.jobs).toHaveLength(4);
    expect(a.throttled).toBe('rate');
    expect(a.retryMs).toBeGreaterThan(0);
    expect(a.retryMs).toBeLessThanOrEqual(200);
    expect((await claimFlow(exec, { ...opts('w1'), limited: true })).jobs.length).toBeLessThanOrEqual(1);
  });
});

describe('keys: per-key limit and fair shares', () => {
  it('a key at its per-key limit does not block other keys', async () => {
    await setQueueLimits(exec, 'q', { perKeyConcurrency: 2 });
    await enqueueMany(
      exec,
      Array.from({ length: 20 }, () => ({ type: 't', queue: 'q', key: 'a' })),
    );
    await enqueueMany(
      exec,
      Array.from({ length: 3 }, () => ({ type: 't', queue: 'q', key: 'b' })),
    );
    const got = await claim(exec, opts('w1', 50));
    const per = (k: string) => got.filter((j) => j.key === k).length;
    expect(per('a')).toBe(2);
    expect(per('b')).toBe(2);
  });

  it('round-robin: a key enqueued behind a deep backlog of another is claimed in turns with it', async () => {
    await enqueueMany(
      exec,
      Array.from({ length: 2000 }, () => ({ type: 't', queue: 'q', key: 'a' })),
    );
    await claim(exec, opts('w1', 100)); // a has been served for a while
    await enqueueMany(
      exec,
      Array.from({ length: 10 }, () => ({ type: 't', queue: 'q', key: 'b' })),
    );
    const next = await claim(exec, opts('w1', 20));
    expect(next.filter((j) => j.key === 'b')).toHaveLength(10);
    // and first-in-first-out is kept for jobs without a key
    await enqueueMany(exec, [{ type: 'plain', queue: 'q' }]);
    expect((await claim(exec, opts('w1', 1)))[0]?.type).toBe('plain');
  });

  it('a backlog older than the starvation bound keeps fair shares: age lifts jobs over higher priorities only', async () => {
    const old = new Date(Date.now() - 120_000); // past the bound of 60 s below
    await enqueueMany(
      exec,
      Array.from({ length: 500 }, () => ({ type: 't', queue: 'q', key: 'a', runAt: old })),
    );
    await enqueueMany(
      exec,
      Array.from({ length: 5 }, () => ({ type: 't', queue: 'q', key: 'b' })),
    );
    const starving = { starvationMs: 60_000 };
    const next = await claim(exec, { ...opts('w1', 10), ...starving });
    expect(next.filter((j) => j.key === 'b')).toHaveLength(5); // one priority: nothing to lift over
    // a lower-priority job past the bound still goes ahead of all of them, oldest first
    const low = await enqueueMany(exec, [
      { type: 'low', queue: 'q', priority: -5, runAt: new Date(Date.now() - 180_000) },
    ]);
    await enqueueMany(
      exec,
      Array.from({ length: 5 }, () => ({ type: 't', queue: 'q', key: 'c' })),
    );
    const after = await claim(exec, { ...opts('w1', 3), ...starving });
    expect(after[0]?.id).toBe(low[0]?.id);
    // once it is gone, fair shares again: c's fresh jobs are not queued behind a's old backlog
    const cLeft = 5 - after.filter((j) => j.key === 'c').length;
    const then = await claim(exec, { ...opts('w1', 10), ...starving });
    expect(then.filter((j) => j.key === 'c')).toHaveLength(cLeft);
  });
});

describe('limits as configuration', () => {
  it('set, list with use, change, clear; invalid values name the field', async () => {
    const l = await setQueueLimits(exec, 'email', { concurrency: 5, rate: '10/s', burst: 20 });
    expect(l).toMatchObject({
      queue: 'email',
      concurrency: 5,
      rate: '10/s',
      burst: 20,
      running: 0,
      tokens: 20,
    });
    await setQueueLimits(exec, 'email', { perKeyConcurrency: 2 });
    expect((await listQueueLimits(exec))[0]).toMatchObject({ concurrency: 5, perKeyConcurrency: 2 });
    await clearQueueLimits(exec, 'email');
    expect(await listQueueLimits(exec)).toEqual([]);
    await expect(setQueueLimits(exec, 'email', { concurrency: 0 })).rejects.toMatchObject({
      field: 'concurrency',
    });
    await expect(setQueueLimits(exec, 'email', { rate: 'fast' })).rejects.toBeInstanceOf(ValidationError);
    await expect(setQueueLimits(exec, 'email', { rate: 'fast' })).rejects.toMatchObject({ field: 'rate' });
    await expect(setQueueLimits(exec, 'email', { burst: 3 })).rejects.toMatchObject({ field: 'burst' });
    await expect(setQueueLimits(exec, 'email', { perKeyConcurrency: 1.5 })).rejects.toMatchObject({
      field: 'perKeyConcurrency',
    });
    await expect(listQueueLimits(exec, 'bad\u0000name')).rejects.toMatchObject({ field: 'queue' });
  });
});

describe('stale limits guess', () => {
  it('a claim that still thinks the queue is limited after the limits were removed keeps the jobs it took', async () => {
    await enqueueMany(
      exec,
      Array.from({ length: 5 }, () => ({ type: 't', queue: 'q' })),
    );
    const r = await claimFlow(exec, { ...opts('w1'), limited: true });
    expect(r.limited).toBe(false);
    expect(r.jobs).toHaveLength(5);
    expect(await running()).toBe(5);
  });
});
