// The maintenance loop of `jobq scheduler`: each due task is claimed through the database (one process
// per period, whichever replica gets there first), run, and its counts logged, recorded and counted.
import type { Executor } from '../db/connect.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import {
  MAINTENANCE_TASKS,
  claimMaintenance,
  deleteStaleWorkers,
  msUntilMaintenanceDue,
  pruneFinished,
  reclaimExpiredLeases,
  recordMaintenance,
  type MaintenanceTask,
} from '../queue/maintenance.js';
import { pruneRateLimits, type RateLimit } from '../queue/rate-limit.js';
import { isConnectionError as isUnavailable } from '../errors.js';

export interface MaintenanceOptions {
  /** How often expired leases are reclaimed. */
  reclaimIntervalMs: number;
  /** How often pruning and stale-worker cleanup run. */
  intervalMs: number;
  retentionCompletedMs: number;
  retentionDeadMs: number;
  /** A worker registration silent for longer than this is deleted. */
  staleWorkerMs: number;
  /** Rows per pruning DELETE. */
  pruneBatch?: number;
  /** The API's rate limit, when configured: idle buckets older than it takes to refill are dropped. */
  rateLimit?: RateLimit | undefined;
}

export interface MaintenanceDeps {
  exec: Executor;
  log: Logger;
  metrics?: Metrics | undefined;
  /** This process's name in maintenance.last_run_by. */
  runner: string;
  options: MaintenanceOptions;
}

/** Runs one task and returns its counts. */
async function runTask(d: MaintenanceDeps, task: MaintenanceTask): Promise<Record<string, number>> {
  const o = d.options;
  switch (task) {
    case 'reclaim': {
      const reclaimed = await reclaimExpiredLeases(d.exec);
      for (const r of reclaimed) d.metrics?.jobsReclaimed.inc({ queue: r.queue, status: r.status });
      return { reclaimed: reclaimed.length };
    }
    case 'prune': {
      const r = await pruneFinished(d.exec, {
        retentionCompletedMs: o.retentionCompletedMs,
        retentionDeadMs: o.retentionDeadMs,
        ...(o.pruneBatch ? { batchSize: o.pruneBatch } : {}),
      });
      return { completed: r.completed, dead: r.dead, batches: r.batches.length };
    }
    case 'workers':
      return {
        deleted: await deleteStaleWorkers(d.exec, o.staleWorkerMs),
        rateLimitBuckets: await pruneRateLimits(d.exec, o.rateLimit),
      };
  }
}

function rowsOf(task: MaintenanceTask, counts: Record<string, number>): number {
  if (task === 'prune') return (counts.completed ?? 0) + (counts.dead ?? 0);
  return counts.reclaimed ?? counts.deleted ?? 0;
}

/**
 * One pass: claims and runs every due task, then returns how long to sleep until the next one is due.
 * A task that fails is logged and tried again next period; an unreachable database is thrown to the
 * loop (which backs off).
 */
export async function maintenanceStep(d: MaintenanceDeps, maxSleepMs: number): Promise<number> {
  for (const task of MAINTENANCE_TASKS) {
    const interval = task === 'reclaim' ? d.options.reclaimIntervalMs : d.options.intervalMs;
    const claimedAt = await claimMaintenance(d.exec, task, interval, d.runner);
    if (!claimedAt) continue;
    const started = performance.now();
    try {
      const counts = await runTask(d, task);
      const ms = Math.round(performance.now() - started);
      const rows = rowsOf(task, counts);
      d.metrics?.maintenanceRows.inc({ task }, rows);
      await recordMaintenance(d.exec, task, d.runner, { ...counts, ms });
      const line = { task, ...counts, ms, claimedAt: claimedAt.toISOString() };
      if (rows > 0) d.log.info(line, `maintenance ${task}: ${rows} row${rows === 1 ? '' : 's'}`);
      else d.log.debug(line, `maintenance ${task}: nothing to do`);
    } catch (err) {
      if (isUnavailable(err)) throw err;
      d.log.error({ task, err }, `maintenance ${task} failed; next try next period`);
    }
  }
  const due = await msUntilMaintenanceDue(d.exec, MAINTENANCE_TASKS);
  return Math.min(Math.max(due + 5, 20), maxSleepMs);
}
