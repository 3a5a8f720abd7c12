// What a handler produces, made storable: errors become a message and a stack head PostgreSQL can store
// (no NUL, no lone surrogates), results must be JSON within the size limit — else the attempt fails with a
// message naming the problem, never a silent null.
import { ValidationError } from '../errors.js';
import { DEFAULT_LIMITS } from './types.js';
import { LONE_SURROGATE, checkJsonTextOf } from './validate.js';

const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/** Removes NUL characters and replaces lone UTF-16 surrogates with U+FFFD (text and jsonb refuse both). */
export function storableText(s: string): string {
  return s.replaceAll('\u0000', '').replace(LONE_SURROGATES, '\ufffd');
}

/** The message (at most 2,000 characters) and the stack head (6 lines) of anything a handler threw. */
export function storableError(err: unknown): { message: string; stack: string | null } {
  let e: { message?: unknown; name?: unknown; stack?: unknown };
  if (typeof err === 'object' && err !== null) e = err;
  else if (typeof err === 'string') e = { message: err };
  else e = { message: `a non-Error value was thrown: ${String(err)}` };
  const text = (v: unknown): string => {
    if (typeof v === 'string') return v;
    try {
      // JSON.stringify returns undefined for undefined and functions, though typed as string.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
      return JSON.stringify(v) ?? String(v);
    } catch {
      return String(v);
    }
  };
  const message = text(e.message ?? '') || text(e.name ?? '') || 'an error without a message';
  const stack = typeof e.stack === 'string' ? e.stack.split('\n').slice(0, 6).join('\n') : null;
  return {
    message: storableText(message).slice(0, 2000),
    stack: stack === null ? null : storableText(stack),
  };
}

/** A result's JSON text, or the reason it cannot be stored. undefined (no return value) stores null. */
export type StorableResult = { ok: true; json: string | null } | { ok: false; message: string };

/** Default result size limit: the payload limit (JOBQ_MAX_RESULT_BYTES). */
export const DEFAULT_MAX_RESULT_BYTES = DEFAULT_LIMITS.maxPayloadBytes;

/**
 * Checks that a handler's result can be stored as jsonb: JSON-serialisable (no BigInt, no cycle, not a
 * function or symbol), within `maxBytes` as UTF-8 JSON, and without text jsonb refuses (NUL, unpaired
 * surrogates; the message names the spot). What PostgreSQL still refuses, the worker reports the same way.
 */
export function storableResult(value: unknown, maxBytes = DEFAULT_MAX_RESULT_BYTES): StorableResult {
  if (value === undefined) return { ok: true, json: null };
  const kind = typeof value;
  if (kind === 'function' || kind === 'symbol')
    return {
      ok: false,
      message: `could not store the job's result: the handler returned a ${kind}, which is not JSON`,
    };
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return { ok: false, message: `could not store the job's result: it is not JSON-serialisable (${why})` };
  }
  // (undefined for a value JSON has no text for, though typed as string)
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
  if (json === undefined) return { ok: true, json: null };
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes)
    return {
      ok: false,
      message: `could not store the job's result: it is ${bytes} bytes as JSON, more than the ${maxBytes} allowed (JOBQ_MAX_RESULT_BYTES); store large data elsewhere and return a reference`,
    };
  try {
    checkJsonTextOf('result', value, json);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    return { ok: false, message: `could not store the job's result: ${err.message}` };
  }
  return { ok: true, json };
}
