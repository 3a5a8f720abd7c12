// A shared/exclusive gate for the worker's multi-row writes on its own jobs: completion flushes and
// releases run shared, the lease heartbeat exclusive.

/**
 * Two multi-row UPDATEs over the same rows can lock them in different orders and deadlock (PostgreSQL
 * then aborts one after a second), so the heartbeat never overlaps a flush. Single-row writes (fail,
 * cancel, ctx.transaction) need no gate.
 */
export class WriteGate {
  private shared = 0;
  private exclusive = false;
  private waiting: (() => void)[] = [];
  private exclusiveWaiting = 0;

  /** Runs fn alongside other shared holders; waits while an exclusive holder runs or waits. */
  async runShared<T>(fn: () => Promise<T>): Promise<T> {
    while (this.exclusive || this.exclusiveWaiting > 0) await this.wait();
    this.shared++;
    try {
      return await fn();
    } finally {
      this.shared--;
      this.wakeAll();
    }
  }

  /** Runs fn alone (no shared holder, no other exclusive holder). */
  async runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.exclusiveWaiting++;
    try {
      while (this.exclusive || this.shared > 0) await this.wait();
    } finally {
      this.exclusiveWaiting--;
    }
    this.exclusive = true;
    try {
      return await fn();
    } finally {
      this.exclusive = false;
      this.wakeAll();
    }
  }

  private wait(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private wakeAll(): void {
    const w = this.waiting;
    this.waiting = [];
    for (const resolve of w) resolve();
  }
}
