// `jobq scheduler`: fires cron schedules and runs maintenance (lease reclaim, retention pruning, stale
// worker cleanup). Run as many replicas as you like; each fire time and each maintenance period is
// handled by exactly one of them.
import type { Command } from 'commander';
import { runUntilSignal, type Service } from '../lifecycle.js';
import { metricsServices } from '../metrics/services.js';
import { createScheduler } from '../scheduler/scheduler.js';
import { listenUrl } from '../config.js';
import { configFrom } from './context.js';
import { daemonDeps, daemonReadiness, databaseService, type DaemonDeps } from './daemon.js';

/** A worker registration silent for this long is deleted by maintenance (heartbeats come every few seconds). */
export const STALE_WORKER_MS = 60 * 60_000;

/** The scheduler (and its maintenance) as a service of a daemon process (`jobq scheduler`, `jobq dev`). */
export function createSchedulerService(deps: DaemonDeps): Service {
  const c = deps.config;
  return createScheduler({
    db: deps.db,
    log: deps.log,
    metrics: deps.metrics,
    listenUrl: listenUrl(c),
    graceMs: c.schedulerGraceMs,
    limits: c,
    maintenance: {
      reclaimIntervalMs: c.reclaimIntervalMs,
      intervalMs: c.maintenanceIntervalMs,
      retentionCompletedMs: c.retentionCompletedMs,
      retentionDeadMs: c.retentionDeadMs,
      staleWorkerMs: STALE_WORKER_MS,
      rateLimit: c.rateLimitPerSec
        ? { ratePerSec: c.rateLimitPerSec, burst: c.rateLimitBurst ?? c.rateLimitPerSec }
        : undefined,
    },
  });
}

export function register(program: Command): void {
  program
    .command('scheduler')
    .description(
      'fire cron schedules and run maintenance (reclaim expired leases, prune finished jobs, drop stale workers); safe to run several',
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const config = configFrom(cmd);
      // fires and maintenance run one at a time; the sampler needs one more now and then
      const deps = daemonDeps(config, 'scheduler', 2, { listen: listenUrl(config) ? 1 : 0 });
      const services: Service[] = [
        databaseService(deps),
        // queue-depth sampler and /metrics on JOBQ_METRICS_PORT (0 turns the server off)
        ...metricsServices(deps, { sampler: true, server: true, readiness: daemonReadiness(deps) }),
        createSchedulerService(deps),
      ];
      await runUntilSignal(services, deps.log);
    });
}
