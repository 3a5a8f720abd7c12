// The structured logger (pino). Daemons log to stdout; operator commands to stderr so their stdout stays
// machine-readable. Lines are JSON for machines, or short human-readable lines (time, level, message,
// key=value) when the format is "pretty", or "auto" and the destination is a terminal. Never log tokens
// or payloads.
import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogFormat } from './config.js';

export type { Logger };

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};
const LEVEL_COLOURS: Record<number, string> = { 40: '\x1b[33m', 50: '\x1b[31m', 60: '\x1b[31m' };
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name']);

function shown(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  if (value && typeof value === 'object' && 'message' in value && 'type' in value) {
    const e = value as { message: unknown; stack?: unknown };
    return JSON.stringify(typeof e.stack === 'string' ? e.stack : e.message);
  }
  return JSON.stringify(value); // a value parsed from JSON always serialises
}

/** Formats one pino JSON line for a person: "12:00:01 INFO  message key=value …". */
export function prettyLine(json: string, colour: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const level = typeof rec.level === 'number' ? rec.level : 30;
  const time = typeof rec.time === 'string' ? rec.time.slice(11, 19) : '';
  const extras = Object.entries(rec)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${shown(v)}`);
  const name = LEVEL_NAMES[level] ?? String(level);
  const paint = colour ? (LEVEL_COLOURS[level] ?? '') : '';
  const head = paint ? `${paint}${name}\x1b[0m` : name;
  const dim = (s: string): string => (colour && s ? `\x1b[2m${s}\x1b[0m` : s);
  const msg = typeof rec.msg === 'string' ? rec.msg : '';
  return `${dim(time)} ${head} ${msg}${extras.length ? ` ${dim(extras.join(' '))}` : ''}\n`;
}

/** A synchronous destination that writes pretty lines to the fd. */
function prettyDestination(fd: number, colour: boolean): DestinationStream {
  return {
    write(line: string): void {
      writeSync(fd, prettyLine(line, colour));
    },
  };
}

/** True when the format asks for pretty lines on this file descriptor. */
export function usePretty(format: LogFormat, fd: number): boolean {
  return format === 'pretty' || (format === 'auto' && isatty(fd));
}

/** Creates the process logger. */
export function createLogger(
  level: string,
  destination: 1 | 2 = 1,
  name = 'jobq',
  format: LogFormat = 'json',
): Logger {
  const stream = usePretty(format, destination)
    ? prettyDestination(destination, isatty(destination))
    : pino.destination({ fd: destination, sync: true });
  return pino({ name, level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
}

/** A logger that drops everything (tests, library use without a logger). */
export const silentLogger: Logger = pino({ level: 'silent' });
