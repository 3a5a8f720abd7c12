// The one outcome statement and the one RETRY/DEAD decision, against a real PostgreSQL: mixed outcomes in
// one fenced batch, failure and lease reclaim deciding alike from the policy recorded at claim, the
// backoff window, releases counted past the free ones, deferrals never counted.
import { sql } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import { claim, enqueue, FREE_RELEASES, getJob, reclaimExpired, setOutcomes } from '../../src/queue/index.js';
import { freshDb, resetDb } from '../helpers/db.js';

const db = await freshDb();
const exec = db.exec;
const retry = JSON.stringify({ 't.two': { a: 2, b: 1000, m: 1000 } });
const claimOne = async (workerId: string, queue = 'o', leaseMs = 30_000) => {
  const [j] = await claim(exec, { queue, workerId, limit: 1, leaseMs, starvationMs: 3_600_000, retry });
  if (!j) throw new Error('nothing claimed');
  return j;
};
const expire = (id: string) =>
  sql`UPDATE ${exec.t.jobs} SET lease_expires_at = now() - interval '1 second' WHERE id = ${id}`.execute(
    exec.raw,
  );

beforeEach(() => resetDb(db));

describe('setOutcomes (the one outcome writer statement)', () => {
  it('writes complete, fail, cancel, release and defer in one fenced batch; a stale fence changes nothing', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await enqueue(exec, { type: 't.any', queue: 'o' })).job.id);
    const c = await claim(exec, {
      queue: 'o',
      workerId: 'w',
      limit: 6,
      leaseMs: 30_000,
      starvationMs: 3_600_000,
    });
    const at = (id: string) => c.find((j) => j.id === id)?.attempt ?? 0;
    const [a, b, d, e, f, g] = ids as [string, string, string, string, string, string];
    const written = await setOutcomes(exec, 'w', [
      { id: a, attempt: at(a), kind: 'complete', resultJson: '{"ok":1}' },
      { id: b, attempt: at(b), kind: 'fail', message: 'boom', stack: 'Error: boom\n  at x' },
      { id: d, attempt: at(d), kind: 'cancel' },
      { id: e, attempt: at(e), kind: 'release', message: 'released' },
      { id: f, attempt: at(f), kind: 'defer', delayMs: 60_000 },
      { id: g, attempt: at(g) + 1, kind: 'complete' }, // stale fence
    ]);
    expect(new Map(written.map((w) => [w.id, w.status]))).toEqual(
      new Map([
        [a, 'COMPLETED'],
        [b, 'RETRY'],
        [d, 'CANCELLED'],
        [e, 'PENDING'],
        [f, 'PENDING'],
      ]),
    );
    expect((await getJob(exec, a)).result).toEqual({ ok: 1 });
    const failed = await getJob(exec, b);
    expect(failed.errors).toHaveLength(1);
    expect(failed.errors[0]).toMatchObject({
      attempt: 1,
      message: 'boom',
      stack: 'Error: boom\n  at x',
      worker: 'w',
    });
    expect(typeof failed.errors[0]?.at).toBe('string');
    expect((await getJob(exec, e)).attempts).toBe(0);
    const deferred = await getJob(exec, f);
    expect(deferred.attempts).toBe(0);
    expect(deferred.runAfter.getTime()).toBeGreaterThan(Date.now() + 50_000);
    expect((await getJob(exec, g)).status).toBe('RUNNING');
  });

  it(`releases are free ${FREE_RELEASES} times, then each counts as a failed attempt (no poison loop)`, async () => {
    const { job } = await enqueue(exec, { type: 't.any', queue: 'o', maxAttempts: 1 });
    for (let i = 1; i <= FREE_RELEASES; i++) {
      const j = await claimOne('w');
      const [w] = await setOutcomes(exec, 'w', [
        { id: j.id, attempt: j.attempt, kind: 'release', message: 'bye' },
      ]);
      expect(w?.status).toBe('PENDING');
      expect(await getJob(exec, job.id)).toMatchObject({ attempts: 0, errors: [] });
    }
    const j = await claimOne('w');
    const [w] = await setOutcomes(exec, 'w', [
      { id: j.id, attempt: j.attempt, kind: 'release', message: 'bye' },
    ]);
    expect(w?.status).toBe('DEAD');
    const dead = await getJob(exec, job.id);
    expect(dead.attempts).toBe(1);
    expect(dead.lastError).toMatch(/^bye \(released 3 times without finishing/);
  });
});

describe('the RETRY/DEAD decision, shared by failure and lease reclaim', () => {
  it("honours the type's maxAttempts recorded at claim, whether attempts end by failure or by lease expiry", async () => {
    const { job } = await enqueue(exec, { type: 't.two', queue: 'o' }); // the job's own max: 5
    const first = await claimOne('w1');
    expect(first.maxAttempts).toBe(2);
    await expire(job.id);
    expect((await reclaimExpired(exec)).map((r) => r.status)).toEqual(['RETRY']);
    await sql`UPDATE ${exec.t.jobs} SET run_after = now() WHERE id = ${job.id}`.execute(exec.raw);
    await claimOne('w2');
    await expire(job.id);
    expect((await reclaimExpired(exec)).map((r) => r.status)).toEqual(['DEAD']);
    const dead = await getJob(exec, job.id);
    expect(dead).toMatchObject({ status: 'DEAD', attempts: 2, maxAttempts: 2 });
    expect(dead.errors).toHaveLength(2);
  });

  it('a reclaim waits the recorded backoff before the retry (full jitter within the cap)', async () => {
    const { job } = await enqueue(exec, { type: 't.two', queue: 'o' });
    await claimOne('w1');
    await expire(job.id);
    const before = Date.now();
    await reclaimExpired(exec);
    const j = await getJob(exec, job.id);
    expect(j.status).toBe('RETRY');
    expect(j.runAfter.getTime()).toBeLessThanOrEqual(before + 1000 + 50);
  });

  it('a failure with attempts left goes RETRY; on the last attempt, or permanent, DEAD', async () => {
    const { job } = await enqueue(exec, { type: 't.two', queue: 'o' });
    let j = await claimOne('w');
    let [w] = await setOutcomes(exec, 'w', [{ id: j.id, attempt: j.attempt, kind: 'fail', message: 'x' }]);
    expect(w?.status).toBe('RETRY');
    await sql`UPDATE ${exec.t.jobs} SET run_after = now() WHERE id = ${job.id}`.execute(exec.raw);
    j = await claimOne('w');
    [w] = await setOutcomes(exec, 'w', [{ id: j.id, attempt: j.attempt, kind: 'fail', message: 'x' }]);
    expect(w?.status).toBe('DEAD');
    const { job: p } = await enqueue(exec, { type: 't.any', queue: 'o' });
    j = await claimOne('w');
    expect(j.id).toBe(p.id);
    [w] = await setOutcomes(exec, 'w', [
      { id: j.id, attempt: j.attempt, kind: 'fail', message: 'no', permanent: true },
    ]);
    expect(w?.status).toBe('DEAD');
    expect((await getJob(exec, p.id)).errors[0]?.permanent).toBe(true);
  });
});
