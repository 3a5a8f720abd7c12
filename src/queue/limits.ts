// A queue's flow limits as configuration: validate and store them (in the queues table, read by every
// claim, so running workers follow a change at their next claim), clear them, and list them with their
// current use. The CLI (`jobq queues limit`), the API and the dashboard all call these.
import type { Executor } from '../db/connect.js';
import { ValidationError } from '../errors.js';
import { checkInteger, formatDuration } from '../parse.js';
import { queueFlowList, queueLimitSet, type QueueFlowRow, type QueueLimitRow } from '../sql/queue-limits.js';
import { validateName } from './validate.js';

/** Limits as operators write them; null clears one, undefined leaves it as it is. */
export interface QueueLimitsInput {
  concurrency?: number | null | undefined;
  /** "10/s", "600/m", "5/200ms": job starts per period. */
  rate?: string | null | undefined;
  burst?: number | null | undefined;
  perKeyConcurrency?: number | null | undefined;
}

/** A queue's limits and their use, for display (API, `jobq queues --json`). */
export interface QueueLimits {
  queue: string;
  concurrency: number | null;
  rate: string | null;
  burst: number | null;
  perKeyConcurrency: number | null;
  running: number;
  /** Tokens in the rate bucket now (whole starts available), or null without a rate limit. */
  tokens: number | null;
  /** With a per-key limit: keys with running jobs now, and how many of them are at the limit (else null). */
  keysRunning: number | null;
  keysAtLimit: number | null;
}

const MAX = 1_000_000;
const PERIODS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "10/s", "600/m", "1/5s", "20/500ms" into a count per period. */
export function parseRate(field: string, text: string): { count: number; periodMs: number } {
  const m = /^\s*(\d+)\s*\/\s*(\d+)?\s*(ms|s|m|h|d)\s*$/.exec(text);
  const expected = 'job starts per period, such as 10/s, 600/m or 5/200ms';
  if (!m) throw new ValidationError(field, expected, JSON.stringify(text));
  const count = Number(m[1]);
  const periodMs = Number(m[2] ?? 1) * (PERIODS[m[3] ?? 's'] ?? 1000);
  if (count < 1 || count > MAX)
    throw new ValidationError(field, `a count from 1 to ${MAX} (${expected})`, text);
  if (periodMs < 1 || periodMs > 86_400_000)
    throw new ValidationError(field, 'a period from 1ms to 1d', JSON.stringify(text));
  return { count, periodMs };
}

/** "10/s", "600/m", "5/200ms". */
export function formatRate(count: number, periodMs: number): string {
  const unit = Object.entries(PERIODS).find(([, ms]) => ms === periodMs)?.[0];
  return `${count}/${unit ?? formatDuration(periodMs)}`;
}

function view(r: QueueFlowRow): QueueLimits {
  return {
    queue: r.queue,
    concurrency: r.concurrency,
    rate: r.rateCount !== null && r.ratePeriodMs !== null ? formatRate(r.rateCount, r.ratePeriodMs) : null,
    burst: r.burst,
    perKeyConcurrency: r.keyConcurrency,
    running: r.running,
    tokens: r.tokens === null ? null : Math.floor(r.tokens),
    keysRunning: r.keysRunning,
    keysAtLimit: r.keysAtLimit,
  };
}

/**
 * Sets some of a queue's limits (the others keep their value; null removes one). A rate without a burst
 * gets a burst of one period's count. Invalid values throw a ValidationError naming the field.
 */
export async function setQueueLimits(
  exec: Executor,
  queue: string,
  input: QueueLimitsInput,
): Promise<QueueLimits> {
  const name = validateName('queue', queue);
  const int = (field: string, v: number | null | undefined) =>
    v === undefined || v === null ? v : checkInteger(field, v, 1, MAX);
  const patch: { [K in keyof QueueLimitRow]?: number | null } = {
    concurrency: int('concurrency', input.concurrency),
    keyConcurrency: int('perKeyConcurrency', input.perKeyConcurrency),
  };
  if (input.rate === null) Object.assign(patch, { rateCount: null, ratePeriodMs: null, burst: null });
  else if (input.rate !== undefined) {
    const r = parseRate('rate', input.rate);
    const burst = int('burst', input.burst) ?? r.count;
    Object.assign(patch, { rateCount: r.count, ratePeriodMs: r.periodMs, burst });
  } else if (input.burst !== undefined) {
    if (input.burst === null)
      throw new ValidationError('burst', 'a number (a rate limit has a burst; remove the rate instead)');
    // a burst alone changes the queue's rate limit: there must be one
    if (!(await queueFlowList(exec, name))[0]?.rateCount)
      throw new ValidationError('burst', 'a rate to go with it (--rate 10/s)');
    patch.burst = int('burst', input.burst);
  }
  await queueLimitSet(exec, name, patch);
  const after = (await queueFlowList(exec, name))[0];
  return after
    ? view(after)
    : {
        queue: name,
        concurrency: null,
        rate: null,
        burst: null,
        perKeyConcurrency: null,
        running: 0,
        tokens: null,
        keysRunning: null,
        keysAtLimit: null,
      };
}

/** Removes every flow limit of a queue: it is claimed at full speed again. */
export function clearQueueLimits(exec: Executor, queue: string): Promise<QueueLimits> {
  return setQueueLimits(exec, queue, { concurrency: null, rate: null, perKeyConcurrency: null });
}

/** Queues with limits, with their current use (one queue when `queue` is given). */
export async function listQueueLimits(exec: Executor, queue?: string): Promise<QueueLimits[]> {
  const name = queue === undefined ? undefined : validateName('queue', queue);
  return (await queueFlowList(exec, name)).map(view);
}
