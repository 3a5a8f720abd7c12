// The structured logger (pino, JSON lines). Daemons log to stdout; operator commands to stderr so their
// stdout stays machine-readable. Never log tokens or payloads.
import { pino, type Logger } from 'pino';

export type { Logger };

/** Creates the process logger. */
export function createLogger(level: string, destination: 1 | 2 = 1, name = 'jobq'): Logger {
  return pino(
    { name, level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ fd: destination, sync: true }),
  );
}

/** A logger that drops everything (tests, library use without a logger). */
export const silentLogger: Logger = pino({ level: 'silent' });
