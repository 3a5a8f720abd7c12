// The queue-state sampler: one cheap query per interval (queue/overview liveStats) fills the depth
// gauges (jobs_pending, jobs_queue_depth, jobs_oldest_ready_age_seconds, jobq_workers_online), so a
// scrape never queries the database. Runs in the API and the scheduler, not in every worker.
import type { Executor } from '../db/connect.js';
import type { Service } from '../lifecycle.js';
import type { Logger } from '../log.js';
import { liveStats, type LiveStats } from '../queue/overview.js';
import type { Metrics } from './metrics.js';

const DEPTH_STATUSES = ['PENDING', 'RETRY', 'RUNNING', 'DEAD'] as const;
const WORKERS_ONLINE = 'jobq_workers_online';

export interface SamplerOptions {
  /** Time between samples (default 5 s). */
  intervalMs?: number;
  /** Heartbeat freshness for jobq_workers_online (see onlineWindowMs). */
  onlineWithinMs: number;
  log: Logger;
}

export interface Sampler extends Service {
  /** Takes one sample now; false (and gauges cleared) when the database could not be read. */
  sampleOnce(): Promise<boolean>;
}

/** Writes one sample into the gauges. Queues seen earlier but now empty are set to 0, not dropped. */
export function applySample(metrics: Metrics, stats: LiveStats, seenQueues: Set<string>): void {
  for (const q of stats.queues) seenQueues.add(q.queue);
  const byName = new Map(stats.queues.map((q) => [q.queue, q]));
  for (const queue of seenQueues) {
    const q = byName.get(queue);
    metrics.jobsPending.set({ queue }, q ? q.counts.PENDING + q.counts.RETRY : 0);
    metrics.oldestReadyAge.set({ queue }, q?.oldestReadyAgeSeconds ?? 0);
    for (const status of DEPTH_STATUSES) metrics.queueDepth.set({ queue, status }, q ? q.counts[status] : 0);
  }
  metrics.workersOnline.set(stats.workersOnline);
}

/**
 * Drops the sampled series. A label-less gauge always exposes a value (0 after reset), which would read
 * as "no workers", so jobq_workers_online leaves the registry until the next good sample.
 */
function clearSampled(metrics: Metrics): void {
  metrics.jobsPending.reset();
  metrics.oldestReadyAge.reset();
  metrics.queueDepth.reset();
  metrics.registry.removeSingleMetric(WORKERS_ONLINE);
}

function restoreSampled(metrics: Metrics): void {
  if (!metrics.registry.getSingleMetric(WORKERS_ONLINE))
    metrics.registry.registerMetric(metrics.workersOnline);
}

/** Creates the sampler service. A failed sample is logged (once per outage) and retried next interval. */
export function createSampler(exec: Executor, metrics: Metrics, opts: SamplerOptions): Sampler {
  const intervalMs = opts.intervalMs ?? 5000;
  const seen = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<boolean> | undefined;
  let stopped = false;
  let failing = false;

  const sampleOnce = async (): Promise<boolean> => {
    try {
      const stats = await liveStats(exec, { onlineWithinMs: opts.onlineWithinMs });
      applySample(metrics, stats, seen);
      restoreSampled(metrics);
      if (failing) opts.log.info('metrics sampler: database readable again');
      failing = false;
      return true;
    } catch (err) {
      // Stale depth would look like real data: drop the series until the next good sample.
      clearSampled(metrics);
      if (!failing)
        opts.log.warn({ err }, 'metrics sampler: cannot read queue state; retrying each interval');
      else opts.log.debug({ err }, 'metrics sampler: still failing');
      failing = true;
      return false;
    }
  };

  const tick = (): void => {
    const began = Date.now();
    running = sampleOnce();
    void running.finally(() => {
      running = undefined;
      if (!stopped) {
        // A slow sample (a huge backlog to count) stretches the interval: at most a fifth of the time.
        timer = setTimeout(tick, Math.max(intervalMs, 4 * (Date.now() - began)));
        timer.unref();
      }
    });
  };

  return {
    name: 'metrics-sampler',
    sampleOnce,
    start() {
      stopped = false;
      tick();
      return Promise.resolve();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
