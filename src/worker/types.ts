// The shapes a handler author sees: a handler, its per-type options, and the context it is given.
// A handlers module maps job type → handler (a function, or { handler, timeoutMs?, maxAttempts?, backoff? }).
import type { Transaction } from 'kysely';
import type { Logger } from '../log.js';
import type { BackoffOptions } from '../backoff.js';

/** The job a handler is running (one attempt of it). */
export interface JobInfo {
  id: string;
  type: string;
  queue: string;
  /** 1-based number of this attempt. */
  attempt: number;
  /** Attempts allowed before the job goes DEAD (the handler's maxAttempts when it sets one). */
  maxAttempts: number;
  priority: number;
  /** When the job was created. */
  createdAt: Date;
}

/** What a handler gets besides its payload. */
export interface HandlerContext {
  job: JobInfo;
  /**
   * Fires when the attempt should stop: the job was cancelled, the worker lost its lease, the worker is
   * shutting down past its grace period, or the handler's timeout passed. `signal.reason` says which.
   */
  readonly signal: AbortSignal;
  /** A logger bound to the job (jobId, type, queue, attempt). Never log secrets or whole payloads. */
  readonly log: Logger;
  /**
   * Runs `fn` in a database transaction and completes the job in that same transaction (fenced on this
   * worker and attempt): `fn`'s writes and the COMPLETED status commit together or not at all, so
   * effects in this database happen exactly once. The job's result is what `fn` returns. Call it at most
   * once per attempt, as the handler's last step; throws LeaseLostError (and rolls back) when the job is
   * no longer this worker's.
   */
  transaction<R, DB = unknown>(fn: (trx: Transaction<DB>) => Promise<R>): Promise<R>;
}

/** A job handler: resolves to the job's result (any JSON value), throws to fail the attempt. */
export type Handler<P = unknown, R = unknown> = (payload: P, ctx: HandlerContext) => Promise<R> | R;

/** A handler with per-type options. */
export interface HandlerSpec<P = unknown, R = unknown> {
  handler: Handler<P, R>;
  /** Abort the attempt (signal fires, attempt fails and is retried) when it runs longer than this. */
  timeoutMs?: number;
  /** Overrides the job's max_attempts for this type (recorded on the job when an attempt fails). */
  maxAttempts?: number;
  /** Retry backoff for this type (full jitter): delay = random(0, min(maxMs, baseMs * 2^(attempt-1))). */
  backoff?: Partial<BackoffOptions>;
}

/** What a handlers module exports: job type → handler or handler spec. */
export type HandlerMap = Record<string, Handler<never> | HandlerSpec<never>>;

/** A handler spec after validation, with defaults applied. */
export interface ResolvedHandler {
  type: string;
  handler: Handler;
  timeoutMs: number | undefined;
  maxAttempts: number | undefined;
  backoff: BackoffOptions;
}
