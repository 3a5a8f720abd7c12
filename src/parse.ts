// Parsers for the text forms operators type: durations ("30s", "7d"), integers, byte sizes.
// Each throws a ValidationError naming the field on bad input.
import { ValidationError } from './errors.js';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Parses "500ms", "30s", "5m", "2h", "7d", "1w" or a bare number of seconds into milliseconds. */
export function parseDuration(field: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/.exec(text);
  if (!m)
    throw new ValidationError(field, 'a duration such as 500ms, 30s, 5m, 2h or 7d', JSON.stringify(text));
  const value = Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1000);
  if (!Number.isFinite(value) || value > 10 * 365 * 86_400_000) {
    throw new ValidationError(field, 'a duration of at most 10 years', JSON.stringify(text));
  }
  return Math.round(value);
}

/** Parses a whole number in [min, max]. */
export function parseInteger(field: string, text: string, min: number, max: number): number {
  if (!/^\s*-?\d+\s*$/.test(text))
    throw new ValidationError(field, `a whole number from ${min} to ${max}`, JSON.stringify(text));
  return checkInteger(field, Number(text), min, max);
}

/** Checks an already-numeric value is a whole number in [min, max]. */
export function checkInteger(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `a whole number from ${min} to ${max}`, JSON.stringify(value));
  }
  return value;
}

/** Formats milliseconds as a short human duration ("1.2s", "3m 4s", "2d 1h"). */
export function formatDuration(ms: number): string {
  const neg = ms < 0;
  let rest = Math.abs(ms);
  if (rest < 1000) return `${neg ? '-' : ''}${Math.round(rest)}ms`;
  if (rest < 60_000) return `${neg ? '-' : ''}${(rest / 1000).toFixed(1)}s`;
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return (neg ? '-' : '') + parts.join(' ');
}

/** Describes a JSON.parse failure by position only: V8's own message quotes the text, which may be secret. */
export function jsonErrorDetail(err: unknown): string {
  const msg = err instanceof Error ? err.message : '';
  const pos = /position (\d+)/.exec(msg)?.[1];
  if (/Unexpected end of JSON input/i.test(msg)) return 'the JSON ends too early';
  return pos === undefined ? 'not valid JSON' : `not valid JSON at position ${pos}`;
}
