// The worker's metric updates, with label children cached per queue and type so the hot path does no
// label hashing per job.
import type { Metrics } from '../metrics/metrics.js';
import type { ThrottleReason } from '../queue/index.js';

type Inc = { inc(n?: number): void };
type Observe = { observe(v: number): void };

interface TypeChildren {
  completed: Inc;
  workerCompleted: Inc;
  duration: Observe;
}

export type FinalStatus = 'COMPLETED' | 'RETRY' | 'DEAD' | 'CANCELLED';

export class JobMetrics {
  /** queue → type → children (two levels: no key string built per job). */
  private readonly types = new Map<string, Map<string, TypeChildren>>();
  private readonly ready = new Map<string, Observe>();

  constructor(readonly m: Metrics) {}

  private children(queue: string, type: string): TypeChildren {
    let byType = this.types.get(queue);
    if (!byType) {
      byType = new Map();
      this.types.set(queue, byType);
    }
    let c = byType.get(type);
    if (!c) {
      c = {
        completed: this.m.jobsCompleted.labels({ queue, type }),
        workerCompleted: this.m.workerJobsCompleted.labels({ queue, type, status: 'COMPLETED' }),
        duration: this.m.workerJobDuration.labels({ queue, type }),
      };
      byType.set(type, c);
    }
    return c;
  }

  /** A handler started: time from ready (max of run_after and created_at) to now. */
  started(queue: string, readySinceMs: number, nowMs: number): void {
    let h = this.ready.get(queue);
    if (!h) {
      h = this.m.readyToStart.labels({ queue });
      this.ready.set(queue, h);
    }
    h.observe(Math.max(0, nowMs - readySinceMs) / 1000);
  }

  /** A handler returned or threw after `seconds`. */
  duration(queue: string, type: string, seconds: number): void {
    this.children(queue, type).duration.observe(seconds);
  }

  /** An outcome this worker recorded. */
  finished(queue: string, type: string, status: FinalStatus): void {
    if (status === 'COMPLETED') {
      const c = this.children(queue, type);
      c.completed.inc();
      c.workerCompleted.inc();
      return;
    }
    this.m.workerJobsCompleted.inc({ queue, type, status });
    if (status === 'CANCELLED') this.m.jobsCancelled.inc({ queue, type });
    else {
      this.m.jobsFailed.inc({ queue, type });
      if (status === 'RETRY') this.m.jobsRetried.inc({ queue, type });
      else this.m.jobsDead.inc({ queue, type });
    }
  }

  /** A flow limit held a claim of `queue` back. */
  throttled(queue: string, reason: ThrottleReason): void {
    this.m.claimsThrottled.inc({ queue, reason });
  }

  leaseLost(queue: string, type: string): void {
    this.m.leasesLost.inc({ queue, type });
  }

  /** A running job whose lease had expired was reclaimed by this worker (RETRY, DEAD or CANCELLED). */
  reclaimed(queue: string, type: string, status: string): void {
    this.m.jobsReclaimed.inc({ queue, status });
    if (status === 'DEAD') this.m.jobsDead.inc({ queue, type });
    if (status === 'CANCELLED') this.m.jobsCancelled.inc({ queue, type });
  }
}
