// One queue's pool of slots and its claim loop: claims sized to the room left, repeated at once after a
// full batch, woken otherwise by NOTIFY, the poll or a reclaim; plus a claim-ahead buffer (see below).
import type { Executor } from '../db/connect.js';
import { claimFlow, type ClaimedJob, type ThrottleReason } from '../queue/index.js';
import type { ActiveJob } from './active-job.js';
import { Backoff } from '../backoff.js';
import type { DbHealth } from '../loop.js';
import type { WorkerSettings } from './options.js';

/**
 * What a queue's pool is given: each collaborator itself, narrowed to what the pool calls (claims run on
 * `claims`, claimed jobs go to the `runner`, jobs that waited too long go back through `outcomes`).
 */
export interface PoolDeps {
  workerId: string;
  /** Where claims run (named prepared statements unless the connection cannot keep them). */
  claims: { readonly current: Executor; unavailable(err: unknown): boolean };
  health: DbHealth;
  settings: Pick<WorkerSettings, 'leaseMs' | 'starvationMs' | 'claimBatch'>;
  /** The per-type retry policy the claim records on each row (JSON). */
  retryPolicy: string;
  /** Takes freshly claimed jobs into the worker's care (returns those with a handler) and starts them. */
  runner: {
    accept(jobs: ClaimedJob[], pool: QueuePool): ActiveJob[];
    run(aj: ActiveJob, pool: QueuePool): void;
  };
  /** Hands jobs that waited too long for a slot back to the queue (not counted). */
  outcomes: { release(jobs: ActiveJob[]): void };
  /** Claiming pauses while outcomes wait to be written in such numbers. */
  writer: { readonly backlogged: boolean };
  /** Counts claims a flow limit held back. */
  jm: { throttled(queue: string, reason: ThrottleReason): void };
  /** The worker's pool set: whether claiming is open, and where freed slots are reported (for stop()). */
  set: { readonly claiming: boolean; slotFreed(): void };
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
    private readonly d: PoolDeps,
    private readonly maxClaimsInFlight = 2,
  ) {
    this.maxWaitMs = Math.min(1000, Math.floor(d.settings.leaseMs / 4));
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
    this.d.set.slotFreed();
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
    this.d.set.slotFreed();
  }

  /** Nothing running, waiting or being claimed. */
  get idle(): boolean {
    return this.running === 0 && this.claimsInFlight === 0 && this.waiting.length === 0;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /**
   * Claims in flight at once. One for a queue with flow limits: its claims take turns on the queue's flow
   * lock anyway, and a second one, waiting for the lock with a snapshot taken before the first committed,
   * walked the first one's jobs again (each found claimed only after locking it) — a drain with limits
   * that never bind ran at 0.75× of the same drain without them.
   */
  private get claimsAtOnce(): number {
    return this.limited ? 1 : this.maxClaimsInFlight;
  }

  /** Jobs the worker may claim ahead of free slots now (see the header). */
  private ahead(): number {
    // A queue held back by a limit claims no further than its slots: a job waiting here would count
    // against the limit while another worker could run it.
    if (this.throttled || !this.lastFull || this.avgHandlerMs === Number.POSITIVE_INFINITY) return 0;
    const cap = Math.max(this.slots, this.d.settings.claimBatch);
    return Math.min(cap, Math.floor((this.slots * this.avgClaimMs) / Math.max(this.avgHandlerMs, 0.01)));
  }

  /** Resolves when no claim is in flight. */
  claimsSettled(): Promise<void> {
    if (this.claimsInFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Starts waiting jobs in free slots, then claims while there is room and work may be waiting. */
  pump(): void {
    const { set, runner, writer } = this.d;
    while (set.claiming && this.running < this.slots && this.waiting.length > 0) {
      const aj = this.waiting.shift();
      if (aj?.state !== 'queued') continue; // cancelled or lost while waiting
      this.running++;
      runner.run(aj, this);
    }
    while (set.claiming && this.wanted && !this.retryTimer && !writer.backlogged) {
      const room = this.slots + this.ahead() - this.running - this.waiting.length - this.reserved;
      if (room <= 0) return;
      // A second claim alongside the first only when the queue is known to be busy, and never for a
      // queue with flow limits (see claimsAtOnce).
      if (this.claimsInFlight > 0 && (!this.lastFull || this.claimsInFlight >= this.claimsAtOnce)) return;
      this.claimOnce(Math.min(room, this.d.settings.claimBatch));
    }
  }

  private claimOnce(limit: number): void {
    const d = this.d;
    const seq = this.wakeSeq;
    const t0 = performance.now();
    this.reserved += limit;
    this.claimsInFlight++;
    this.claims++;
    claimFlow(d.claims.current, {
      queue: this.name,
      workerId: d.workerId,
      limit,
      leaseMs: d.settings.leaseMs,
      starvationMs: d.settings.starvationMs,
      retry: d.retryPolicy,
      limited: this.limited,
    }).then(
      ({ jobs, limited, throttled, retryMs }) => {
        const ms = performance.now() - t0;
        this.avgClaimMs = this.avgClaimMs === 0 ? ms : this.avgClaimMs + EWMA * (ms - this.avgClaimMs);
        this.settle(limit);
        this.backoff.reset();
        d.health.ok();
        this.lastFull = jobs.length === limit;
        this.limited = limited;
        this.throttled = throttled !== null;
        if (!this.lastFull && this.wakeSeq === seq) this.wanted = false;
        if (throttled) this.throttle(throttled, retryMs);
        if (jobs.length > 0) {
          const now = performance.now();
          // in claim order already (the claim statement numbers them): they start in this order
          for (const aj of d.runner.accept(jobs, this)) {
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
        if (d.claims.unavailable(err)) return this.pump();
        if (this.retryTimer) return;
        const delay = this.backoff.next();
        d.health.failed(`claiming from queue ${this.name}`, err, delay);
        this.claimAgainIn(delay);
      },
    );
  }

  /**
   * A flow limit held ready jobs back: no NOTIFY will say when it lifts (a slot frees on another worker,
   * the bucket refills), so look again when a token is due, or shortly for a concurrency limit.
   */
  private throttle(reason: ThrottleReason, retryMs: number | null): void {
    this.d.jm.throttled(this.name, reason);
    if (this.retryTimer) return;
    this.claimAgainIn(Math.max(1, Math.min(retryMs ?? FLOW_RECHECK_MS, FLOW_RECHECK_MS * 20)));
  }

  /** Claims again after `ms` (a failed claim's backoff, or a flow limit's recheck). */
  private claimAgainIn(ms: number): void {
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.wanted = true;
      this.pump();
    }, ms);
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
        this.d.outcomes.release(expired); // never started: not counted
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
