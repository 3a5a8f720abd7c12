// Live views of the system for operators and metrics: depth by queue × status (liveStats, the sampler's
// one query) and the full snapshot `jobq top` renders (loadOverview). Bounded, index-backed reads only.
import { listQueueLimits, type QueueLimits } from './limits.js';
import type { Executor } from '../db/connect.js';
import { jobLiveSample, jobRecentFailures, jobThroughput, type FailureRow } from '../sql/stats.js';
import { workerListOnline, type WorkerRow } from '../sql/workers.js';
export { onlineWindowMs } from './workers-online.js';

export type { FailureRow, WorkerRow };

/** Live counts of one queue (history statuses COMPLETED/CANCELLED are not counted). */
export interface QueueLive {
  queue: string;
  paused: boolean;
  counts: { PENDING: number; RETRY: number; RUNNING: number; DEAD: number };
  /** PENDING/RETRY jobs whose run_after is still in the future. */
  scheduled: number;
  /** Seconds since the oldest ready job became ready; null when nothing is ready. */
  oldestReadyAgeSeconds: number | null;
}

export interface LiveStats {
  queues: QueueLive[];
  workersOnline: number;
}

function emptyQueue(queue: string): QueueLive {
  return {
    queue,
    paused: false,
    counts: { PENDING: 0, RETRY: 0, RUNNING: 0, DEAD: 0 },
    scheduled: 0,
    oldestReadyAgeSeconds: null,
  };
}

/** Depth by queue × live status, oldest ready age, paused flags and workers online, in one statement. */
export async function liveStats(exec: Executor, opts: { onlineWithinMs: number }): Promise<LiveStats> {
  const rows = await jobLiveSample(exec, { onlineWithinMs: opts.onlineWithinMs });
  const queues = new Map<string, QueueLive>();
  const get = (name: string): QueueLive => {
    let q = queues.get(name);
    if (!q) queues.set(name, (q = emptyQueue(name)));
    return q;
  };
  let workersOnline = 0;
  for (const r of rows) {
    if (r.kind === 'workers') workersOnline = r.n;
    else if (r.kind === 'queue' && r.queue !== null) get(r.queue).paused = r.paused;
    else if (r.kind === 'depth' && r.queue !== null && r.status !== null) {
      const q = get(r.queue);
      if (r.status in q.counts) q.counts[r.status as keyof QueueLive['counts']] = r.n;
      q.scheduled += r.scheduled;
      if (r.ageSeconds !== null)
        q.oldestReadyAgeSeconds = Math.max(q.oldestReadyAgeSeconds ?? 0, r.ageSeconds);
    }
  }
  return {
    queues: [...queues.values()].sort((a, b) => a.queue.localeCompare(b.queue)),
    workersOnline,
  };
}

/** One queue as `jobq top` shows it. */
export interface QueueOverview extends QueueLive {
  /** Jobs completed per bucket over the window, oldest bucket first. */
  completedBuckets: number[];
  completedInWindow: number;
  deadInWindow: number;
  /** The queue's flow limits and their use (null: none). */
  limits: QueueLimits | null;
}

export interface Overview {
  queues: QueueOverview[];
  failures: FailureRow[];
  workers: WorkerRow[];
  workersOnline: number;
  windowMs: number;
  bucketMs: number;
}

export interface OverviewOptions {
  onlineWithinMs: number;
  /** Throughput window (default 60 s) and bucket size (default 5 s). */
  windowMs?: number;
  bucketMs?: number;
  /** How many recent failures to list (default 10). */
  failureLimit?: number;
}

/** Everything `jobq top` shows, read with four bounded statements. */
export async function loadOverview(exec: Executor, opts: OverviewOptions): Promise<Overview> {
  const windowMs = opts.windowMs ?? 60_000;
  const bucketMs = opts.bucketMs ?? 5_000;
  const nBuckets = Math.max(1, Math.ceil(windowMs / bucketMs));
  const [live, through, workers, limits] = await Promise.all([
    liveStats(exec, opts),
    jobThroughput(exec, { windowMs, bucketMs }),
    workerListOnline(exec, opts.onlineWithinMs),
    listQueueLimits(exec),
  ]);
  const byName = new Map<string, QueueOverview>();
  const get = (name: string): QueueOverview => {
    let q = byName.get(name);
    if (!q) {
      q = {
        ...emptyQueue(name),
        completedBuckets: new Array<number>(nBuckets).fill(0),
        completedInWindow: 0,
        deadInWindow: 0,
        limits: null,
      };
      byName.set(name, q);
    }
    return q;
  };
  for (const q of live.queues) Object.assign(get(q.queue), q);
  for (const w of workers) for (const name of Object.keys(w.queues)) get(name);
  for (const l of limits) get(l.queue).limits = l;
  for (const t of through) {
    const q = get(t.queue);
    if (t.status === 'COMPLETED') {
      q.completedInWindow += t.n;
      const i = nBuckets - 1 - Math.min(nBuckets - 1, Math.max(0, t.bucket));
      q.completedBuckets[i] = (q.completedBuckets[i] ?? 0) + t.n;
    } else if (t.status === 'DEAD') q.deadInWindow += t.n;
  }
  const queues = [...byName.values()].sort((a, b) => a.queue.localeCompare(b.queue));
  const failures = await jobRecentFailures(exec, {
    queues: queues.map((q) => q.queue),
    limit: opts.failureLimit ?? 10,
    scanLimit: 1000,
  });
  return { queues, failures, workers, workersOnline: live.workersOnline, windowMs, bucketMs };
}
