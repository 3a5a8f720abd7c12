// Maintenance tasks the scheduler runs: reclaim expired leases, prune finished jobs past retention in
// bounded batches, delete stale worker registrations. Which process runs a due task is decided by a
// compare-and-set in the maintenance table, never by in-memory leader state.
import type { Executor } from '../db/connect.js';
import type { JobStatus } from '../db/schema.js';
import type { Reclaimed } from '../sql/job-outcomes.js';
import { jobDeleteFinished } from '../sql/jobs-operator.js';
import { maintenanceClaim, maintenanceDueInMs, maintenanceRecord } from '../sql/maintenance.js';
import { workerDeleteStale } from '../sql/workers.js';
import { reclaimExpired } from './transitions.js';

export const MAINTENANCE_TASKS = ['reclaim', 'prune', 'workers'] as const;
export type MaintenanceTask = (typeof MAINTENANCE_TASKS)[number];

/** Rows per pruning DELETE: each batch is its own short transaction. */
export const PRUNE_BATCH = 1000;

/**
 * Claims a due task for one period (next_run_at moves to now + interval). Exactly one of any number of
 * concurrent callers gets the claim's database time for a given period; the others get null.
 */
export function claimMaintenance(
  exec: Executor,
  task: MaintenanceTask,
  intervalMs: number,
  runner: string,
): Promise<Date | null> {
  return maintenanceClaim(exec, { task, intervalMs, runner });
}

/** Records the counts of a finished run on the task's row. */
export function recordMaintenance(
  exec: Executor,
  task: MaintenanceTask,
  runner: string,
  result: Record<string, number>,
): Promise<void> {
  return maintenanceRecord(exec, { task, runner, result });
}

/** Milliseconds until the earliest of the tasks is due (0 when one has never run). */
export async function msUntilMaintenanceDue(
  exec: Executor,
  tasks: readonly MaintenanceTask[],
): Promise<number> {
  const due = await maintenanceDueInMs(exec, [...tasks]);
  return Math.max(0, Math.min(...tasks.map((t) => due.get(t) ?? 0)));
}

/** Reclaims every running job whose lease expired, in batches (the workers' own reclaim does the same). */
export async function reclaimExpiredLeases(
  exec: Executor,
  opts: { batchSize?: number; maxBatches?: number } = {},
): Promise<Reclaimed[]> {
  const size = opts.batchSize ?? 1000;
  const out: Reclaimed[] = [];
  for (let i = 0; i < (opts.maxBatches ?? 100); i++) {
    const batch = await reclaimExpired(exec, size);
    out.push(...batch);
    if (batch.length < size) break;
  }
  return out;
}

export interface PruneOptions {
  /** COMPLETED and CANCELLED jobs finished longer ago than this are deleted. */
  retentionCompletedMs: number;
  /** DEAD jobs finished longer ago than this are deleted. */
  retentionDeadMs: number;
  batchSize?: number;
  /** Bound on batches per status group in one run (the rest waits for the next run). */
  maxBatches?: number;
  /** Called after each batch with the rows it deleted and how long it took. */
  onBatch?: (deleted: number, ms: number) => void;
}

export interface PruneResult {
  completed: number;
  dead: number;
  /** Rows deleted by each DELETE, in order. */
  batches: number[];
}

/**
 * Deletes finished jobs past retention in batches of `batchSize` rows. Each DELETE runs on its own
 * (autocommit, SKIP LOCKED, by jobs_finished_idx), so no lock is held for longer than one batch and
 * live work is never blocked. Call it on the pool, not inside a transaction.
 */
export async function pruneFinished(exec: Executor, opts: PruneOptions): Promise<PruneResult> {
  const size = opts.batchSize ?? PRUNE_BATCH;
  const groups: { key: 'completed' | 'dead'; statuses: JobStatus[]; olderThanMs: number }[] = [
    { key: 'completed', statuses: ['COMPLETED', 'CANCELLED'], olderThanMs: opts.retentionCompletedMs },
    { key: 'dead', statuses: ['DEAD'], olderThanMs: opts.retentionDeadMs },
  ];
  const result: PruneResult = { completed: 0, dead: 0, batches: [] };
  for (const g of groups) {
    for (let i = 0; i < (opts.maxBatches ?? 1000); i++) {
      const started = performance.now();
      const n = await jobDeleteFinished(exec, {
        statuses: g.statuses,
        olderThanMs: g.olderThanMs,
        limit: size,
      });
      opts.onBatch?.(n, performance.now() - started);
      result.batches.push(n);
      result[g.key] += n;
      if (n < size) break;
    }
  }
  return result;
}

/** Deletes worker registrations whose heartbeat stopped longer ago than `silentForMs`. */
export function deleteStaleWorkers(exec: Executor, silentForMs: number): Promise<number> {
  return workerDeleteStale(exec, silentForMs);
}
