// Worker options without a database: the queue spec, handler maps (shapes, per-type options, errors that
// name the field) and loading a handlers module.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { loadHandlersModule, resolveHandlers, withBuiltins } from '../../src/worker/handlers.js';
import { parseQueues, workerSettings } from '../../src/worker/options.js';
import { FIXTURE_HANDLERS } from './helpers.js';

const defaults = { baseMs: 1000, maxMs: 60_000 };

describe('queue spec', () => {
  it('parses name:slots lists and objects; names without slots get the concurrency', () => {
    expect([...parseQueues('email:10, default', 4)]).toEqual([
      ['email', 10],
      ['default', 4],
    ]);
    expect([...parseQueues({ video: 2 }, 4)]).toEqual([['video', 2]]);
  });

  it.each([
    ['', /expected a comma list of queue names/],
    ['Email', /expected a comma list of queue names/],
    ['email:0', /email: expected a whole number from 1 to 10000, got 0/],
    ['email:x', /email: expected slots as a whole number from 1 to 10000, got "x"/],
    ['email,email:2', /each queue once \(email appears twice\)/],
  ])('rejects %j', (spec, message) => {
    expect(() => parseQueues(spec, 10, '--queue')).toThrow(message);
  });

  it('validates the other options by name', () => {
    expect(() => workerSettings({ leaseMs: 10 }, 'postgres://x')).toThrow(/leaseMs: expected a whole number/);
    expect(() => workerSettings({ concurrency: 0 }, 'postgres://x')).toThrow(/concurrency/);
    const s = workerSettings({ queues: 'a:3,b:4', listen: false }, 'postgres://x');
    expect(s.listenUrl).toBeNull();
    expect(s.transactionPoolSize).toBe(7);
    expect(workerSettings({}, 'postgres://x').listenUrl).toBe('postgres://x');
    expect(() => workerSettings({ freeReleases: -1 }, 'postgres://x')).toThrow(
      /freeReleases: expected a whole number from 0 to 1000/,
    );
    expect(() => workerSettings({ timeoutGraceMs: 1.5 }, 'postgres://x')).toThrow(/timeoutGraceMs/);
    expect(workerSettings({}, 'postgres://x')).toMatchObject({ freeReleases: 2, timeoutGraceMs: 5000 });
  });
});

describe('handler maps', () => {
  it('accepts functions and { handler, timeoutMs, maxAttempts, backoff }', () => {
    const fn = () => 1;
    const m = resolveHandlers(
      { a: fn, b: { handler: fn, timeoutMs: 500, maxAttempts: 2, backoff: { baseMs: 5 } } },
      defaults,
    );
    expect(m.get('a')).toMatchObject({ timeoutMs: undefined, maxAttempts: undefined, backoff: defaults });
    expect(m.get('b')).toMatchObject({
      timeoutMs: 500,
      maxAttempts: 2,
      backoff: { baseMs: 5, maxMs: 60_000 },
    });
  });

  const bad: [Record<string, unknown>, RegExp][] = [
    [{ 'Bad Type': () => 1 }, /handlers: expected job types matching/],
    [{ a: 42 }, /handlers\["a"\]: expected an async function/],
    [{ a: { handler: () => 1, timeout: 5 } }, /handlers\["a"\]\.timeout: expected one of the options/],
    [
      { a: { handler: () => 1, maxAttempts: 0 } },
      /handlers\["a"\]\.maxAttempts: expected a whole number from 1 to 1000/,
    ],
    [{ a: { handler: () => 1, timeoutMs: -1 } }, /handlers\["a"\]\.timeoutMs/],
  ];
  it.each(bad)('rejects %o with a message naming the field', (map, message) => {
    expect(() => resolveHandlers(map, defaults)).toThrow(message);
  });

  it('merges a module over the built-ins (a module may replace one)', () => {
    const m = withBuiltins({ 'demo.echo': () => 'mine', extra: () => 2 }, defaults);
    expect([...m.keys()].sort()).toEqual(['demo.echo', 'demo.fail', 'demo.sleep', 'extra']);
    expect(m.get('demo.echo')?.handler(null, {} as never)).toBe('mine');
  });

  it('loads a module by path (default export) and explains a failure', async () => {
    const mod = await loadHandlersModule(FIXTURE_HANDLERS);
    expect(Object.keys(mod)).toContain('test.sleep');
    const err = await loadHandlersModule('./does-not-exist.js').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toMatch(/^--handlers \/ JOBQ_HANDLERS: expected a loadable ES module/);
  });
});
