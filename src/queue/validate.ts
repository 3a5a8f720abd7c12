// Validation of everything a caller hands the queue library: names, numbers, payloads, ids, statuses.
// Errors name the field and what was expected; nothing is written when validation fails.
import { ValidationError } from '../errors.js';
import { JOB_STATUSES, type JobStatus } from '../db/schema.js';
import { checkInteger } from '../parse.js';
import { isUuid, uuidv7 } from './ids.js';
import type { EnqueueSpec, JobInsert, Limits } from './types.js';

export const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const PRIORITY_MIN = -1000;
export const PRIORITY_MAX = 1000;
export const MAX_ATTEMPTS_MAX = 1000;
export const MAX_DELAY_MS = 10 * 365 * 86_400_000;
export const IDEMPOTENCY_KEY_MAX = 255;

/** A queue or job type name: [a-z0-9][a-z0-9._-]{0,63}. */
export function validateName(field: string, value: unknown): string {
  if (typeof value !== 'string' || !NAME_RE.test(value)) {
    throw new ValidationError(
      field,
      'a name of 1-64 characters matching [a-z0-9][a-z0-9._-]* (lower-case letters, digits, ".", "_", "-")',
      JSON.stringify(value),
    );
  }
  return value;
}

/** A job id (UUID). */
export function validateId(field: string, value: unknown): string {
  if (typeof value !== 'string' || !isUuid(value))
    throw new ValidationError(field, 'a job id (a UUID)', JSON.stringify(value));
  return value.toLowerCase();
}

/** A job status name (case-insensitive). */
export function validateStatus(field: string, value: unknown): JobStatus {
  const s = typeof value === 'string' ? value.toUpperCase() : value;
  if (typeof s !== 'string' || !(JOB_STATUSES as readonly string[]).includes(s)) {
    throw new ValidationError(field, `one of ${JOB_STATUSES.join(', ')}`, JSON.stringify(value));
  }
  return s as JobStatus;
}

/** A UTF-16 code unit of a surrogate pair without its other half: not a character, and not storable. */
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why PostgreSQL's text and jsonb would refuse a string (NUL, or half a surrogate pair), or undefined. */
export function unstorableText(s: string): string | undefined {
  if (s.includes('\u0000')) return 'text without NUL (\\u0000) characters';
  if (LONE_SURROGATE.test(s))
    return 'text without unpaired surrogates (\\uD800-\\uDFFF alone is not a character)';
  return undefined;
}

/** A string PostgreSQL can store as text; the error names the field (and never echoes the text). */
export function checkText(field: string, value: string): string {
  const why = unstorableText(value);
  if (why !== undefined) throw new ValidationError(field, why);
  return value;
}

/**
 * Checks every string and key of a JSON value is storable (jsonb refuses NUL and unpaired
 * surrogates; a key "k\uD800" would otherwise be stored as "k\uFFFD"). Iterative: depth is unbounded.
 */
export function checkJsonText(field: string, value: unknown): void {
  const stack: { v: unknown; path: string }[] = [{ v: value, path: field }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { v, path } = item;
    if (typeof v === 'string') checkText(path, v);
    else if (Array.isArray(v)) v.forEach((x, i) => stack.push({ v: x, path: `${path}[${i}]` }));
    else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        const keyPath = /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`;
        if (unstorableText(k) !== undefined) checkText(`${path} (a key)`, k);
        stack.push({ v: x, path: keyPath });
      }
    }
  }
}

const SUSPECT_ESCAPE = /\\u(?:0000|d[89a-f])/i;

/**
 * checkJsonText for a value whose JSON text is at hand. JSON.stringify writes NUL and unpaired surrogates
 * as \u escapes (a surrogate pair stays raw), so a text without such an escape needs no walk; the walk,
 * which finds and names the spot, runs only when one appears.
 */
export function checkJsonTextOf(field: string, value: unknown, json: string): void {
  if (SUSPECT_ESCAPE.test(json)) checkJsonText(field, value);
}

/** Serialises a payload, enforcing the size cap and what jsonb can store. */
export function payloadJson(field: string, payload: unknown, maxBytes: number): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(payload === undefined ? {} : payload);
  } catch {
    text = undefined;
  }
  if (text === undefined) throw new ValidationError(field, 'a JSON value');
  const bytes = Buffer.byteLength(text);
  if (bytes > maxBytes)
    throw new ValidationError(field, `at most ${maxBytes} bytes of JSON`, `${bytes} bytes`);
  // PostgreSQL jsonb rejects NUL and unpaired surrogates; say so here (naming the spot), not as an SQL error.
  checkJsonTextOf(field, payload, text);
  return text;
}

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** True when the text is an ISO-8601 date or time whose every part exists (no 2030-02-30, no 24:61). */
export function isIsoTime(text: string): boolean {
  const m = ISO_TIME.exec(text);
  if (!m) return false;
  const part = (i: number): number => Number(m[i] ?? 0);
  const [year, month, day] = [part(1), part(2), part(3)];
  if (month < 1 || month > 12 || day < 1) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= daysInMonth && part(4) <= 23 && part(5) <= 59 && part(6) <= 59;
}

function parseRunAt(field: string, value: unknown): Date {
  const expected = 'an ISO-8601 time such as 2030-01-01T09:00:00Z (a date that exists)';
  if (!(value instanceof Date) && typeof value !== 'string') {
    throw new ValidationError(field, expected, JSON.stringify(value));
  }
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime()) || (typeof value === 'string' && !isIsoTime(value))) {
    throw new ValidationError(field, expected, JSON.stringify(value));
  }
  if (Math.abs(d.getTime() - Date.now()) > MAX_DELAY_MS)
    throw new ValidationError(field, 'a time within 10 years of now', JSON.stringify(value));
  return d;
}

/** Longest job key (tenant id). */
export const KEY_MAX = 200;

/**
 * A string of 1-`max` characters that PostgreSQL can store as text: a key "k\uD800" would otherwise be
 * stored as "k\uFFFD" (colliding with other keys), one with a NUL would fail in PostgreSQL.
 */
export function validateText(field: string, value: unknown, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max)
    throw new ValidationError(field, `a string of 1-${max} characters`, JSON.stringify(value));
  return checkText(field, value);
}

/** An idempotency key or a job key (tenant): absent (undefined or null), or validateText's string. */
function optionalKey(field: string, value: unknown, max: number): string | null {
  return value === undefined || value === null ? null : validateText(field, value, max);
}

/**
 * Validates one enqueue request and turns it into a row. `prefix` prefixes field names
 * (e.g. "line 3: " or "jobs[2].") so batch errors point at the offending entry.
 */
export function validateEnqueue(input: unknown, limits: Limits, prefix = ''): JobInsert {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError(prefix || 'job', 'an object with at least a "type"');
  }
  // Input may come straight from JSON: check every field's type, trust none.
  const spec = input as { [K in keyof EnqueueSpec]?: unknown };
  const f = (name: string): string => `${prefix}${name}`;
  const type = validateName(f('type'), spec.type);
  const queue = spec.queue === undefined ? 'default' : validateName(f('queue'), spec.queue);
  const priority =
    spec.priority === undefined ? 0 : checkInteger(f('priority'), spec.priority, PRIORITY_MIN, PRIORITY_MAX);
  const maxAttempts =
    spec.maxAttempts === undefined
      ? limits.defaultMaxAttempts
      : checkInteger(f('maxAttempts'), spec.maxAttempts, 1, MAX_ATTEMPTS_MAX);
  if (spec.runAt !== undefined && spec.delayMs !== undefined) {
    throw new ValidationError(f('runAt'), 'either runAt or a delay, not both');
  }
  const runAfter = spec.runAt === undefined ? null : parseRunAt(f('runAt'), spec.runAt);
  const delayMs = spec.delayMs === undefined ? 0 : checkInteger(f('delay'), spec.delayMs, 0, MAX_DELAY_MS);
  const idempotencyKey = optionalKey(f('idempotencyKey'), spec.idempotencyKey, IDEMPOTENCY_KEY_MAX);
  const key = optionalKey(f('key'), spec.key, KEY_MAX);
  return {
    id: uuidv7(),
    type,
    payloadJson: payloadJson(f('payload'), spec.payload, limits.maxPayloadBytes),
    queue,
    priority,
    maxAttempts,
    runAfter,
    delayMs,
    idempotencyKey,
    key,
  };
}

/** A page size in [1, max]. */
export function validateLimit(field: string, value: unknown, max = 1000): number {
  return checkInteger(field, value, 1, max);
}
