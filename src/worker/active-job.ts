// One claimed attempt the worker holds (its state and lazily created AbortSignal), the abort reasons,
// and the ctx a handler gets.
import type { Transaction } from 'kysely';
import type { Logger } from '../log.js';
import type { ClaimedJob } from '../queue/index.js';
import type { HandlerContext, JobInfo, ResolvedHandler } from './types.js';

/**
 * States: queued (claimed ahead, waiting for a slot) → running → settling (its outcome is queued for or
 * being written by the outcome writer) | committing (inside ctx.transaction's completion) → finished
 * (recorded, refused, released or lost). Only queued and running jobs can be cancelled or declared lost;
 * only running ones time out. The state changes only through the methods below.
 */
export type JobState = 'queued' | 'running' | 'settling' | 'committing' | 'finished';

/** Why a job's signal fired (signal.reason). */
export class JobCancelledError extends Error {
  constructor(jobId: string) {
    super(`job ${jobId} was cancelled`);
    this.name = 'JobCancelledError';
  }
}

export class JobTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`handler timed out after ${timeoutMs}ms`);
    this.name = 'JobTimeoutError';
  }
}

export class WorkerShutdownError extends Error {
  constructor() {
    super('worker shutting down: grace period over, job released for another worker');
    this.name = 'WorkerShutdownError';
  }
}

/** A handler's result that cannot be stored (not JSON, too large); the attempt fails permanently. */
export class UnstorableResultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnstorableResultError';
  }
}

/** Runs ctx.transaction: fn's writes and the job's fenced completion commit together (job-transaction.ts). */
export interface ContextTransactions {
  run<R>(aj: ActiveJob, fn: (trx: Transaction<unknown>) => Promise<R>): Promise<R>;
}

export class ActiveJob {
  private current: JobState = 'queued';
  timer: NodeJS.Timeout | undefined;
  /** The slot was given back before the handler returned (timed out and ignored its signal). */
  slotFreed = false;
  /** Timed out and still holding its slot (the grace): the jobs table no longer shows it RUNNING. */
  overtime = false;
  /** ctx.transaction could not get a database connection: not the handler's failure. */
  dbUnavailable: unknown;
  txUsed = false;
  /** ctx.transaction committed the completion; the handler's own outcome no longer matters. */
  completedInTx = false;
  /** The lease loss was counted (once per attempt). */
  lostCounted = false;
  /** performance.now() when the handler started, and when it was queued for a slot (claim-ahead). */
  t0 = 0;
  queuedAt = 0;
  private controller: AbortController | undefined;
  private reason: Error | undefined;

  constructor(
    readonly job: ClaimedJob,
    readonly spec: ResolvedHandler | undefined,
    readonly queue: string,
  ) {}

  get state(): JobState {
    return this.current;
  }

  /** queued → running (a slot took it). */
  start(): void {
    this.current = 'running';
  }

  /** running or queued → settling: its outcome is decided; false when it already was. */
  settle(): boolean {
    if (this.current !== 'running' && this.current !== 'queued') return false;
    this.current = 'settling';
    return true;
  }

  /** running → committing (ctx.transaction writes the completion), and back when that rolled back. */
  commit(): void {
    this.current = 'committing';
  }

  rolledBack(): void {
    if (this.current === 'committing') this.current = 'running';
  }

  /** settling → running: the database refused the outcome's content; another outcome is decided. */
  reopen(): void {
    if (this.current === 'settling') this.current = 'running';
  }

  /** → finished: recorded, refused, released or lost; the lease is no longer renewed. */
  finish(): void {
    this.current = 'finished';
  }

  get id(): string {
    return this.job.id;
  }

  get attempt(): number {
    return this.job.attempt;
  }

  get fence(): { id: string; attempt: number } {
    return { id: this.job.id, attempt: this.job.attempt };
  }

  get abortReason(): Error | undefined {
    return this.reason;
  }

  /** The AbortSignal, created on first use (most handlers never look at it). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Fires the signal (once). */
  abort(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

/** The ctx a handler gets; log and job info are built on first use. */
export class JobContext implements HandlerContext {
  private info: JobInfo | undefined;
  private logger: Logger | undefined;

  constructor(
    private readonly aj: ActiveJob,
    /** The worker's logger (the job's is a child of it). */
    private readonly workerLog: Logger,
    private readonly transactions: ContextTransactions,
  ) {}

  get job(): JobInfo {
    const j = this.aj.job;
    this.info ??= {
      id: j.id,
      type: j.type,
      queue: j.queue,
      attempt: j.attempt,
      maxAttempts: this.aj.spec?.maxAttempts ?? j.maxAttempts,
      priority: j.priority,
      createdAt: j.createdAt,
    };
    return this.info;
  }

  get signal(): AbortSignal {
    return this.aj.signal;
  }

  get log(): Logger {
    const j = this.aj.job;
    this.logger ??= this.workerLog.child({ jobId: j.id, type: j.type, queue: j.queue, attempt: j.attempt });
    return this.logger;
  }

  transaction<R, DB = unknown>(fn: (trx: Transaction<DB>) => Promise<R>): Promise<R> {
    return this.transactions.run(this.aj, fn as (trx: Transaction<unknown>) => Promise<R>);
  }
}
