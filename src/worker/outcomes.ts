// Writing a held job's outcome, fenced on (worker, attempt): failed attempts, cancellations, releases,
// and lost-lease bookkeeping; writes are retried while the database is unreachable.
import type { Executor } from '../db/connect.js';
import { LeaseLostError, isConnectionError } from '../errors.js';
import type { Logger } from '../log.js';
import { fail, finishCancelled, release, type BackoffOptions } from '../queue/index.js';
import { JobCancelledError, WorkerShutdownError, type ActiveJob } from './active-job.js';
import { Backoff } from '../backoff.js';
import type { DbHealth } from '../loop.js';
import type { JobMetrics } from './job-metrics.js';
import type { WriteGate } from './write-gate.js';

export interface OutcomesHost {
  readonly exec: Executor;
  readonly id: string;
  readonly log: Logger;
  readonly health: DbHealth;
  readonly gate: WriteGate;
  readonly jm: JobMetrics;
  readonly defaultBackoff: BackoffOptions;
  /** Jobs whose lease the worker holds, by id (an entry is removed when its outcome is settled). */
  readonly held: Map<string, ActiveJob>;
}

/** True for errors meant to skip the remaining attempts (PermanentError, also across module copies). */
function isPermanent(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; code?: unknown };
  return e.name === 'PermanentError' || e.code === 'PERMANENT';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Outcomes {
  private hardStopped = false;
  private readonly writes = new Set<Promise<unknown>>();

  constructor(private readonly h: OutcomesHost) {}

  /** Records a failed attempt (fenced): RETRY with backoff, or DEAD (out of attempts, or permanent). */
  fail(aj: ActiveJob, err: unknown): void {
    const h = this.h;
    aj.state = 'writing';
    const permanent = isPermanent(err);
    const { job, spec } = aj;
    const write = this.persist('recording a failed attempt', () =>
      fail(h.exec, {
        id: job.id,
        attempt: job.attempt,
        workerId: h.id,
        error: err,
        permanent,
        backoff: spec?.backoff ?? h.defaultBackoff,
        ...(spec?.maxAttempts !== undefined ? { maxAttempts: spec.maxAttempts } : {}),
      }),
    ).then((status) => {
      if (status === null) this.refused(aj, 'failure');
      else if (status !== undefined) {
        h.jm.finished(aj.queue, job.type, status);
        h.log.warn(
          {
            jobId: job.id,
            type: job.type,
            attempt: job.attempt,
            status,
            err: (err as Error | undefined)?.message,
          },
          status === 'DEAD' ? 'attempt failed; job is DEAD' : 'attempt failed; will retry',
        );
      }
      this.finish(aj);
    });
    this.track(write);
  }

  /** Cancel requested while running or waiting for a slot: the signal fires, the job ends CANCELLED. */
  cancel(aj: ActiveJob): void {
    const h = this.h;
    if (aj.state !== 'running' && aj.state !== 'queued') return;
    aj.state = 'writing';
    aj.abort(new JobCancelledError(aj.id));
    const write = this.persist('recording a cancellation', () =>
      finishCancelled(h.exec, h.id, aj.fence),
    ).then((ok) => {
      if (ok === true) {
        h.jm.finished(aj.queue, aj.job.type, 'CANCELLED');
        h.log.info({ jobId: aj.id, type: aj.job.type }, 'job cancelled while running');
      } else if (ok === false) this.refused(aj, 'cancellation');
      this.finish(aj);
    });
    this.track(write);
  }

  /** A completion was written (recorded) or refused by the fence. */
  completed(aj: ActiveJob, recorded: boolean): void {
    if (recorded) this.h.jm.finished(aj.queue, aj.job.type, 'COMPLETED');
    else this.refused(aj, 'completion');
    this.finish(aj);
  }

  /** The lease is gone (heartbeat or reaper says so): fire the signal, stop holding, count it. */
  lost(aj: ActiveJob): void {
    this.finish(aj);
    aj.abort(new LeaseLostError(aj.id));
    this.countLost(aj);
    this.h.log.warn(
      { jobId: aj.id, type: aj.job.type, attempt: aj.job.attempt },
      `lost the lease on job ${aj.id} (it expired and was reclaimed); its signal fired and its outcome will not be recorded`,
    );
  }

  /** A fenced write changed nothing: the lease had been lost. */
  refused(aj: ActiveJob, what: string): void {
    this.countLost(aj);
    this.h.log.warn(
      { jobId: aj.id, type: aj.job.type, attempt: aj.job.attempt },
      `${what} of job ${aj.id} refused: this worker lost its lease (the job was reclaimed, released or finished elsewhere); not recorded`,
    );
  }

  /** Fires the signals of the given jobs and hands them back (PENDING at once, attempt not counted). */
  async release(jobs: ActiveJob[], what: string, level: 'info' | 'debug' = 'info'): Promise<void> {
    const h = this.h;
    for (const aj of jobs) {
      this.finish(aj);
      aj.abort(new WorkerShutdownError());
    }
    const fences = jobs.map((aj) => aj.fence);
    const n = await bounded(
      this.persist('releasing jobs', () => h.gate.runShared(() => release(h.exec, h.id, fences))),
      10_000,
    );
    h.log[level]({ released: n ?? 0, what }, `released ${n ?? 0} ${what} job(s) for other workers`);
  }

  /** The job is settled: no longer held (its lease is not renewed any more). */
  finish(aj: ActiveJob): void {
    aj.state = 'finished';
    if (this.h.held.get(aj.id) === aj) this.h.held.delete(aj.id);
  }

  /** Keeps track of a write in the background (shutdown waits for them). */
  track(p: Promise<unknown>): void {
    this.writes.add(p);
    void p.finally(() => this.writes.delete(p));
  }

  /** Waits up to `ms` for the background writes; then stops retrying any still failing. */
  async settle(ms: number): Promise<void> {
    await bounded(Promise.allSettled([...this.writes]), ms);
    this.hardStopped = true;
  }

  /** Retries a write while the database is unreachable; undefined when it gave up. */
  async persist<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    const backoff = new Backoff();
    for (;;) {
      try {
        const r = await fn();
        this.h.health.ok();
        return r;
      } catch (err) {
        if (!isConnectionError(err)) {
          this.h.log.error({ err, what }, `${what} failed; the lease will expire and the job be reclaimed`);
          return undefined;
        }
        if (this.hardStopped) return undefined;
        const delay = backoff.next();
        this.h.health.failed(what, err, delay);
        await sleep(delay);
      }
    }
  }

  private countLost(aj: ActiveJob): void {
    if (aj.lostCounted) return;
    aj.lostCounted = true;
    this.h.jm.leaseLost(aj.queue, aj.job.type);
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
