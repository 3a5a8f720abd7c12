// One queue's pool of slots and its claim loop. A claim is sized to the free slots (capped by the claim
// batch); a full batch means more work is waiting, so the pool claims again at once (and lets a second
// claim run alongside); a short batch means the queue is drained, and the pool waits for a wake-up (NOTIFY,
// the jittered poll, a reclaim). Slots freed during one event-loop turn are refilled by one claim.
import type { Executor } from '../db/connect.js';
import { claim, type ClaimedJob } from '../queue/index.js';
import { Backoff, type DbHealth } from './db-retry.js';

export interface PoolHost {
  readonly exec: Executor;
  readonly id: string;
  readonly health: DbHealth;
  readonly leaseMs: number;
  readonly starvationMs: number;
  readonly claimBatch: number;
  /** False once the worker stops claiming. */
  readonly claiming: boolean;
  /** True while completions wait to be written in such numbers that claiming should pause. */
  readonly backlogged: boolean;
  /** Starts the handlers of freshly claimed jobs (the pool has already counted them as running). */
  startJobs(jobs: ClaimedJob[], pool: QueuePool): void;
  /** A slot was freed (for shutdown's wait). */
  slotFreed(): void;
}

export class QueuePool {
  running = 0;
  /** Claim statements issued (for stats and tests). */
  claims = 0;
  private reserved = 0;
  claimsInFlight = 0;
  private wakeSeq = 0;
  /** Work may be waiting (a wake-up arrived, or the last claim came back full). */
  private wanted = true;
  private lastFull = false;
  private pumpScheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff();
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly name: string,
    readonly slots: number,
    private readonly host: PoolHost,
    private readonly maxClaimsInFlight = 2,
  ) {}

  /** Work may have arrived in this queue: claim if slots are free. */
  wake(): void {
    this.wakeSeq++;
    this.wanted = true;
    this.pump();
  }

  /** A handler finished: refill its slot (batched with others freed in the same turn). */
  release(): void {
    this.running--;
    this.host.slotFreed();
    if (this.wanted && !this.pumpScheduled) {
      this.pumpScheduled = true;
      setImmediate(() => {
        this.pumpScheduled = false;
        this.pump();
      });
    }
  }

  /** Nothing running and no claim in flight. */
  get idle(): boolean {
    return this.running === 0 && this.claimsInFlight === 0;
  }

  /** Resolves when no claim is in flight. */
  claimsSettled(): Promise<void> {
    if (this.claimsInFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Issues claims while slots are free and work may be waiting. */
  pump(): void {
    const h = this.host;
    while (h.claiming && this.wanted && !this.retryTimer && !h.backlogged) {
      const free = this.slots - this.running - this.reserved;
      if (free <= 0) return;
      // A second claim alongside the first only when the queue is known to be busy.
      if (this.claimsInFlight > 0 && (!this.lastFull || this.claimsInFlight >= this.maxClaimsInFlight))
        return;
      this.claimOnce(Math.min(free, h.claimBatch));
    }
  }

  private claimOnce(limit: number): void {
    const h = this.host;
    const seq = this.wakeSeq;
    this.reserved += limit;
    this.claimsInFlight++;
    this.claims++;
    claim(h.exec, {
      queue: this.name,
      workerId: h.id,
      limit,
      leaseMs: h.leaseMs,
      starvationMs: h.starvationMs,
    }).then(
      (jobs) => {
        this.settle(limit);
        this.backoff.reset();
        h.health.ok();
        this.lastFull = jobs.length === limit;
        if (!this.lastFull && this.wakeSeq === seq) this.wanted = false;
        if (jobs.length > 0) {
          this.running += jobs.length;
          h.startJobs(jobs, this);
        }
        this.pump();
      },
      (err: unknown) => {
        this.settle(limit);
        this.lastFull = false;
        if (this.retryTimer) return;
        const delay = this.backoff.next();
        h.health.failed(`claiming from queue ${this.name}`, err, delay);
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.wanted = true;
          this.pump();
        }, delay);
      },
    );
  }

  private settle(limit: number): void {
    this.reserved -= limit;
    this.claimsInFlight--;
    if (this.claimsInFlight === 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of w) resolve();
    }
  }

  /** Stops retrying (shutdown). */
  stop(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}
