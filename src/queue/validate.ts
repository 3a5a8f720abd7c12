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

/** Serialises a payload, enforcing the size cap. */
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
  // PostgreSQL jsonb rejects the NUL character; say so here rather than as an SQL error.
  if (text.includes('\\u0000')) throw new ValidationError(field, 'JSON without NUL (\\u0000) characters');
  return text;
}

function parseRunAt(field: string, value: unknown): Date {
  if (!(value instanceof Date) && typeof value !== 'string') {
    throw new ValidationError(field, 'an ISO-8601 time such as 2030-01-01T09:00:00Z', JSON.stringify(value));
  }
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime()) || (typeof value === 'string' && !/^\d{4}-\d{2}-\d{2}/.test(value))) {
    throw new ValidationError(field, 'an ISO-8601 time such as 2030-01-01T09:00:00Z', JSON.stringify(value));
  }
  if (Math.abs(d.getTime() - Date.now()) > MAX_DELAY_MS)
    throw new ValidationError(field, 'a time within 10 years of now', JSON.stringify(value));
  return d;
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
  let idempotencyKey: string | null = null;
  if (spec.idempotencyKey !== undefined && spec.idempotencyKey !== null) {
    if (
      typeof spec.idempotencyKey !== 'string' ||
      spec.idempotencyKey.length === 0 ||
      spec.idempotencyKey.length > IDEMPOTENCY_KEY_MAX
    ) {
      throw new ValidationError(
        f('idempotencyKey'),
        `a string of 1-${IDEMPOTENCY_KEY_MAX} characters`,
        JSON.stringify(spec.idempotencyKey),
      );
    }
    idempotencyKey = spec.idempotencyKey;
  }
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
  };
}

/** A page size in [1, max]. */
export function validateLimit(field: string, value: unknown, max = 1000): number {
  return checkInteger(field, value, 1, max);
}
