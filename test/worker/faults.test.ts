// Misbehaving handlers in a worker against a real PostgreSQL: timeouts that hold (slot back after the
// grace, runaways counted, too many fail the worker), errors and results made storable or refused with a
// clear message, event-loop stalls logged, counted and shown by explain.
import { describe, expect, it } from 'vitest';
import { enqueue, getJob } from '../../src/queue/index.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { freshDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { metricValue, startWorker } from './helpers.js';

const db = await freshDb();
const exec = db.exec;

const finished = (id: string, ...statuses: string[]) =>
  waitFor(
    async () => {
      const j = await getJob(exec, id);
      return statuses.includes(j.status) ? j : undefined;
    },
    { what: `job ${id} to be ${statuses.join('/')}`, timeoutMs: 20_000 },
  );

const hang = (): Promise<never> => new Promise(() => undefined);

describe('timeouts that hold', () => {
  it('a handler ignoring its signal: attempt failed at once, slot free within timeout + grace, the queue runs on, the runaway counted', async () => {
    const metrics = createMetrics();
    const w = await startWorker(db, {
      queues: 'to:1',
      metrics,
      timeoutGraceMs: 300,
      handlers: { 'x.hang': { timeoutMs: 200, maxAttempts: 1, handler: hang }, 'x.ok': () => 'ok' },
    });
    const { job: stuck } = await enqueue(exec, { type: 'x.hang', queue: 'to' });
    const { job: ok } = await enqueue(exec, { type: 'x.ok', queue: 'to' });
    const t0 = Date.now();
    const dead = await finished(stuck.id, 'DEAD');
    expect(dead.lastError).toBe('handler timed out after 200ms');
    expect(await finished(ok.id, 'COMPLETED')).toMatchObject({ result: 'ok' });
    expect(Date.now() - t0).toBeLessThan(10_000);
    await waitFor(async () => (await metricValue(metrics.workerRunaways, { type: 'x.hang' })) === 1, {
      what: 'the runaway to be counted',
    });
    expect(w.stats().runaways).toBe(1);
    expect(w.stats().queues[0]?.running).toBe(0);
    // explain of a new job in that queue: the one slot is free, nothing holds it back
    await w.stop();
  });

  it('more runaways than the bound: the worker stops claiming and fails (its supervisor restarts it)', async () => {
    const w = await startWorker(db, {
      queues: 'ra:3',
      timeoutGraceMs: 50,
      maxRunaways: 1,
      handlers: { 'r.hang': { timeoutMs: 50, handler: hang } },
    });
    for (let i = 0; i < 2; i++) await enqueue(exec, { type: 'r.hang', queue: 'ra' });
    await expect(w.failure).rejects.toThrow(/2 runaway handlers \(more than 1\)/);
    expect(w.stats().phase).toBe('stopping');
  });

  it('the worker-wide default timeout applies to types that set none; 0 turns it off', async () => {
    await startWorker(db, {
      queues: 'dt',
      jobTimeoutMs: 150,
      timeoutGraceMs: 50,
      handlers: { 'd.hang': hang },
    });
    const { job } = await enqueue(exec, { type: 'd.hang', queue: 'dt', maxAttempts: 1 });
    expect((await finished(job.id, 'DEAD')).lastError).toBe('handler timed out after 150ms');
  });
});

describe('every error recorded, every result valid', () => {
  it('errors with NUL and lone surrogates appear, sanitised, in the history on the first attempt', async () => {
    await startWorker(db, {
      queues: 'nul',
      handlers: {
        'n.throw': () => {
          throw new Error('bad\u0000byte and lone \ud800 surrogate');
        },
      },
    });
    const { job } = await enqueue(exec, { type: 'n.throw', queue: 'nul', maxAttempts: 1 });
    const dead = await finished(job.id, 'DEAD');
    expect(dead.attempts).toBe(1);
    expect(dead.errors).toHaveLength(1);
    expect(dead.errors[0]?.message).toBe('badbyte and lone \ufffd surrogate');
    expect(dead.lastError).toBe('badbyte and lone \ufffd surrogate');
  });

  it('BigInt, circular, function and oversize results fail the attempt (DEAD: permanent) with a clear message', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await startWorker(db, {
      queues: 'res',
      maxResultBytes: 1000,
      handlers: {
        'r.bigint': () => ({ n: 10n }),
        'r.circular': () => circular,
        'r.function': () => () => 1,
        'r.big': () => 'x'.repeat(2000),
        'r.fine': () => undefined,
      },
    });
    const expectations: [string, RegExp][] = [
      ['r.bigint', /^could not store the job's result: it is not JSON-serialisable \(.*BigInt/],
      ['r.circular', /^could not store the job's result: it is not JSON-serialisable \(.*circular/i],
      ['r.function', /^could not store the job's result: the handler returned a function/],
      [
        'r.big',
        /^could not store the job's result: it is 2002 bytes as JSON, more than the 1000 allowed \(JOBQ_MAX_RESULT_BYTES\)/,
      ],
    ];
    for (const [type, message] of expectations) {
      const { job } = await enqueue(exec, { type, queue: 'res' });
      const dead = await finished(job.id, 'DEAD');
      expect(dead.attempts).toBe(1);
      expect(dead.result).toBeNull();
      expect(dead.lastError).toMatch(message);
      expect(dead.errors[0]?.permanent).toBe(true);
    }
    const { job } = await enqueue(exec, { type: 'r.fine', queue: 'res' });
    expect((await finished(job.id, 'COMPLETED')).result).toBeNull();
  });
});

describe('stalls are visible', () => {
  it('a handler blocking the event loop past the lease: the stall is logged with its length and counted', async () => {
    const metrics = createMetrics();
    await startWorker(db, {
      queues: 'st',
      leaseMs: 600,
      metrics,
      handlers: {
        's.block': () => {
          const until = Date.now() + 1000;
          while (Date.now() < until); // CPU-bound on the main thread
          return 'done';
        },
      },
    });
    await enqueue(exec, { type: 's.block', queue: 'st' });
    await waitFor(async () => (await metricValue(metrics.workerEventLoopStalls)) >= 1, {
      what: 'the stall to be counted',
    });
    expect(await metricValue(metrics.workerEventLoopStallSeconds)).toBeGreaterThan(0.5);
  });
});
