// Typed errors with stable codes. Every user-facing failure is one of these; main.ts maps them to exit
// codes and the API maps them to HTTP statuses, so messages never leak stack traces or SQL.

export type ErrorCode =
  | 'VALIDATION'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'NOT_MIGRATED'
  | 'SCHEMA_TOO_NEW'
  | 'DATABASE_UNAVAILABLE'
  | 'LEASE_LOST'
  | 'PERMANENT'
  | 'USAGE';

/** Base class: a message meant for a human, and a code meant for programs. */
export class JobqError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input: names the field and what was expected. */
export class ValidationError extends JobqError {
  constructor(
    readonly field: string,
    readonly expected: string,
    readonly got?: string,
  ) {
    super('VALIDATION', `${field}: expected ${expected}${got === undefined ? '' : `, got ${got}`}`);
  }
}

/** A command-line usage mistake (unknown flag, missing argument). */
export class UsageError extends JobqError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

export class NotFoundError extends JobqError {
  constructor(
    readonly what: string,
    readonly id: string,
  ) {
    super('NOT_FOUND', `${what} ${id} not found`);
  }
}

/** A state transition that the current state does not allow (e.g. retrying a COMPLETED job). */
export class ConflictError extends JobqError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

export class NotMigratedError extends JobqError {
  constructor(schema: string, detail = '') {
    super(
      'NOT_MIGRATED',
      `the database schema "${schema}" is not migrated${detail ? ` (${detail})` : ''}: run jobq migrate`,
    );
  }
}

export class SchemaTooNewError extends JobqError {
  constructor(schema: string, dbVersion: number, known: number) {
    super(
      'SCHEMA_TOO_NEW',
      `the database schema "${schema}" is at migration ${dbVersion}, but this jobq only knows migrations up to ${known}: upgrade jobq before using this database`,
    );
  }
}

export class DatabaseUnavailableError extends JobqError {
  constructor(detail: string) {
    super('DATABASE_UNAVAILABLE', `cannot reach PostgreSQL: ${detail}`);
  }
}

/** A completion or failure was refused because the job is no longer ours (reclaimed, cancelled, released). */
export class LeaseLostError extends JobqError {
  constructor(jobId: string) {
    super('LEASE_LOST', `lost the lease on job ${jobId}; its outcome was not recorded`);
  }
}

/** Thrown by a handler to fail a job without retrying: it goes straight to DEAD. */
export class PermanentError extends JobqError {
  constructor(message: string) {
    super('PERMANENT', message);
  }
}

/** Exit codes of the CLI, documented in the README. */
export const EXIT = {
  ok: 0,
  userError: 1,
  usage: 2,
  databaseUnavailable: 3,
  notMigrated: 4,
} as const;

/** Maps any error to the CLI exit code. */
export function exitCodeFor(err: unknown): number {
  if (!(err instanceof JobqError)) return EXIT.userError;
  switch (err.code) {
    case 'USAGE':
      return EXIT.usage;
    case 'DATABASE_UNAVAILABLE':
      return EXIT.databaseUnavailable;
    case 'NOT_MIGRATED':
    case 'SCHEMA_TOO_NEW':
      return EXIT.notMigrated;
    default:
      return EXIT.userError;
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'ECONNRESET',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EPIPE',
]);

/** True when a driver error means the server cannot be reached or the connection died. */
export function isConnectionError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e.code === 'string') {
    if (CONNECTION_CODES.has(e.code)) return true;
    // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 08xxx connection exceptions
    if (/^(57P0[123]|08)/.test(e.code)) return true;
  }
  const msg = typeof e.message === 'string' ? e.message : '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|terminating connection/i.test(
    msg,
  );
}

/**
 * Translates a PostgreSQL driver error at the SQL boundary into a JobqError where one applies
 * (connection refused → unavailable, undefined table → not migrated). Other errors pass through.
 */
export function translateDbError(err: unknown, schema: string): unknown {
  if (err instanceof JobqError) return err;
  if (isConnectionError(err)) {
    const e = err as { message?: string; code?: string };
    return new DatabaseUnavailableError(e.message || e.code || 'connection failed');
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (code === '42P01' || code === '3F000') return new NotMigratedError(schema);
  return err;
}
