// The worker's one outcome writer: every outcome (completed, failed, timed out, cancelled, released,
// deferred) is queued here and written in batches by one fenced statement, with one retry policy.
import { Backoff } from '../backoff.js';
import type { Executor } from '../db/connect.js';
import type { JobStatus } from '../db/schema.js';
import { isTransientDbError } from '../errors.js';
import type { DbHealth } from '../loop.js';
import { setOutcomes, type OutcomeItem, type RetryDefaults } from '../queue/index.js';
import type { ActiveJob } from './active-job.js';
import type { WriteGate } from './write-gate.js';

export interface OutcomeWriterDeps {
  exec: Executor;
  workerId: string;
  gate: WriteGate;
  health: DbHealth;
  /** Retry backoff of jobs whose claim recorded none, and the free releases. */
  defaults: RetryDefaults;
  /** The row was written with `status`, or refused by the fence (null: the lease was lost). */
  written(aj: ActiveJob, item: OutcomeItem, status: JobStatus | null): void;
  /** The database refuses this one item for a reason a retry will not cure (a result jsonb refuses that storableResult let through). */
  refused(aj: ActiveJob, item: OutcomeItem, err: unknown): void;
  /** The backlog went down: pools may claim again. */
  backlogCleared(): void;
}

interface Entry {
  aj: ActiveJob;
  item: OutcomeItem;
}

/**
 * Outcomes of one event-loop turn (a claimed batch of quick jobs) go out in one statement; up to two
 * flushes run at once (the next claim and the completions overlap) and outcomes arriving meanwhile wait
 * for the next flush. Measured: 20,362 jobs/s drained with batches against 3,384/s with one statement
 * per job. The retry policy: while the database is unavailable or times out, a flush is retried with the
 * shared backoff, so an outcome that can still be written is never dropped (the fence refuses it once the
 * lease is gone); a batch refused for another reason is retried item by item to find the one refused.
 */
export class OutcomeWriter {
  private pending: Entry[] = [];
  private inFlight = 0;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff();
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly d: OutcomeWriterDeps,
    /** Pools stop claiming while this many outcomes wait. */
    private readonly maxPending: number,
    private readonly maxBatch = 1000,
    private readonly maxInFlight = 2,
  ) {}

  /** Queues an outcome for the next flush. */
  add(aj: ActiveJob, item: OutcomeItem): void {
    this.pending.push({ aj, item });
    this.schedule();
  }

  /** True when claiming should wait for outcomes to be written. */
  get backlogged(): boolean {
    return this.pending.length >= this.maxPending;
  }

  get waiting(): number {
    return this.pending.length + this.inFlight;
  }

  private schedule(): void {
    if (this.scheduled || this.retryTimer || this.inFlight >= this.maxInFlight || this.pending.length === 0)
      return;
    this.scheduled = true;
    // Collect every outcome of the current event-loop turn first.
    setImmediate(() => {
      this.scheduled = false;
      while (!this.retryTimer && this.inFlight < this.maxInFlight && this.pending.length > 0)
        this.flush(this.pending.splice(0, this.maxBatch));
    });
  }

  private flush(batch: Entry[]): void {
    const d = this.d;
    this.inFlight++;
    // The next claim may overlap this write (the pipeline: claim N+1 while completing N).
    if (!this.backlogged) d.backlogCleared();
    d.gate
      .runShared(() =>
        setOutcomes(
          d.exec,
          d.workerId,
          batch.map((e) => e.item),
          d.defaults,
        ),
      )
      .then(
        (rows) => {
          this.backoff.reset();
          d.health.ok();
          const status = new Map(rows.map((r) => [r.id, r.status]));
          for (const e of batch) d.written(e.aj, e.item, status.get(e.item.id) ?? null);
        },
        (err: unknown) => {
          if (isTransientDbError(err)) {
            this.pending.unshift(...batch);
            this.retryLater(err);
          } else if (batch.length > 1) {
            d.health.failed('writing outcomes (retrying one by one)', err, 0);
            for (const e of batch) this.flush([e]);
          } else {
            for (const e of batch) d.refused(e.aj, e.item, err);
          }
        },
      )
      .finally(() => {
        this.inFlight--;
        if (!this.backlogged) d.backlogCleared();
        this.schedule();
        this.notifyIdle();
      });
  }

  private retryLater(err: unknown): void {
    if (this.retryTimer) return;
    const delay = this.backoff.next();
    this.d.health.failed('writing job outcomes', err, delay);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.schedule();
    }, delay);
  }

  private notifyIdle(): void {
    if (this.waiting > 0) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of w) resolve();
  }

  /** Resolves when every queued outcome has been written (or refused). */
  drain(): Promise<void> {
    if (this.waiting === 0) return Promise.resolve();
    this.schedule();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Gives up on unwritten outcomes (shutdown with the database down); returns how many. */
  abandon(): number {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const n = this.pending.length;
    this.pending = [];
    this.notifyIdle();
    return n;
  }
}
