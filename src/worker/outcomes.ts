// How a held job's attempt ends, decided in one place: completed (result checked), failed, timed out,
// cancelled, released (graceful shutdown), deferred (never started, or no database connection for the
// handler), or lost. Each decision goes to the one outcome writer; its answer is booked here.
import type { JobStatus } from '../db/schema.js';
import { LeaseLostError } from '../errors.js';
import type { Logger } from '../log.js';
import { storableError, storableResult, type OutcomeItem, type Reclaimed } from '../queue/index.js';
import {
  JobCancelledError,
  UnstorableResultError,
  WorkerShutdownError,
  type ActiveJob,
} from './active-job.js';
import type { FinalStatus, JobMetrics } from './job-metrics.js';

export interface OutcomesDeps {
  workerId: string;
  log: Logger;
  jm: JobMetrics;
  /** Jobs whose lease the worker holds, by id (an entry is removed when its outcome is settled). */
  held: Map<string, ActiveJob>;
  maxResultBytes: number;
  /** The one outcome writer (outcome-writer.ts); its answers come back to written() and refusedItem(). */
  writer: { add(aj: ActiveJob, item: OutcomeItem): void };
}

/** True for errors meant to skip the remaining attempts (PermanentError, also across module copies). */
function isPermanent(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; code?: unknown };
  return e.name === 'PermanentError' || e.code === 'PERMANENT' || err instanceof UnstorableResultError;
}

export class Outcomes {
  constructor(private readonly d: OutcomesDeps) {}

  private write(aj: ActiveJob, item: Omit<OutcomeItem, 'id' | 'attempt'>): void {
    this.d.writer.add(aj, { id: aj.id, attempt: aj.attempt, ...item });
  }

  /** The handler returned: COMPLETED with its result, or a failed attempt when the result cannot be stored. */
  completed(aj: ActiveJob, value: unknown): void {
    const r = storableResult(value, this.d.maxResultBytes);
    if (!r.ok) return this.failed(aj, new UnstorableResultError(r.message));
    if (aj.settle()) this.write(aj, { kind: 'complete', resultJson: r.json });
  }

  /** A failed attempt: RETRY with backoff, or DEAD (out of attempts, or permanent). */
  failed(aj: ActiveJob, err: unknown): void {
    if (!aj.settle()) return;
    const e = storableError(err);
    this.write(aj, {
      kind: 'fail',
      message: e.message,
      stack: e.stack,
      permanent: isPermanent(err),
      maxAttempts: aj.spec?.maxAttempts ?? null,
    });
  }

  /** Cancel requested while running or waiting for a slot: the signal fires, the job ends CANCELLED. */
  cancel(aj: ActiveJob): void {
    if (!aj.settle()) return;
    aj.abort(new JobCancelledError(aj.id));
    this.write(aj, { kind: 'cancel' });
  }

  /**
   * Graceful shutdown: fires the signals and hands the jobs back (PENDING at once). Running jobs are
   * released (not counted, up to FREE_RELEASES times); jobs that never started are deferred (never counted).
   */
  release(jobs: ActiveJob[]): void {
    for (const aj of jobs) {
      const started = aj.state === 'running';
      if (!aj.settle()) continue;
      aj.abort(new WorkerShutdownError());
      if (started)
        this.write(aj, {
          kind: 'release',
          message: 'released by a graceful shutdown of its worker before it finished',
        });
      else this.write(aj, { kind: 'defer', delayMs: 0 });
    }
  }

  /** Hands a job back without counting an attempt, ready after `delayMs` (e.g. no database connection). */
  defer(aj: ActiveJob, delayMs: number, why: string): void {
    if (!aj.settle()) return;
    this.d.log.info({ jobId: aj.id, type: aj.job.type, delayMs }, `job ${aj.id} handed back: ${why}`);
    this.write(aj, { kind: 'defer', delayMs });
  }

  /** The writer's answer: book the outcome (metrics, logs), stop holding the job. */
  written(aj: ActiveJob, item: OutcomeItem, status: JobStatus | null): void {
    const { jm, log } = this.d;
    this.finish(aj);
    if (status === null) return this.refusedByFence(aj, item.kind);
    if (item.kind === 'release' || item.kind === 'defer') {
      if (status !== 'PENDING') {
        jm.finished(aj.queue, aj.job.type, status as FinalStatus);
        log.warn(
          { jobId: aj.id, type: aj.job.type, attempt: aj.attempt, status },
          `job ${aj.id} released once too often without finishing: counted as a failed attempt (${status})`,
        );
      }
      return;
    }
    jm.finished(aj.queue, aj.job.type, status as FinalStatus);
    if (item.kind === 'fail')
      log.warn(
        { jobId: aj.id, type: aj.job.type, attempt: aj.attempt, status, err: item.message },
        status === 'DEAD' ? 'attempt failed; job is DEAD' : 'attempt failed; will retry',
      );
    else if (item.kind === 'cancel')
      log.info({ jobId: aj.id, type: aj.job.type }, 'job cancelled while running');
  }

  /** The database refused the item itself (not an outage): a result it cannot store fails the attempt. */
  refusedItem(aj: ActiveJob, item: OutcomeItem, err: unknown): void {
    const why = storableError(err).message;
    if (item.kind === 'complete') {
      aj.reopen();
      return this.failed(aj, new UnstorableResultError(`could not store the job's result: ${why}`));
    }
    if (item.kind === 'fail' && item.stack !== null) {
      // Retry once with the bare minimum (the error text itself was refused).
      this.write(aj, { ...item, message: `the error could not be stored: ${why}`, stack: null });
      return;
    }
    this.finish(aj);
    this.d.log.error(
      { jobId: aj.id, kind: item.kind, err },
      `writing the ${item.kind} of job ${aj.id} failed; the lease will expire and the job be reclaimed`,
    );
  }

  /** The heartbeat's answer: `held` maps each still-held id to whether cancellation was requested. */
  leasesChecked(sent: string[], held: Map<string, boolean>): void {
    for (const id of sent) {
      const aj = this.d.held.get(id);
      if (aj?.state !== 'running' && aj?.state !== 'queued') continue;
      const cancelRequested = held.get(id);
      if (cancelRequested === undefined) this.lost(aj);
      else if (cancelRequested) this.cancel(aj);
    }
  }

  /** Cancellation was requested (NOTIFY) for these ids: those this worker holds are cancelled. */
  cancelRequested(ids: string[]): void {
    for (const id of ids) {
      const aj = this.d.held.get(id);
      if (aj) this.cancel(aj);
    }
  }

  /** The reaper's answer: count the reclaimed jobs; any this worker still held has lost its lease. */
  reclaimed(rows: Reclaimed[]): void {
    for (const r of rows) {
      this.d.jm.reclaimed(r.queue, r.type, r.status);
      const mine = r.lockedBy === this.d.workerId ? this.d.held.get(r.id) : undefined;
      if (mine?.state === 'running' || mine?.state === 'queued') this.lost(mine);
    }
    this.d.log.info(
      { count: rows.length, from: [...new Set(rows.map((r) => r.lockedBy))] },
      `reclaimed ${rows.length} job(s) whose lease expired`,
    );
  }

  /** The lease is gone (heartbeat or reaper says so): fire the signal, stop holding, count it. */
  lost(aj: ActiveJob): void {
    this.finish(aj);
    aj.abort(new LeaseLostError(aj.id));
    this.countLost(aj);
    this.d.log.warn(
      { jobId: aj.id, type: aj.job.type, attempt: aj.attempt },
      `lost the lease on job ${aj.id} (it expired and was reclaimed); its signal fired and its outcome will not be recorded`,
    );
  }

  /** A fenced write changed nothing: the lease had been lost. */
  refusedByFence(aj: ActiveJob, what: string): void {
    this.countLost(aj);
    this.d.log.warn(
      { jobId: aj.id, type: aj.job.type, attempt: aj.attempt },
      `${what} of job ${aj.id} refused: this worker lost its lease (the job was reclaimed, released or finished elsewhere); not recorded`,
    );
  }

  /** The job is settled: no longer held (its lease is not renewed any more). */
  finish(aj: ActiveJob): void {
    aj.finish();
    if (this.d.held.get(aj.id) === aj) this.d.held.delete(aj.id);
  }

  private countLost(aj: ActiveJob): void {
    if (aj.lostCounted) return;
    aj.lostCounted = true;
    this.d.jm.leaseLost(aj.queue, aj.job.type);
  }
}

/** Resolves with p's value, or undefined after `ms`. */
export function bounded<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
  ]).finally(() => clearTimeout(timer));
}
