// Fire-time computation (no database): cron and time-zone validation, daylight-saving changes, and
// the plan a due schedule gets under each missed-run policy.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import {
  CATCH_UP_CAP,
  fireTimesAfter,
  nextFireAfter,
  planFires,
  validateCron,
  validateTimezone,
  type MissedPolicy,
} from '../../src/queue/cron.js';
import { must } from './helpers.js';

const iso = (ds: Date[]): string[] => ds.map((d) => d.toISOString());
const at = (s: string): Date => new Date(s);

describe('time zones: a daily 09:00 Europe/Berlin schedule across daylight-saving changes', () => {
  it('fires at 08:00Z in winter and 07:00Z in summer around the last Sunday of March', () => {
    // 2026-03-29 is the last Sunday of March: CET (UTC+1) → CEST (UTC+2) at 02:00 local.
    expect(iso(fireTimesAfter('0 9 * * *', 'Europe/Berlin', at('2026-03-27T12:00:00Z'), 3))).toEqual([
      '2026-03-28T08:00:00.000Z',
      '2026-03-29T07:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
    ]);
  });

  it('fires at 07:00Z in summer and 08:00Z in winter around the last Sunday of October', () => {
    // 2026-10-25 is the last Sunday of October: CEST → CET at 03:00 local.
    expect(iso(fireTimesAfter('0 9 * * *', 'Europe/Berlin', at('2026-10-23T12:00:00Z'), 3))).toEqual([
      '2026-10-24T07:00:00.000Z',
      '2026-10-25T08:00:00.000Z',
      '2026-10-26T08:00:00.000Z',
    ]);
  });

  it('the same expression in UTC does not move', () => {
    expect(iso(fireTimesAfter('0 9 * * *', 'UTC', at('2026-03-28T12:00:00Z'), 2))).toEqual([
      '2026-03-29T09:00:00.000Z',
      '2026-03-30T09:00:00.000Z',
    ]);
  });

  it('a 02:30 local schedule fires exactly once on both change days (skipped hour, repeated hour)', () => {
    const spring = fireTimesAfter('30 2 * * *', 'Europe/Berlin', at('2026-03-28T12:00:00Z'), 2);
    const autumn = fireTimesAfter('30 2 * * *', 'Europe/Berlin', at('2026-10-24T12:00:00Z'), 2);
    // One fire per local day, never two on the day 02:30 happens twice.
    expect(iso(autumn)).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
    expect(spring).toHaveLength(2);
    expect(must(spring[1]).getTime() - must(spring[0]).getTime()).toBeGreaterThan(12 * 3600_000);
  });
});

describe('validation', () => {
  it('accepts 5-field, 6-field (seconds) and @alias expressions, normalising whitespace', () => {
    expect(validateCron('cron', ' */5  *  * * * ')).toBe('*/5 * * * *');
    expect(validateCron('cron', '0 0 9 * * 1-5')).toBe('0 0 9 * * 1-5');
    expect(validateCron('cron', '@daily')).toBe('@daily');
    expect(nextFireAfter('* * * * * *', 'UTC', at('2026-01-01T00:00:00.400Z')).toISOString()).toBe(
      '2026-01-01T00:00:01.000Z',
    );
  });

  it.each([
    ['61 * * * *', 'expected range 0-59'],
    ['* * * *', '4 fields'],
    ['* * * * * * *', '7 fields'],
    ['every day', '2 fields'],
    ['', 'empty'],
    ['@often', 'unknown alias'],
    ['0 0 30 2 *', 'day of month'],
  ])('refuses %j with a message quoting it', (expr, why) => {
    let err: unknown;
    try {
      validateCron('cron', expr);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    const msg = (err as ValidationError).message;
    expect(msg).toContain(`cron: expected a cron expression`);
    expect(msg).toContain(JSON.stringify(expr));
    expect(msg.toLowerCase()).toContain(why.toLowerCase());
  });

  it('accepts IANA zones and refuses others, quoting them', () => {
    expect(validateTimezone('timezone', 'Europe/Berlin')).toBe('Europe/Berlin');
    expect(validateTimezone('timezone', 'UTC')).toBe('UTC');
    for (const bad of ['Mars/Olympus', '', '+01:00', 42]) {
      expect(() => validateTimezone('timezone', bad)).toThrow(
        `timezone: expected an IANA time zone name such as UTC, Europe/Berlin or America/New_York, got ${JSON.stringify(bad)}`,
      );
    }
  });
});

describe('planFires: what a due schedule fires', () => {
  const grace = 30_000;
  const plan = (cron: string, nextRunAt: string, now: string, missedPolicy: MissedPolicy = 'skip') =>
    planFires({ cron, timezone: 'UTC', nextRunAt: at(nextRunAt), missedPolicy }, at(now), grace);

  it('a fire time within the grace is on time: fired, whatever the policy; next is the first after now', () => {
    const p = plan('* * * * * *', '2026-01-01T12:00:00Z', '2026-01-01T12:00:00.300Z');
    expect(iso(p.fires)).toEqual(['2026-01-01T12:00:00.000Z']);
    expect(p.missed).toBeNull();
    expect(p.next.toISOString()).toBe('2026-01-01T12:00:01.000Z');
  });

  it('a scheduler a few seconds behind fires every second it owes, in order (no gap)', () => {
    const p = plan('* * * * * *', '2026-01-01T12:00:00Z', '2026-01-01T12:00:05.500Z');
    expect(iso(p.fires)).toEqual([0, 1, 2, 3, 4, 5].map((s) => `2026-01-01T12:00:0${s}.000Z`));
    expect(p.next.toISOString()).toBe('2026-01-01T12:00:06.000Z');
  });

  it('not yet due: nothing fires and next_run_at stays', () => {
    const p = plan('* * * * *', '2026-01-01T12:01:00Z', '2026-01-01T12:00:30Z');
    expect(p.fires).toEqual([]);
  });

  it('skip: no missed time fires; next is the next future time', () => {
    const p = plan('* * * * *', '2026-01-01T11:00:00Z', '2026-01-01T12:00:45Z', 'skip');
    expect(p.fires).toEqual([]);
    expect(p.missed).toEqual({ from: at('2026-01-01T11:00:00Z'), to: at('2026-01-01T12:00:00Z') });
    expect(p.missedDropped).toBeGreaterThan(0);
    expect(p.next.toISOString()).toBe('2026-01-01T12:01:00.000Z');
  });

  it('once: exactly one catch-up, for the most recent missed time', () => {
    const p = plan('* * * * *', '2026-01-01T11:00:00Z', '2026-01-01T12:00:45Z', 'once');
    expect(iso(p.fires)).toEqual(['2026-01-01T12:00:00.000Z']);
    expect(p.next.toISOString()).toBe('2026-01-01T12:01:00.000Z');
  });

  it('all: every missed time, oldest first', () => {
    const p = plan('* * * * *', '2026-01-01T11:50:00Z', '2026-01-01T12:00:45Z', 'all');
    expect(p.fires).toHaveLength(11);
    expect(must(p.fires[0]).toISOString()).toBe('2026-01-01T11:50:00.000Z');
    expect(must(p.fires[10]).toISOString()).toBe('2026-01-01T12:00:00.000Z');
    expect(p.missedDropped).toBe(0);
  });

  it(`all: bounded by the cap (${CATCH_UP_CAP}, the most recent ones), plus the on-time ones`, () => {
    // Every second, an hour down: 100 most recent missed seconds before the grace window, then the 31
    // on-time seconds inside it.
    const p = plan('* * * * * *', '2026-01-01T11:00:00Z', '2026-01-01T12:00:00Z', 'all');
    expect(p.fires).toHaveLength(CATCH_UP_CAP + 31);
    expect(must(p.fires[0]).toISOString()).toBe('2026-01-01T11:57:50.000Z');
    expect(must(p.fires[CATCH_UP_CAP - 1]).toISOString()).toBe('2026-01-01T11:59:29.000Z');
    expect(must(p.fires[CATCH_UP_CAP]).toISOString()).toBe('2026-01-01T11:59:30.000Z');
    expect(must(p.fires.at(-1)).toISOString()).toBe('2026-01-01T12:00:00.000Z');
    for (let i = 1; i < p.fires.length; i++)
      expect(must(p.fires[i]).getTime() - must(p.fires[i - 1]).getTime()).toBe(1000);
    expect(p.missedDropped).toBeGreaterThan(0);
  });

  it('a next_run_at off the cron grid (set by hand) counts as the missed fire itself', () => {
    const p = plan('0 0 1 1 *', '2026-03-01T10:17:00Z', '2026-03-01T12:00:00Z', 'once');
    expect(iso(p.fires)).toEqual(['2026-03-01T10:17:00.000Z']);
    expect(p.next.toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });
});
