// One queue's pool of slots and its claim loop: claims sized to the room left, repeated at once after a
// full batch, woken otherwise by NOTIFY, the poll or a reclaim; plus a claim-ahead buffer (see below).
import type { Executor } from '../db/connect.js';
import { claimFlow, type ClaimedJob, type ThrottleReason } from '../queue/index.js';
import type { ActiveJob } from './active-job.js';
import { Backoff } from '../backoff.js';
import type { DbHealth } from '../loop.js';

export interface PoolHost {
  /** Where claims run (named prepared statements unless the connection cannot keep them). */
  readonly claimExec: Executor;
  readonly id: string;
  readonly health: DbHealth;
  readonly leaseMs: number;
  readonly starvationMs: number;
  readonly claimBatch: number;
  /** The per-type retry policy the claim records on each row (JSON). */
  readonly claimRetryPolicy: string;
  /** False once the worker stops claiming. */
  readonly claiming: boolean;
  /** True while completions wait to be written in such numbers that claiming should pause. */
  readonly backlogged: boolean;
  /** Takes freshly claimed jobs into the worker's care; returns those that have a handler to run. */
  accept(jobs: ClaimedJob[], pool: QueuePool): ActiveJob[];
  /** Starts a job's handler (the pool has counted it as running). */
  run(aj: ActiveJob, pool: QueuePool): void;
  /** A slot was freed (for shutdown's wait). */
  slotFreed(): void;
  /** Hands jobs that waited too long for a slot back to the queue. */
  giveBack(jobs: ActiveJob[]): void;
  /** A claim failed: true when it failed only for being a prepared statement (now switched off). */
  preparedUnavailable(err: unknown): boolean;
  /** A flow limit held ready jobs back (for the throttled-claims metric); optional. */
  throttled?(queue: string, reason: ThrottleReason): void;
}

/** How soon a pool held back by a concurrency limit looks again (slots free up on other workers). */
const FLOW_RECHECK_MS = 50;

const EWMA = 0.2;

/**
 * A queue's slots. A claim is sized to the room left (capped by the claim batch); a full batch means more
 * work is waiting, so the pool claims again at once (a second claim may run alongside); a short batch
 * means the queue is drained, and the pool waits for a wake-up. Slots freed during one event-loop turn
 * are refilled together.
 *
 * Claim-ahead: with every slot busy, a pool could only start new jobs one claim round trip after slots
 * free up, so throughput would be capped at slots / claim latency (about 20,000/s for 100 slots when a
 * commit costs 5 ms). A busy queue therefore claims ahead as many jobs as its handlers are expected to
 * finish during one claim round trip (slots × claim time / handler time, at most max(slots, claim
 * batch)). Those jobs wait here for a slot, their leases renewed like running ones; for slow handlers the
 * estimate is ~0, so nothing sits in a worker that cannot start it soon, and a job still waiting after
 * the wait limit (1 s, or a quarter lease) goes back to the queue for any worker. Stopping releases them.
 */
export class QueuePool {
  /** Handlers running now. */
  running = 0;
  /** Claim statements issued, and in flight (for stats and tests). */
  claims = 0;
  claimsInFlight = 0;
  /** The queue had flow limits at the last claim (claims then go through the flow lock). */
  limited = false;
  /** A flow limit held the last claim back. */
  private throttled = false;
  /** Jobs claimed ahead, waiting for a slot. */
  private waiting: ActiveJob[] = [];
  private reserved = 0;
  private wakeSeq = 0;
  /** Work may be waiting (a wake-up arrived, or the last claim came back full). */
  private wanted = true;
  private lastFull = false;
  private avgHandlerMs = Number.POSITIVE_INFINITY;
  private avgClaimMs = 0;
  private pumpScheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private waitTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff();
  private idleWaiters: (() => void)[] = [];
  private readonly maxWaitMs: number;

  constructor(
    readonly name: string,
    readonly slots: number,
    private readonly host: PoolHost,
    private readonly maxClaimsInFlight = 2,
  ) {
    this.maxWaitMs = Math.min(1000, Math.floor(host.leaseMs / 4));
  }

  /** Work may have arrived in this queue: claim if there is room. */
  wake(): void {
    this.wakeSeq++;
    this.wanted = true;
    this.pump();
  }

  /** A handler finished after `handlerMs`: its slot goes to a waiting job or a new claim. */
  release(handlerMs: number): void {
    this.running--;
    this.avgHandlerMs =
      this.avgHandlerMs === Number.POSITIVE_INFINITY
        ? handlerMs
        : this.avgHandlerMs + EWMA * (handlerMs - this.avgHandlerMs);
    this.host.slotFreed();
    if ((this.wanted || this.waiting.length > 0) && !this.pumpScheduled) {
      this.pumpScheduled = true;
      setImmediate(() => {
        this.pumpScheduled = false;
        this.pump();
      });
    }
  }

  /** A slot freed by a job that never ran (e.g. unknown type). */
  releaseUnrun(): void {
    this.running--;
    this.host.slotFreed();
  }

  /** Nothing running, waiting or being claimed. */
  get idle(): boolean {
    return this.running === 0 && this.claimsInFlight === 0 && this.waiting.length === 0;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Jobs the worker may claim ahead of free slots now (see the header). */
  private ahead(): number {
    // A queue held back by a limit claims no further than its slots: a job waiting here would count
    // against the limit while another worker could run it.
    if (this.throttled || !this.lastFull || this.avgHandlerMs === Number.POSITIVE_INFINITY) return 0;
    const cap = Math.max(this.slots, this.host.claimBatch);
    return Math.min(cap, Math.floor((this.slots * this.avgClaimMs) / Math.max(this.avgHandlerMs, 0.01)));
  }

  /** Resolves when no claim is in flight. */
  claimsSettled(): Promise<void> {
    if (this.claimsInFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Starts waiting jobs in free slots, then claims while there is room and work may be waiting. */
  pump(): void {
    const h = this.host;
    while (h.claiming && this.running < this.slots && this.waiting.length > 0) {
      const aj = this.waiting.shift();
      if (aj?.state !== 'queued') continue; // cancelled or lost while waiting
      this.running++;
      h.run(aj, this);
    }
    while (h.claiming && this.wanted && !this.retryTimer && !h.backlogged) {
      const room = this.slots + this.ahead() - this.running - this.waiting.length - this.reserved;
      if (room <= 0) return;
      // A second claim alongside the first only when the queue is known to be busy.
      if (this.claimsInFlight > 0 && (!this.lastFull || this.claimsInFlight >= this.maxClaimsInFlight))
        return;
      this.claimOnce(Math.min(room, h.claimBatch));
    }
  }

  private claimOnce(limit: number): void {
    const h = this.host;
    const seq = this.wakeSeq;
    const t0 = performance.now();
    this.reserved += limit;
    this.claimsInFlight++;
    this.claims++;
    claimFlow(h.claimExec, {
      queue: this.name,
      workerId: h.id,
      limit,
      leaseMs: h.leaseMs,
      starvationMs: h.starvationMs,
      retry: h.claimRetryPolicy,
      limited: this.limited,
    }).then(
      ({ jobs, limited, throttled, retryMs }) => {
        const ms = performance.now() - t0;
        this.avgClaimMs = this.avgClaimMs === 0 ? ms : this.avgClaimMs + EWMA * (ms - this.avgClaimMs);
        this.settle(limit);
        this.backoff.reset();
        h.health.ok();
        this.lastFull = jobs.length === limit;
        this.limited = limited;
        this.throttled = throttled !== null;
        if (!this.lastFull && this.wakeSeq === seq) this.wanted = false;
        if (throttled) this.throttle(throttled, retryMs);
        if (jobs.length > 0) {
          const now = performance.now();
          // in claim order already (the claim statement numbers them): they start in this order
          for (const aj of h.accept(jobs, this)) {
            aj.queuedAt = now;
            this.waiting.push(aj);
          }
        }
        this.pump();
        this.watchWaiting();
      },
      (err: unknown) => {
        this.settle(limit);
        this.lastFull = false;
        if (h.preparedUnavailable(err)) return this.pump();
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

  /**
   * A flow limit held ready jobs back: no NOTIFY will say when it lifts (a slot frees on another worker,
   * the bucket refills), so look again when a token is due, or shortly for a concurrency limit.
   */
  private throttle(reason: ThrottleReason, retryMs: number | null): void {
    this.host.throttled?.(this.name, reason);
    if (this.retryTimer) return;
    const delay = Math.max(1, Math.min(retryMs ?? FLOW_RECHECK_MS, FLOW_RECHECK_MS * 20));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.wanted = true;
      this.pump();
    }, delay);
  }

  /** Gives back jobs that waited longer than maxWaitMs for a slot (checked while any wait). */
  private watchWaiting(): void {
    if (this.waitTimer || this.waiting.length === 0) return;
    this.waitTimer = setTimeout(() => {
      this.waitTimer = undefined;
      const limit = performance.now() - this.maxWaitMs;
      const expired: ActiveJob[] = [];
      while (this.waiting.length > 0 && (this.waiting[0]?.queuedAt ?? 0) <= limit) {
        const aj = this.waiting.shift();
        if (aj?.state === 'queued') expired.push(aj);
      }
      if (expired.length > 0) {
        // The handlers are slower than estimated: claim no further ahead until new ones finish.
        this.avgHandlerMs = Number.POSITIVE_INFINITY;
        this.lastFull = false;
        this.host.giveBack(expired);
      }
      this.watchWaiting();
    }, this.maxWaitMs);
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

  /** Stops retrying and hands back the jobs still waiting for a slot (shutdown releases them). */
  stop(): ActiveJob[] {
    clearTimeout(this.retryTimer);
    clearTimeout(this.waitTimer);
    this.retryTimer = undefined;
    this.waitTimer = undefined;
    const left = this.waiting.filter((aj) => aj.state === 'queued');
    this.waiting = [];
    return left;
  }
}
