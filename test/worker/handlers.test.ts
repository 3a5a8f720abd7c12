// Handlers in a real worker against a real PostgreSQL: ctx, results, failures (retry, permanent, per-type
// max attempts and timeout), unknown job types, and ctx.transaction's exactly-once completion.
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/client.js';
import { PermanentError, LeaseLostError } from '../../src/errors.js';
import { enqueue, getJob } from '../../src/queue/index.js';
import type { HandlerContext, JobInfo } from '../../src/worker/index.js';
import { freshDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { aborted, metricValue, startWorker } from './helpers.js';

const db = await freshDb();
const exec = db.exec;
const ledger = sql.table(`${db.schema}.ledger`);

beforeAll(async () => {
  await sql`CREATE TABLE ${ledger} (job_id uuid NOT NULL, note text)`.execute(exec.raw);
});

const finished = (id: string, ...statuses: string[]) =>
  waitFor(
    async () => {
      const j = await getJob(exec, id);
      return statuses.includes(j.status) ? j : undefined;
    },
    { what: `job ${id} to be ${statuses.join('/')}` },
  );

const ledgerCount = async (id: string): Promise<number> => {
  const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${ledger} WHERE job_id = ${id}`.execute(
    exec.raw,
  );
  return r.rows[0]?.n ?? 0;
};

describe('handlers', () => {
  it('runs a handler with its payload and ctx, records the result, and counts it', async () => {
    let seen: { payload: unknown; job: JobInfo; signal: boolean } | undefined;
    const w = await startWorker(db, {
      queues: 'h1',
      handlers: {
        'greet.person': (payload: { name: string }, ctx: HandlerContext) => {
          seen = { payload, job: ctx.job, signal: ctx.signal instanceof AbortSignal };
          ctx.log.info('greeting');
          return Promise.resolve({ hello: payload.name });
        },
      },
    });
    const { job } = await enqueue(exec, { type: 'greet.person', queue: 'h1', payload: { name: 'Ada' } });
    const done = await finished(job.id, 'COMPLETED');
    expect(done.result).toEqual({ hello: 'Ada' });
    expect(done.lockedBy).toBe(w.id);
    expect(seen?.payload).toEqual({ name: 'Ada' });
    expect(seen?.job).toMatchObject({
      id: job.id,
      type: 'greet.person',
      queue: 'h1',
      attempt: 1,
      maxAttempts: 5,
    });
    expect(seen?.signal).toBe(true);
    // built-ins are merged under the module's handlers
    const echo = await enqueue(exec, { type: 'demo.echo', queue: 'h1', payload: [1, 'two'] });
    expect((await finished(echo.job.id, 'COMPLETED')).result).toEqual([1, 'two']);
    const m = w.metrics;
    // counted once the completion flush has returned to the worker, a moment after the row is visible
    await waitFor(
      async () => (await metricValue(m.jobsCompleted, { queue: 'h1', type: 'greet.person' })) === 1,
      {
        what: 'jobs_completed_total for greet.person',
      },
    );
    await waitFor(
      async () =>
        (await metricValue(m.workerJobsCompleted, {
          queue: 'h1',
          type: 'demo.echo',
          status: 'COMPLETED',
        })) === 1,
      { what: 'worker_jobs_completed_total for demo.echo' },
    );
    const hist = await m.readyToStart.get();
    expect(hist.values.find((v) => v.metricName?.endsWith('_count') && v.labels.queue === 'h1')?.value).toBe(
      2,
    );
  });

  it('a thrown error fails the attempt (RETRY with backoff, then DEAD); a PermanentError goes DEAD at once', async () => {
    let calls = 0;
    const w = await startWorker(db, {
      queues: 'h2',
      handlers: {
        flaky: () => {
          calls++;
          throw new Error(`boom ${calls}`);
        },
        bad: () => Promise.reject(new PermanentError('payload is not an invoice')),
      },
    });
    const a = await enqueue(exec, { type: 'flaky', queue: 'h2', maxAttempts: 3 });
    const b = await enqueue(exec, { type: 'bad', queue: 'h2', maxAttempts: 5 });
    const deadA = await finished(a.job.id, 'DEAD');
    expect(deadA.errors.map((e) => e.message)).toEqual(['boom 1', 'boom 2', 'boom 3']);
    expect(deadA.errors[0]?.worker).toBe(w.id);
    const deadB = await finished(b.job.id, 'DEAD');
    expect(deadB.attempts).toBe(1);
    expect(deadB.lastError).toBe('payload is not an invoice');
    expect(deadB.errors[0]?.permanent).toBe(true);
    // counters move when the worker hears back from the database, a moment after the rows change
    const counts = async () => [
      await metricValue(w.metrics.jobsRetried, { queue: 'h2', type: 'flaky' }),
      await metricValue(w.metrics.jobsDead, { queue: 'h2' }),
      await metricValue(w.metrics.jobsFailed, { queue: 'h2' }),
    ];
    await waitFor(async () => (await counts()).join() === '2,2,4', { what: 'retried 2, dead 2, failed 4' });
  });

  it('per-type options: timeoutMs fires the signal and fails the attempt; maxAttempts replaces the job’s', async () => {
    const reasons: unknown[] = [];
    await startWorker(db, {
      queues: 'h3',
      handlers: {
        'slow.thing': {
          timeoutMs: 100,
          maxAttempts: 2,
          backoff: { baseMs: 1, maxMs: 5 },
          handler: async (_p: unknown, ctx: HandlerContext) => {
            reasons.push(await aborted(ctx.signal));
            return 'too late';
          },
        },
      },
    });
    const { job } = await enqueue(exec, { type: 'slow.thing', queue: 'h3', maxAttempts: 10 });
    const dead = await finished(job.id, 'DEAD');
    expect(dead.maxAttempts).toBe(2);
    expect(dead.attempts).toBe(2);
    expect(dead.result).toBeNull();
    expect(dead.errors.map((e) => e.message)).toEqual([
      'handler timed out after 100ms',
      'handler timed out after 100ms',
    ]);
    await waitFor(() => reasons.length === 2);
    expect((reasons[0] as Error).name).toBe('JobTimeoutError');
  });

  it('unknown type: the attempt fails with a clear message (retried with backoff), DEAD after max attempts', async () => {
    const w = await startWorker(db, { queues: 'h4', handlers: { 'known.one': () => 1 } });
    const { job } = await enqueue(exec, { type: 'nobody.knows', queue: 'h4', maxAttempts: 2 });
    const dead = await finished(job.id, 'DEAD');
    expect(dead.attempts).toBe(2);
    expect(dead.lastError).toMatch(
      new RegExp(
        `^no handler registered for type "nobody\\.knows" on worker ${w.id} \\(it knows: demo\\.echo, demo\\.fail, demo\\.sleep, known\\.one\\)`,
      ),
    );
    expect(dead.errors).toHaveLength(2);
    expect(dead.errors[0]?.permanent).toBeUndefined();
  });

  it('a result the database cannot store fails the attempt with that reason (naming the spot) instead of being lost', async () => {
    await startWorker(db, {
      queues: 'h5',
      handlers: { nul: () => 'a\u0000b', half: () => ({ list: ['ok', 'x\ud800'] }) },
    });
    const { job } = await enqueue(exec, { type: 'nul', queue: 'h5', maxAttempts: 1 });
    const dead = await finished(job.id, 'DEAD');
    expect(dead.lastError).toMatch(/^could not store the job's result: result: expected text without NUL/);
    const { job: half } = await enqueue(exec, { type: 'half', queue: 'h5', maxAttempts: 1 });
    expect((await finished(half.id, 'DEAD')).lastError).toMatch(
      /^could not store the job's result: result\.list\[1\]: expected text without unpaired surrogates/,
    );
  });
});

describe('ctx.transaction (exactly-once effects)', () => {
  it('commits the handler’s writes and the completion together; the result is what fn returns', async () => {
    await startWorker(db, {
      queues: 't1',
      handlers: {
        pay: (_p: unknown, ctx: HandlerContext) =>
          ctx.transaction(async (trx) => {
            await sql`INSERT INTO ${ledger} (job_id, note) VALUES (${ctx.job.id}, 'paid')`.execute(trx);
            return { paid: true };
          }),
      },
    });
    const { job } = await enqueue(exec, { type: 'pay', queue: 't1' });
    const done = await finished(job.id, 'COMPLETED');
    expect(done.result).toEqual({ paid: true });
    expect(await ledgerCount(job.id)).toBe(1);
  });

  it('fn throwing rolls back its writes and fails the attempt; the retry writes once', async () => {
    let attempt = 0;
    await startWorker(db, {
      queues: 't2',
      handlers: {
        pay: (_p: unknown, ctx: HandlerContext) =>
          ctx.transaction(async (trx) => {
            await sql`INSERT INTO ${ledger} (job_id, note) VALUES (${ctx.job.id}, 'try')`.execute(trx);
            if (++attempt === 1) throw new Error('card declined (transient)');
            return 'ok';
          }),
      },
    });
    const { job } = await enqueue(exec, { type: 'pay', queue: 't2' });
    const done = await finished(job.id, 'COMPLETED');
    expect(done.attempts).toBe(2);
    expect(done.errors[0]?.message).toBe('card declined (transient)');
    expect(await ledgerCount(job.id)).toBe(1);
  });

  it('when the lease was lost during fn, the fenced completion fails and fn’s writes roll back', async () => {
    let thrown: unknown;
    const w = await startWorker(db, {
      queues: 't3',
      handlers: {
        pay: async (_p: unknown, ctx: HandlerContext) => {
          try {
            return await ctx.transaction(async (trx) => {
              await sql`INSERT INTO ${ledger} (job_id, note) VALUES (${ctx.job.id}, 'stale')`.execute(trx);
              // Meanwhile the job is reclaimed and claimed by another worker (attempt 2).
              await sql`UPDATE ${exec.t.jobs} SET locked_by = 'other-worker', attempts = attempts + 1
                WHERE id = ${ctx.job.id}`.execute(exec.raw);
              return 'stale result';
            });
          } catch (err) {
            thrown = err;
            throw err;
          }
        },
      },
    });
    const { job } = await enqueue(exec, { type: 'pay', queue: 't3' });
    await waitFor(() => thrown);
    expect(thrown).toBeInstanceOf(LeaseLostError);
    expect(await ledgerCount(job.id)).toBe(0);
    const now = await getJob(exec, job.id);
    expect(now).toMatchObject({ status: 'RUNNING', lockedBy: 'other-worker', result: null });
    await waitFor(async () => (await metricValue(w.metrics.leasesLost, { queue: 't3' })) === 1);
  });

  it('a follow-up job enqueued with { tx: trx } commits with the completion, or not at all', async () => {
    const client = createClient({ database: db });
    let attempt = 0;
    await startWorker(db, {
      queues: 't5',
      handlers: {
        parent: (_p: unknown, ctx: HandlerContext) =>
          ctx.transaction(async (trx) => {
            const child = await client.enqueue(
              { type: 'child', queue: 't5-children', payload: { attempt: ++attempt } },
              { tx: trx },
            );
            if (attempt === 1) throw new Error('first attempt fails after enqueueing');
            return child.id;
          }),
      },
    });
    const { job } = await enqueue(exec, { type: 'parent', queue: 't5' });
    const done = await finished(job.id, 'COMPLETED');
    const children = await sql<{ id: string; payload: unknown }>`SELECT id, payload FROM ${exec.t.jobs}
      WHERE queue = 't5-children'`.execute(exec.raw);
    // the first attempt's child rolled back with it; the second attempt's child exists
    expect(children.rows).toEqual([{ id: done.result, payload: { attempt: 2 } }]);
  });

  it('can be used once per attempt', async () => {
    let second: unknown;
    await startWorker(db, {
      queues: 't4',
      handlers: {
        twice: async (_p: unknown, ctx: HandlerContext) => {
          await ctx.transaction(() => Promise.resolve(1));
          second = await ctx.transaction(() => Promise.resolve(2)).catch((e: unknown) => e);
          return 3;
        },
      },
    });
    const { job } = await enqueue(exec, { type: 'twice', queue: 't4' });
    expect((await finished(job.id, 'COMPLETED')).result).toBe(1);
    await waitFor(() => second);
    expect((second as Error).message).toMatch(/once per attempt/);
  });
});
