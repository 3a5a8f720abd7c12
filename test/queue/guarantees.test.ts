// The queue library's guarantees against a real PostgreSQL: claim race, fencing, idempotency race,
// ordering, pause, retry/cancel transitions.
import { sql } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/db/connect.js';
import {
  cancelJobs,
  claim,
  complete,
  completeMany,
  enqueue,
  enqueueMany,
  fail,
  getJob,
  heartbeat,
  listJobs,
  pauseQueue,
  reclaimExpired,
  resumeQueue,
  retryJobs,
  setOutcomes,
} from '../../src/queue/index.js';
import { ConflictError, NotFoundError, ValidationError } from '../../src/errors.js';
import { freshDb, resetDb } from '../helpers/db.js';

const db = await freshDb();
const exec = db.exec;
const backoff = { baseMs: 1000, maxMs: 60_000 };
const claimOpts = (workerId: string, limit = 10, queue = 'default') => ({
  queue,
  workerId,
  limit,
  leaseMs: 30_000,
  starvationMs: 3_600_000,
});

beforeEach(() => resetDb(db));

describe('claim race', () => {
  it('8 connections claiming concurrently from 10,000 ready jobs claim every job exactly once', async () => {
    const specs = Array.from({ length: 10_000 }, (_, i) => ({ type: 'race', payload: { i } }));
    await enqueueMany(exec, specs);
    const conns = Array.from({ length: 8 }, () => connect({ url: db.url, schema: db.schema, max: 1 }));
    try {
      const seen = new Map<string, string>();
      let dupes = 0;
      await Promise.all(
        conns.map(async (c, w) => {
          for (;;) {
            const jobs = await claim(c.exec, claimOpts(`w${w}`, 50));
            if (jobs.length === 0) return;
            for (const j of jobs) {
              if (seen.has(j.id)) dupes++;
              seen.set(j.id, `w${w}`);
            }
          }
        }),
      );
      expect(dupes).toBe(0);
      expect(seen.size).toBe(10_000);
      const running = await sql<{
        n: number;
      }>`SELECT count(*) AS n FROM ${exec.t.jobs} WHERE status = 'RUNNING'`.execute(exec.raw);
      expect(running.rows[0]?.n).toBe(10_000);
    } finally {
      await Promise.all(conns.map((c) => c.close()));
    }
  });
});

describe('fencing', () => {
  it('a completion or failure from a worker whose claim was reclaimed changes nothing and reports a lost lease', async () => {
    const { job } = await enqueue(exec, { type: 'fenced', maxAttempts: 3 });
    const [a] = await claim(exec, { ...claimOpts('worker-a'), leaseMs: 1 });
    expect(a?.id).toBe(job.id);
    await new Promise((r) => setTimeout(r, 20));
    // (a reclaim honours the backoff like a failure; 1 ms here so worker-b can claim at once)
    const reclaimed = await reclaimExpired(exec, 1000, { baseMs: 1, maxMs: 1 });
    expect(reclaimed.map((r) => r.id)).toEqual([job.id]);
    const [b] = await claim(exec, claimOpts('worker-b'));
    expect(b?.attempt).toBe(2);
    // worker-a replays its stale claim
    expect(await complete(exec, 'worker-a', { id: job.id, attempt: 1 }, 'late')).toBe(false);
    expect(
      await fail(exec, {
        id: job.id,
        attempt: 1,
        workerId: 'worker-a',
        error: new Error('late'),
        permanent: true,
        backoff,
      }),
    ).toBeNull();
    let now = await getJob(exec, job.id);
    expect(now.status).toBe('RUNNING');
    expect(now.lockedBy).toBe('worker-b');
    expect(await complete(exec, 'worker-b', { id: job.id, attempt: 2 }, { ok: 1 })).toBe(true);
    now = await getJob(exec, job.id);
    expect(now.status).toBe('COMPLETED');
    expect(now.result).toEqual({ ok: 1 });
    expect(now.errors[0]?.message).toMatch(/lease expired/);
  });

  it('the fence is the worker and the RUNNING status too, not only the attempt number', async () => {
    const { job } = await enqueue(exec, { type: 'fenced' });
    const [a] = await claim(exec, claimOpts('worker-a'));
    expect(a?.attempt).toBe(1);
    // worker-a gives the job back uncounted (a job that waited too long for a slot): attempt back to 0
    expect(await setOutcomes(exec, 'worker-a', [{ id: job.id, attempt: 1, kind: 'defer' }])).toHaveLength(1);
    const [b] = await claim(exec, claimOpts('worker-b'));
    expect(b?.attempt).toBe(1); // the same attempt number under another worker
    expect(await complete(exec, 'worker-a', { id: job.id, attempt: 1 }, 'late')).toBe(false);
    expect(await complete(exec, 'worker-b', { id: job.id, attempt: 1 }, { ok: 1 })).toBe(true);
    // a finished job is no longer RUNNING: a repeated outcome of the same worker and attempt changes nothing
    expect(
      await setOutcomes(exec, 'worker-b', [{ id: job.id, attempt: 1, kind: 'fail', message: 'x' }]),
    ).toEqual([]);
    const now = await getJob(exec, job.id);
    expect(now.status).toBe('COMPLETED');
    expect(now.result).toEqual({ ok: 1 });
    expect(now.errors).toEqual([]);
  });

  it('a heartbeat extends only leases the worker still holds on RUNNING jobs', async () => {
    await enqueueMany(exec, [{ type: 'hb' }, { type: 'hb' }]);
    const [held, done] = await claim(exec, claimOpts('worker-a'));
    if (!held || !done) throw new Error('expected two jobs');
    // finished, but still recorded as worker-a's (locked_by stays on a finished job)
    expect(await complete(exec, 'worker-a', { id: done.id, attempt: done.attempt }, null)).toBe(true);
    const beats = await heartbeat(exec, 'worker-a', [held.id, done.id], 60_000);
    expect(beats.map((b) => b.id)).toEqual([held.id]);
    expect(await heartbeat(exec, 'worker-b', [held.id], 60_000)).toEqual([]);
    expect((await getJob(exec, done.id)).leaseExpiresAt).toBeNull();
  });

  it('completeMany reports exactly which jobs were recorded', async () => {
    await enqueueMany(exec, [{ type: 'x' }, { type: 'x' }]);
    const jobs = await claim(exec, claimOpts('w'));
    const [j0, j1] = jobs;
    if (!j0 || !j1) throw new Error('expected two jobs');
    const done = await completeMany(exec, 'w', [
      { id: j0.id, attempt: j0.attempt },
      { id: j1.id, attempt: j1.attempt + 1 },
    ]);
    expect([...done]).toEqual([j0.id]);
  });
});

describe('idempotent enqueue', () => {
  it('20 concurrent enqueues with one key give one row and 20 identical ids', async () => {
    const conns = Array.from({ length: 20 }, () => connect({ url: db.url, schema: db.schema, max: 1 }));
    try {
      const results = await Promise.all(
        conns.map((c) => enqueue(c.exec, { type: 'idem', idempotencyKey: 'k-1' })),
      );
      const ids = new Set(results.map((r) => r.job.id));
      expect(ids.size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const n = await sql<{ n: number }>`SELECT count(*) AS n FROM ${exec.t.jobs}`.execute(exec.raw);
      expect(n.rows[0]?.n).toBe(1);
    } finally {
      await Promise.all(conns.map((c) => c.close()));
    }
  });

  it('a batch reports created per entry, including a key repeated inside the batch', async () => {
    await enqueue(exec, { type: 'idem', idempotencyKey: 'old' });
    const res = await enqueueMany(exec, [
      { type: 'idem', idempotencyKey: 'old' },
      { type: 'idem', idempotencyKey: 'new' },
      { type: 'idem', idempotencyKey: 'new' },
      { type: 'idem' },
    ]);
    expect(res.map((r) => r.created)).toEqual([false, true, false, true]);
    expect(res[1]?.id).toBe(res[2]?.id);
  });
});

describe('claim order', () => {
  it('takes higher priority first, then earliest run_after, then oldest; skips future and paused', async () => {
    const past = (s: number) => new Date(Date.now() - s * 1000);
    const low = await enqueue(exec, { type: 'o', priority: 0, runAt: past(30) });
    const highLate = await enqueue(exec, { type: 'o', priority: 5, runAt: past(10) });
    const highEarly = await enqueue(exec, { type: 'o', priority: 5, runAt: past(20) });
    await enqueue(exec, { type: 'o', priority: 9, delayMs: 60_000 });
    await enqueue(exec, { type: 'o', queue: 'other' });
    const order: string[] = [];
    for (;;) {
      const [next] = await claim(exec, claimOpts('w', 1));
      if (!next) break;
      order.push(next.id);
    }
    expect(order).toEqual([highEarly.job.id, highLate.job.id, low.job.id]);
  });

  it('a claimed batch comes back in claim order (workers start jobs in that order)', async () => {
    const past = (s: number) => new Date(Date.now() - s * 1000);
    const specs = [
      { type: 'b', priority: 0, runAt: past(5) },
      { type: 'b', priority: 9, runAt: past(1) },
      { type: 'b', priority: 9, runAt: past(3) },
      { type: 'b', priority: -3, runAt: past(120) }, // starving: first
      { type: 'b', priority: 4, runAt: past(2) },
    ];
    const ids = (await enqueueMany(exec, specs)).map((r) => r.id);
    for (let round = 0; round < 5; round++) {
      const claimed = await claim(exec, { ...claimOpts(`w${round}`, 10), starvationMs: 60_000 });
      expect(claimed.map((j) => j.id)).toEqual([ids[3], ids[2], ids[1], ids[4], ids[0]]);
      await sql`UPDATE ${exec.t.jobs} SET status = 'PENDING'`.execute(exec.raw);
    }
  });

  it('starvation: a job ready longer than the bound goes ahead of newer high-priority work', async () => {
    const old = await enqueue(exec, { type: 's', priority: -10, runAt: new Date(Date.now() - 120_000) });
    await enqueueMany(
      exec,
      Array.from({ length: 5 }, () => ({ type: 's', priority: 10 })),
    );
    const [first] = await claim(exec, { ...claimOpts('w', 1), starvationMs: 60_000 });
    expect(first?.id).toBe(old.job.id);
  });

  it('starving jobs fill a claim first; only the remaining slots go by priority', async () => {
    const old = await enqueueMany(
      exec,
      Array.from({ length: 5 }, () => ({ type: 's', priority: -5, runAt: new Date(Date.now() - 120_000) })),
    );
    const fresh = await enqueueMany(
      exec,
      [1, 2, 3, 4, 5].map((priority) => ({ type: 's', priority })),
    );
    const claimed = await claim(exec, { ...claimOpts('w', 7), starvationMs: 60_000 });
    const ids = new Set(claimed.map((j) => j.id));
    expect(claimed).toHaveLength(7);
    expect(old.every((o) => ids.has(o.id))).toBe(true);
    // the two highest priorities of the fresh ones (5 and 4)
    expect(fresh.filter((f) => ids.has(f.id)).map((f) => f.id)).toEqual([fresh[3]?.id, fresh[4]?.id]);
  });

  it('a paused queue is not claimed from until resumed', async () => {
    await enqueue(exec, { type: 'p', queue: 'email' });
    await pauseQueue(exec, 'email');
    expect(await claim(exec, claimOpts('w', 10, 'email'))).toHaveLength(0);
    await resumeQueue(exec, 'email');
    expect(await claim(exec, claimOpts('w', 10, 'email'))).toHaveLength(1);
  });
});

describe('failure, retry and cancel', () => {
  it('fails into RETRY with backoff, then DEAD after max attempts; retry resets attempts', async () => {
    const { job } = await enqueue(exec, { type: 'f', maxAttempts: 2 });
    const [a1] = await claim(exec, claimOpts('w'));
    expect(
      await fail(exec, {
        id: job.id,
        attempt: a1?.attempt ?? 0,
        workerId: 'w',
        error: new Error('boom 1'),
        permanent: false,
        backoff: { baseMs: 1, maxMs: 1 },
      }),
    ).toBe('RETRY');
    await new Promise((r) => setTimeout(r, 10));
    const [a2] = await claim(exec, claimOpts('w'));
    expect(a2?.attempt).toBe(2);
    expect(
      await fail(exec, {
        id: job.id,
        attempt: 2,
        workerId: 'w',
        error: new Error('boom 2'),
        permanent: false,
        backoff,
      }),
    ).toBe('DEAD');
    const dead = await getJob(exec, job.id);
    expect(dead.status).toBe('DEAD');
    expect(dead.errors.map((e) => e.message)).toEqual(['boom 1', 'boom 2']);
    expect(dead.finishedAt).not.toBeNull();
    const [r] = await retryJobs(exec, [job.id]);
    expect(r).toEqual({ id: job.id, from: 'DEAD', to: 'PENDING' });
    const again = await getJob(exec, job.id);
    expect(again.attempts).toBe(0);
    expect(again.errors).toHaveLength(2);
  });

  it('a permanent error goes straight to DEAD', async () => {
    const { job } = await enqueue(exec, { type: 'f', maxAttempts: 5 });
    await claim(exec, claimOpts('w'));
    expect(
      await fail(exec, {
        id: job.id,
        attempt: 1,
        workerId: 'w',
        error: new Error('bad input'),
        permanent: true,
        backoff,
      }),
    ).toBe('DEAD');
  });

  it('cancel: PENDING → CANCELLED; RUNNING → cancel requested; COMPLETED refused; all-or-nothing', async () => {
    const a = await enqueue(exec, { type: 'c' });
    const b = await enqueue(exec, { type: 'c' });
    await cancelJobs(exec, [a.job.id]);
    expect((await getJob(exec, a.job.id)).status).toBe('CANCELLED');
    const [running] = await claim(exec, claimOpts('w'));
    expect(running?.id).toBe(b.job.id);
    const [res] = await cancelJobs(exec, [b.job.id]);
    expect(res?.to).toBe('RUNNING');
    expect((await getJob(exec, b.job.id)).cancelRequestedAt).not.toBeNull();
    const c = await enqueue(exec, { type: 'c' });
    await expect(cancelJobs(exec, [c.job.id, a.job.id])).rejects.toBeInstanceOf(ConflictError);
    expect((await getJob(exec, c.job.id)).status).toBe('PENDING');
    await expect(retryJobs(exec, ['0190a0a0-0000-7000-8000-000000000000'])).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(retryJobs(exec, ['nope'])).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('listing', () => {
  it('pages newest first with a keyset cursor and filters', async () => {
    await enqueueMany(
      exec,
      Array.from({ length: 25 }, (_, i) => ({ type: i % 2 ? 'odd' : 'even' })),
    );
    const p1 = await listJobs(exec, { limit: 10 });
    const p2 = await listJobs(exec, { limit: 10, cursor: p1.nextCursor ?? undefined });
    const p3 = await listJobs(exec, { limit: 10, cursor: p2.nextCursor ?? undefined });
    const ids = [...p1.items, ...p2.items, ...p3.items].map((j) => j.id);
    expect(new Set(ids).size).toBe(25);
    expect(p3.nextCursor).toBeNull();
    expect(ids).toEqual([...ids].sort().reverse());
    const odd = await listJobs(exec, { type: 'odd', limit: 100 });
    expect(odd.items).toHaveLength(12);
  });
});
