// Cron fire times (cron-parser 5): validation of expressions and IANA time zones, the next fire time, and
// the plan of what a due schedule fires under its missed-run policy. Pure computation: no I/O, no timers.
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { ValidationError } from '../errors.js';

import { MISSED_POLICIES, OVERLAP_POLICIES, type MissedPolicy, type OverlapPolicy } from '../db/schema.js';

export { MISSED_POLICIES, OVERLAP_POLICIES, type MissedPolicy, type OverlapPolicy };

/** The most missed fire times the `all` policy enqueues in one catch-up (the most recent ones). */
export const CATCH_UP_CAP = 100;
/** Safety bound on fire times enumerated inside the on-time window of one plan. */
const ON_TIME_BOUND = 10_000;

const ALIASES = new Set([
  '@yearly',
  '@annually',
  '@monthly',
  '@weekly',
  '@daily',
  '@hourly',
  '@minutely',
  '@secondly',
  '@weekdays',
  '@weekends',
]);

/** What a valid cron expression looks like (error messages, API schema descriptions). */
export const CRON_EXPECTED =
  'a cron expression of 5 fields (minute hour day-of-month month day-of-week), 6 fields (seconds first) or @hourly/@daily/@weekly/@monthly/@yearly';

function parse(cron: string, tz: string, currentDate: Date): CronExpression {
  return CronExpressionParser.parse(cron, { currentDate, tz });
}

/** What a valid time zone looks like. */
export const TIMEZONE_EXPECTED = 'an IANA time zone name such as UTC, Europe/Berlin or America/New_York';

/** Validates an IANA time zone name (e.g. UTC, Europe/Berlin); returns it trimmed. */
export function validateTimezone(field: string, value: unknown): string {
  const tz = typeof value === 'string' ? value.trim() : '';
  // Intl on Node 24+ also accepts UTC offsets ("+01:00", ECMA-402 2024); a schedule names a zone,
  // whose offset follows daylight saving, so offsets stay refused on every Node.
  let ok = tz !== '' && tz.length <= 64 && !/^[+-]/.test(tz);
  if (ok) {
    try {
      // Intl throws RangeError for an unknown zone; cron-parser (luxon) must accept it as well.
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      parse('0 0 * * *', tz, new Date(0)).next();
    } catch {
      ok = false;
    }
  }
  if (!ok) throw new ValidationError(field, TIMEZONE_EXPECTED, JSON.stringify(value));
  return tz;
}

/** Validates a cron expression (5 or 6 fields, or an @alias); returns it with whitespace normalised. */
export function validateCron(field: string, value: unknown): string {
  if (typeof value !== 'string') throw new ValidationError(field, CRON_EXPECTED, JSON.stringify(value));
  const expr = value.trim().replace(/\s+/g, ' ');
  const refuse = (why: string): never => {
    throw new ValidationError(field, CRON_EXPECTED, `${JSON.stringify(value)} (${why})`);
  };
  if (expr === '') refuse('empty');
  if (expr.length > 200) refuse('longer than 200 characters');
  if (expr.startsWith('@')) {
    if (!ALIASES.has(expr.toLowerCase())) refuse(`unknown alias; known: ${[...ALIASES].join(', ')}`);
  } else {
    const n = expr.split(' ').length;
    if (n !== 5 && n !== 6) refuse(`${n} field${n === 1 ? '' : 's'}`);
  }
  try {
    parse(expr, 'UTC', new Date()).next();
  } catch (err) {
    refuse((err as Error).message);
  }
  return expr;
}

/** The first fire time strictly after `after`, in the schedule's time zone. */
export function nextFireAfter(cron: string, tz: string, after: Date): Date {
  return parse(cron, tz, after).next().toDate();
}

/** The first `count` fire times strictly after `after` (for previews and tests). */
export function fireTimesAfter(cron: string, tz: string, after: Date, count: number): Date[] {
  const it = parse(cron, tz, after);
  return Array.from({ length: count }, () => it.next().toDate());
}

export interface PlanInput {
  cron: string;
  timezone: string;
  /** The stored next fire time (the first one not yet handled). */
  nextRunAt: Date;
  missedPolicy: MissedPolicy;
}

export interface FirePlan {
  /** Fire times to enqueue now, oldest first. */
  fires: Date[];
  /** Overdue fire times that were missed (older than the grace): the first and last of them, or null. */
  missed: { from: Date; to: Date } | null;
  /** How many missed fire times are not in `fires` (at least; counting stops at the cap). */
  missedDropped: number;
  /** The new next_run_at: the first fire time after now. */
  next: Date;
}

/**
 * Plans a due schedule at database time `now`. Fire times at most `graceMs` overdue are on time and
 * always fired (a busy or briefly disconnected scheduler never drops them). Older ones were missed
 * (no scheduler ran): `skip` fires none of them, `once` the most recent one, `all` every one of them up
 * to `cap` (the most recent `cap`). next_run_at moves to the first fire time after now.
 */
export function planFires(s: PlanInput, now: Date, graceMs: number, cap = CATCH_UP_CAP): FirePlan {
  const next = nextFireAfter(s.cron, s.timezone, now);
  if (s.nextRunAt.getTime() > now.getTime()) return { fires: [], missed: null, missedDropped: 0, next };
  const missedBefore = new Date(now.getTime() - graceMs);
  const anyMissed = s.nextRunAt.getTime() < missedBefore.getTime();
  const onTime: Date[] = anyMissed ? [] : [s.nextRunAt];
  const onTimeFrom = anyMissed ? new Date(missedBefore.getTime() - 1) : s.nextRunAt;
  const it = parse(s.cron, s.timezone, onTimeFrom);
  for (let i = 0; i < ON_TIME_BOUND; i++) {
    const d = it.next().toDate();
    if (d.getTime() > now.getTime()) break;
    onTime.push(d);
  }
  if (!anyMissed) return { fires: onTime, missed: null, missedDropped: 0, next };

  // Missed: the stored next_run_at and every cron time after it and before the grace window. Walk
  // backwards from the window so a long outage costs at most `cap + 1` steps.
  const want = s.missedPolicy === 'all' ? cap : s.missedPolicy === 'once' ? 1 : 0;
  const recent: Date[] = [];
  const back = parse(s.cron, s.timezone, missedBefore);
  let more = false;
  for (;;) {
    let d: Date;
    try {
      d = back.prev().toDate();
    } catch {
      break;
    }
    if (d.getTime() <= s.nextRunAt.getTime()) break;
    if (recent.length >= Math.max(want, 1)) {
      more = true;
      break;
    }
    recent.push(d);
  }
  const latest = recent[0] ?? s.nextRunAt;
  // `recent` is newest first and excludes nextRunAt itself, which is missed too.
  const allMissed = more ? recent : [...recent, s.nextRunAt];
  const caught = allMissed.slice(0, want).reverse();
  const total = allMissed.length + (more ? 1 : 0);
  return {
    fires: [...caught, ...onTime],
    missed: { from: s.nextRunAt, to: latest },
    missedDropped: Math.max(0, total - caught.length),
    next,
  };
}
