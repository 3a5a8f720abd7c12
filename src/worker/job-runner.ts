// Running a claimed job: its handler with a context and a timeout that holds (a handler ignoring its
// signal past the grace becomes a runaway: slot given back, counted, and too many fail the worker), the
// handler's return or throw handed to the outcomes, and event-loop stalls reported.
import { Backoff } from '../backoff.js';
import type { Executor } from '../db/connect.js';
import { WorkerUnhealthyError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ClaimedJob } from '../queue/index.js';
import { recordWorkerOvertime, recordWorkerStall } from '../queue/registry.js';
import { ActiveJob, JobContext, JobTimeoutError, type ContextTransactions } from './active-job.js';
import { unknownTypeMessage } from './handlers.js';
import type { JobMetrics } from './job-metrics.js';
import type { WorkerSettings } from './options.js';
import type { Outcomes } from './outcomes.js';
import type { QueuePool } from './queue-pool.js';
import type { ResolvedHandler } from './types.js';

export interface RunnerDeps {
  workerId: string;
  exec: Executor;
  handlers: Map<string, ResolvedHandler>;
  held: Map<string, ActiveJob>;
  outcomes: Outcomes;
  jm: JobMetrics;
  metrics: Metrics;
  log: Logger;
  settings: WorkerSettings;
  /** ctx.transaction of the jobs it runs. */
  transactions: ContextTransactions;
  /** Too many runaways: the worker stops claiming and fails. */
  unhealthy(err: Error): void;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

export class JobRunner {
  /** Handlers still running after their timeout and grace (their slots were given back). */
  runaways = 0;
  /** Queue → slots held by handlers past their timeout, in their grace. */
  private readonly overtime = new Map<string, number>();
  private reported: Promise<void> = Promise.resolve();

  constructor(private readonly d: RunnerDeps) {}

  /** A slot held past a timeout was taken (+1) or given back (-1). */
  private overtimeChanged(aj: ActiveJob, by: 1 | -1): void {
    aj.overtime = by === 1;
    const n = (this.overtime.get(aj.queue) ?? 0) + by;
    if (n > 0) this.overtime.set(aj.queue, n);
    else this.overtime.delete(aj.queue);
    this.report();
  }

  /**
   * Writes the held slots and the runaways to the worker's registration (explain counts the slots as
   * busy; `jobq workers` shows both), one write after another so the last one written is the latest.
   */
  private report(): void {
    const overtime = Object.fromEntries(this.overtime);
    const runaways = this.runaways;
    this.reported = this.reported
      .then(() => recordWorkerOvertime(this.d.exec, this.d.workerId, overtime, runaways))
      .catch((err: unknown) => this.d.log.debug({ err }, 'could not record the overtime slots'));
  }

  accept(jobs: ClaimedJob[], pool: QueuePool): ActiveJob[] {
    const runnable: ActiveJob[] = [];
    for (const job of jobs) {
      const spec = this.d.handlers.get(job.type);
      const aj = new ActiveJob(job, spec, pool.name);
      this.d.held.set(job.id, aj);
      if (spec) runnable.push(aj);
      else
        this.d.outcomes.failed(
          aj,
          new Error(unknownTypeMessage(job.type, this.d.workerId, this.d.handlers.keys())),
        );
    }
    return runnable;
  }

  run(aj: ActiveJob, pool: QueuePool): void {
    const { job, spec } = aj;
    if (!spec) return pool.releaseUnrun();
    aj.start();
    aj.t0 = performance.now();
    this.d.jm.started(pool.name, Math.max(job.runAfter.getTime(), job.createdAt.getTime()), Date.now());
    const ms = spec.timeoutMs ?? this.d.settings.jobTimeoutMs;
    if (ms > 0) aj.timer = setTimeout(() => this.timedOut(aj, pool, ms), ms);
    let out: unknown;
    try {
      out = spec.handler(job.payload, new JobContext(aj, this.d.log, this.d.transactions));
    } catch (err) {
      this.settled(aj, pool, false, err);
      return;
    }
    if (isThenable(out))
      out.then(
        (v) => this.settled(aj, pool, true, v),
        (e: unknown) => this.settled(aj, pool, false, e),
      );
    else this.settled(aj, pool, true, out);
  }

  private settled(aj: ActiveJob, pool: QueuePool, ok: boolean, value: unknown): void {
    const ms = performance.now() - aj.t0;
    if (aj.timer) clearTimeout(aj.timer);
    aj.timer = undefined;
    if (aj.slotFreed) {
      this.runaways--;
      this.d.metrics.workerRunawaysRunning.set(this.runaways);
      this.report();
      this.d.log.warn(
        { jobId: aj.id, type: aj.job.type, ms: Math.round(ms) },
        'a runaway handler finally returned',
      );
    } else {
      if (aj.overtime) this.overtimeChanged(aj, -1); // returned within the grace
      pool.release(ms);
    }
    aj.slotFreed = true; // (settled once)
    this.d.jm.duration(aj.queue, aj.job.type, ms / 1000);
    if (aj.state === 'running') {
      if (aj.dbUnavailable !== undefined) {
        const delay = new Backoff().next();
        return this.d.outcomes.defer(
          aj,
          delay,
          'no database connection for its ctx.transaction (not counted)',
        );
      }
      if (ok) this.d.outcomes.completed(aj, value);
      else this.d.outcomes.failed(aj, value);
      return;
    }
    if (aj.completedInTx) {
      if (!ok)
        this.d.log.warn(
          { jobId: aj.id, err: value },
          'handler threw after its ctx.transaction committed; the job stays COMPLETED',
        );
      return;
    }
    this.d.log.info(
      { jobId: aj.id, type: aj.job.type, attempt: aj.job.attempt, outcome: ok ? 'returned' : 'threw' },
      `late outcome of job ${aj.id} ignored: ${aj.abortReason?.message ?? 'the job is no longer held by this worker'}`,
    );
  }

  /**
   * The timeout passed: the attempt fails at once and the signal fires. A handler that ignores its
   * signal past the grace becomes a runaway: its slot is given back, it is counted and logged, and a
   * worker with more runaways than the bound stops claiming and fails (its supervisor restarts it).
   */
  private timedOut(aj: ActiveJob, pool: QueuePool, ms: number): void {
    if (aj.state !== 'running') return;
    const err = new JobTimeoutError(ms);
    // (recorded before the failure is handed to the writer, so explain never sees the slot as free)
    this.overtimeChanged(aj, 1);
    aj.abort(err);
    this.d.outcomes.failed(aj, err);
    aj.timer = setTimeout(() => {
      aj.timer = undefined;
      if (aj.slotFreed) return;
      aj.slotFreed = true;
      this.runaways++;
      this.overtimeChanged(aj, -1);
      pool.release(performance.now() - aj.t0);
      this.d.metrics.workerRunaways.inc({ queue: aj.queue, type: aj.job.type });
      this.d.metrics.workerRunawaysRunning.set(this.runaways);
      this.d.log.error(
        {
          jobId: aj.id,
          type: aj.job.type,
          timeoutMs: ms,
          graceMs: this.d.settings.timeoutGraceMs,
          runaways: this.runaways,
        },
        `runaway handler: job ${aj.id} ignored its signal ${this.d.settings.timeoutGraceMs}ms after timing out; its slot was given back`,
      );
      if (this.runaways > this.d.settings.maxRunaways)
        this.d.unhealthy(
          new WorkerUnhealthyError(
            `${this.runaways} runaway handlers (more than ${this.d.settings.maxRunaways}) keep running after their timeout; stopping so the supervisor restarts this worker`,
          ),
        );
    }, this.d.settings.timeoutGraceMs);
  }

  /** The event loop was blocked for `ms`: log, count, and record it for explain. */
  stalled(ms: number): void {
    this.d.metrics.workerEventLoopStalls.inc();
    this.d.metrics.workerEventLoopStallSeconds.set(ms / 1000);
    this.d.log.warn(
      { stallMs: Math.round(ms), leaseMs: this.d.settings.leaseMs },
      `event loop blocked for ${Math.round(ms)}ms (leases are renewed every ${Math.floor(this.d.settings.leaseMs / 3)}ms): a handler is doing CPU-bound work on the main thread?`,
    );
    recordWorkerStall(this.d.exec, this.d.workerId, ms).catch((err: unknown) =>
      this.d.log.debug({ err }, 'could not record the stall'),
    );
  }
}
