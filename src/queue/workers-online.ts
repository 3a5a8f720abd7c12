// Who is online: the worker registry as operators see it (`jobq workers`, the API's queue overview).
// A worker counts as online while its heartbeat is fresher than onlineWindowMs(lease): the one definition.
import type { Executor } from '../db/connect.js';
import { checkInteger } from '../parse.js';
import { workerListOnline, type WorkerRow } from '../sql/workers.js';

export type WorkerInfo = WorkerRow;

/**
 * How recent a worker's heartbeat must be for it to count as online: at least 60 s (six heartbeats at
 * the default 30 s lease, as workers beat every third of it — one missed beat does not make a live worker
 * vanish, and a killed one drops off within a minute), or two lease periods when leases are longer.
 * `jobq workers`, `jobq top`, `jobq explain`, the API and the metrics sampler all use this.
 */
export function onlineWindowMs(leaseMs: number): number {
  return Math.max(60_000, 2 * leaseMs);
}

/** Workers whose heartbeat is fresher than `freshWithinMs`, oldest-started first. */
export async function listWorkers(exec: Executor, freshWithinMs: number): Promise<WorkerInfo[]> {
  const within = checkInteger('freshWithinMs', freshWithinMs, 1, 30 * 86_400_000);
  return await workerListOnline(exec, within);
}
