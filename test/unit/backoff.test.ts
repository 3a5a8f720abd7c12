// The one backoff: full jitter for job retries, equal jitter for outage retries, capped, and the
// error classifier every database caller relies on (unavailable vs timeout vs conflict vs not migrated).
import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelayMs } from '../../src/backoff.js';
import { classifyDbError, DatabaseUnavailableError, isConnectionError } from '../../src/errors.js';

describe('backoffDelayMs', () => {
  const opts = { baseMs: 100, maxMs: 1000 };
  it('doubles per attempt from base and stops at the cap (full jitter: [0, cap))', () => {
    const top = (a: number): number => backoffDelayMs(a, opts, () => 0.999999);
    expect([1, 2, 3, 4, 5, 6].map(top)).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelayMs(3, opts, () => 0)).toBe(0);
    expect(backoffDelayMs(1e9, opts, () => 0.5)).toBe(500);
  });

  it('equal jitter stays within [cap/2, cap)', () => {
    expect(backoffDelayMs(1, opts, () => 0, 'equal')).toBe(50);
    expect(backoffDelayMs(4, opts, () => 0.999999, 'equal')).toBe(799);
  });
});

describe('Backoff (outage retries)', () => {
  it('grows until reset and reports failing', () => {
    const b = new Backoff({ baseMs: 250, maxMs: 5000 }, () => 0);
    expect(b.failing).toBe(false);
    expect([1, 2, 3, 4, 5, 6, 7].map(() => b.next())).toEqual([125, 250, 500, 1000, 2000, 2500, 2500]);
    expect(b.failing).toBe(true);
    b.reset();
    expect(b.failing).toBe(false);
    expect(b.next()).toBe(125);
  });

  it('spreads processes that fail together (jitter)', () => {
    const delays = new Set(Array.from({ length: 50 }, () => new Backoff().next()));
    expect(delays.size).toBeGreaterThan(10);
  });
});

describe('classifyDbError', () => {
  it('tells unavailable, timeout, conflict and not-migrated apart', () => {
    const e = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code });
    for (const code of ['53300', '53400', '57P01', '57P03', '08006', 'ECONNREFUSED'])
      expect(classifyDbError(e(code))).toBe('unavailable');
    expect(classifyDbError(new Error('timeout exceeded when trying to connect'))).toBe('unavailable');
    expect(classifyDbError(new DatabaseUnavailableError('down'))).toBe('unavailable');
    expect(classifyDbError(e('57014'))).toBe('timeout');
    expect(classifyDbError(e('55P03'))).toBe('timeout');
    expect(classifyDbError(e('23505'))).toBe('conflict');
    expect(classifyDbError(e('42P01'))).toBe('not-migrated');
    expect(classifyDbError(e('22P02'))).toBe('other');
    expect(isConnectionError(e('53300'))).toBe(true);
    expect(isConnectionError('53300')).toBe(false);
  });
});
