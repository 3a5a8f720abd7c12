// The worker's queue pools as one set: whether claiming is open, wake-ups by queue, running counts, the
// wait for every pool to go idle (graceful stop), and the per-queue part of worker.stats().
import type { ActiveJob } from './active-job.js';
import type { WorkerStats } from './options.js';
import { QueuePool, type PoolDeps } from './queue-pool.js';

/** One QueuePool per served queue, built from the same dependencies. */
export class QueuePools {
  private readonly pools = new Map<string, QueuePool>();
  private idleWaiters: (() => void)[] = [];

  constructor(
    queues: Map<string, number>,
    deps: Omit<PoolDeps, 'set'>,
    /** Pools claim only while this says so (the worker: from start() until stop() or it gives up). */
    private readonly open: () => boolean,
  ) {
    for (const [name, slots] of queues)
      this.pools.set(name, new QueuePool(name, slots, { ...deps, set: this }));
  }

  /** Work may have arrived in `queue` (a NOTIFY, a reclaim): its pool claims if there is room. */
  wake(queue: string): void {
    this.pools.get(queue)?.wake();
  }

  wakeAll(): void {
    for (const p of this.pools.values()) p.wake();
  }

  get claiming(): boolean {
    return this.open();
  }

  /** Lets every pool start waiting jobs and claim again (e.g. the outcome backlog went down). */
  pumpAll(): void {
    if (this.claiming) for (const p of this.pools.values()) p.pump();
  }

  /** Handlers running now, over all queues. */
  running(): number {
    let n = 0;
    for (const p of this.pools.values()) n += p.running;
    return n;
  }

  /** A pool freed a slot: wakes stop()'s wait once every pool is idle. */
  slotFreed(): void {
    if (this.idleWaiters.length > 0 && this.allIdle()) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of w) resolve();
    }
  }

  private allIdle(): boolean {
    for (const p of this.pools.values()) if (!p.idle) return false;
    return true;
  }

  /** Resolves true once nothing runs, waits or is being claimed; false after `ms` otherwise. */
  waitIdle(ms: number): Promise<boolean> {
    if (this.allIdle()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.allIdle()), ms);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Once claiming is closed: waits for claims in flight, returns the claimed jobs that never started. */
  async stop(): Promise<ActiveJob[]> {
    await Promise.all([...this.pools.values()].map((p) => p.claimsSettled()));
    return [...this.pools.values()].flatMap((p) => p.stop());
  }

  stats(): WorkerStats['queues'] {
    return [...this.pools.values()].map((p) => ({
      name: p.name,
      slots: p.slots,
      running: p.running,
      claims: p.claims,
      claimsInFlight: p.claimsInFlight,
      waiting: p.waitingCount,
    }));
  }
}
