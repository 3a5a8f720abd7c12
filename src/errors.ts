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
  | 'WORKER_UNHEALTHY'
  | 'USAGE'
  | 'PORT_IN_USE';

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

/** How much of a bad value an error message shows: enough to recognise it, never a whole file or key. */
export const SHOWN_MAX = 120;

/** A bad value as an error message shows it: cut to SHOWN_MAX characters, with its full length. */
export function shownValue(text: string): string {
  return text.length > SHOWN_MAX ? `${text.slice(0, SHOWN_MAX - 1)}… (${text.length} characters)` : text;
}

/** Bad input: names the field and what was expected (and a short excerpt of what was given). */
export class ValidationError extends JobqError {
  constructor(
    readonly field: string,
    readonly expected: string,
    readonly got?: string,
  ) {
    super(
      'VALIDATION',
      `${field}: expected ${expected}${got === undefined ? '' : `, got ${shownValue(got)}`}`,
    );
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
  constructor(
    detail: string,
    /** The driver's error (its SQLSTATE or socket code is kept in `sqlState`). */
    override readonly cause?: unknown,
  ) {
    super('DATABASE_UNAVAILABLE', `cannot reach PostgreSQL: ${detail}`);
  }

  get sqlState(): string | undefined {
    const c = (this.cause as { code?: unknown } | undefined)?.code;
    return typeof c === 'string' ? c : undefined;
  }
}

/**
 * PostgreSQL answered but gave up on a jobq statement: a lock it waited for stayed taken past
 * JOBQ_LOCK_TIMEOUT_MS, or it ran past JOBQ_STATEMENT_TIMEOUT_MS. Same code as unavailable: the API
 * answers 503 + Retry-After, the CLI exits 3, daemons back off and retry.
 */
export class DatabaseBusyError extends DatabaseUnavailableError {
  constructor(
    readonly waitedFor: 'lock' | 'statement',
    detail: string,
    cause?: unknown,
  ) {
    super(detail, cause);
    this.message =
      waitedFor === 'lock'
        ? `PostgreSQL is reachable, but a table lock held by another session was not granted within JOBQ_LOCK_TIMEOUT_MS (${detail}); retry later`
        : `PostgreSQL is reachable, but the statement did not finish within JOBQ_STATEMENT_TIMEOUT_MS (${detail}); retry later`;
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

/** A worker gave up (too many runaway handlers): it stops and exits non-zero so its supervisor restarts it. */
export class WorkerUnhealthyError extends JobqError {
  constructor(message: string) {
    super('WORKER_UNHEALTHY', message);
  }
}

/** A TCP port jobq was told to listen on is taken by another process. */
export class PortInUseError extends JobqError {
  constructor(what: string, host: string, port: number, fix: string) {
    super(
      'PORT_IN_USE',
      `${what} cannot listen on ${host}:${port}: the port is in use by another process; ${fix}`,
    );
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
    case 'PORT_IN_USE':
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

/** How jobq treats a database error; decided here only (the SQL boundary in db/connect.ts calls it). */
export type DbErrorClass = 'unavailable' | 'timeout' | 'conflict' | 'not-migrated' | 'other';

/**
 * Classifies a driver error. unavailable: the server refused or dropped the connection (53300 too many
 * connections, 53400 configuration limit, 57P01/02/03 shutdown or starting up, 08xxx connection
 * exceptions, socket errors, pool connect timeouts) — wait it out, never a job's failure. timeout: a
 * statement or lock timeout (57014, 55P03) — the server is busy; retry later. conflict: unique, exclusion,
 * serialization or deadlock (23505, 23P01, 40001, 40P01). not-migrated: a jobq table or schema is missing.
 */
export function classifyDbError(err: unknown): DbErrorClass {
  if (typeof err !== 'object' || err === null) return 'other';
  if (err instanceof DatabaseBusyError) return 'timeout';
  if (err instanceof DatabaseUnavailableError) return 'unavailable';
  if (err instanceof NotMigratedError) return 'not-migrated';
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  // The server refusing the connection itself counts too: 28xxx (no such role, bad password), 3D000 (no such
  // database), TLS refused: daemons wait these out like an outage, the CLI says so in one line (exit 3).
  if (CONNECTION_CODES.has(code) || /^(57P0[123]|08|53300|53400|28|3D000)/.test(code)) return 'unavailable';
  if (TLS_CODES.has(code)) return 'unavailable';
  if (code === '57014' || code === '55P03') return 'timeout';
  if (code === '23505' || code === '23P01' || code === '40001' || code === '40P01') return 'conflict';
  if (code === '42P01' || code === '3F000') return 'not-migrated';
  const msg = typeof e.message === 'string' ? e.message : '';
  if (
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|terminating connection|too many clients|remaining connection slots|does not support SSL/i.test(
      msg,
    )
  )
    return 'unavailable';
  return 'other';
}

/** True when an error (translated or raw) means the database is unavailable: wait and retry. */
export function isConnectionError(err: unknown): boolean {
  return classifyDbError(err) === 'unavailable';
}

/** True for errors a retry later may cure: the database unavailable, or a statement/lock timeout. */
export function isTransientDbError(err: unknown): boolean {
  const c = classifyDbError(err);
  return c === 'unavailable' || c === 'timeout';
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** What to do about a connection error, by its code (appended to the message). */
function connectionHint(code: unknown, message: string): string {
  if (code === '3D000') return ' (create it, or fix the database name in DATABASE_URL)';
  if (code === '28000' || code === '28P01') return ' (fix the user or password in DATABASE_URL)';
  if (/does not support SSL/i.test(message))
    return ' (drop sslmode=require from DATABASE_URL, or enable SSL on the server)';
  if (typeof code === 'string' && TLS_CODES.has(code)) return ' (the server certificate was not accepted)';
  return '';
}

/** The DatabaseUnavailableError for a driver's connection error: its first line plus what to do. */
export function unavailableFrom(err: unknown): DatabaseUnavailableError {
  const e = err as { message?: unknown; code?: unknown };
  const message =
    typeof e.message === 'string' && e.message !== ''
      ? e.message
      : typeof e.code === 'string'
        ? e.code
        : 'connection failed';
  const line = message.split('\n')[0] ?? message;
  return new DatabaseUnavailableError(`${line}${connectionHint(e.code, line)}`, err);
}

/**
 * The JobqError a failure stands for, or undefined when it is unexpected (a bug: main.ts prints its
 * stack). Connection failures and a taken port are known conditions, whatever layer they surfaced in.
 */
export function describeError(err: unknown): JobqError | undefined {
  if (err instanceof JobqError) return err;
  if (isConnectionError(err)) return unavailableFrom(err);
  const e = err as { code?: unknown; address?: unknown; port?: unknown } | null;
  if (e?.code === 'EADDRINUSE')
    return new PortInUseError(
      'jobq',
      typeof e.address === 'string' ? e.address : '?',
      typeof e.port === 'number' ? e.port : 0,
      'stop it or choose another port',
    );
  return undefined;
}

/**
 * Translates a PostgreSQL driver error into a JobqError where one applies (unavailable →
 * DatabaseUnavailableError, statement/lock timeout → DatabaseBusyError, missing jobq table → NotMigratedError). Other errors pass through unchanged
 * (their SQLSTATE stays in `code`). Called at the SQL boundary (db/connect.ts), not by callers.
 */
export function translateDbError(err: unknown, schema: string): unknown {
  if (err instanceof JobqError) return err;
  const c = classifyDbError(err);
  if (c === 'unavailable') return unavailableFrom(err);
  if (c === 'timeout') {
    const e = err as { message?: string; code?: string };
    const lock = e.code === '55P03' || /lock timeout/i.test(e.message ?? '');
    return new DatabaseBusyError(lock ? 'lock' : 'statement', e.message || e.code || 'timeout', err);
  }
  if (c === 'not-migrated') return new NotMigratedError(schema);
  return err;
}
