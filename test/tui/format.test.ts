// Pure helpers of `jobq top`: sparkline scaling, fixed-width cells, ages, compact counts, refresh pacing.
import { describe, expect, it } from 'vitest';
import { age, cell, count, sparkline } from '../../src/tui/format.js';
import { nextDelay } from '../../src/tui/use-snapshot.js';

describe('jobq top formatting', () => {
  it('sparkline: · for zero, bars scaled to the largest value', () => {
    expect(sparkline([0, 1, 2, 4, 8])).toBe('·▁▂▄█');
    expect(sparkline([0, 0, 0])).toBe('···');
    expect(sparkline([5])).toBe('█');
  });

  it('cell pads or cuts to the exact width; right alignment pads on the left', () => {
    expect(cell('abc', 5)).toBe('abc  ');
    expect(cell('abc', 5, 'right')).toBe('  abc');
    expect(cell('abcdefgh', 5)).toBe('abcd…');
    expect(cell('a\nb', 3)).toBe('a b');
  });

  it('ages and counts stay short', () => {
    expect(age(null)).toBe('-');
    expect(age(0.4)).toBe('<1s');
    expect(age(75)).toBe('1m 15s');
    expect(count(999)).toBe('999');
    expect(count(1234)).toBe('1.2k');
    expect(count(56_789)).toBe('57k');
    expect(count(2_500_000)).toBe('2.5M');
  });

  it('a slow load stretches the refresh so loading takes at most a fifth of the time', () => {
    expect(nextDelay(1000, 50)).toBe(1000);
    expect(nextDelay(1000, 400)).toBe(1600);
  });
});
