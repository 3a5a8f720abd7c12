// Who is online: the worker registry as operators see it (`jobq workers`, `jobq top`, the dashboard).
// A worker counts as online while its heartbeat is fresher than WORKER_ONLINE_MS.
import type { Executor } from '../db/connect.js';
import { translateDbError } from '../errors.js';
import { workerListOnline, type WorkerRow } from '../sql/workers.js';
import { checkInteger } from '../parse.js';

export type WorkerInfo = WorkerRow;

/**
 * A worker whose last heartbeat is older than this is not listed as online: about three heartbeat
 * intervals (workers beat every third of the 30 s default lease, i.e. every 10-20 s), so one missed
 * beat does not make a live worker vanish, and a killed one drops off within a minute.
 */
export const WORKER_ONLINE_MS = 60_000;

/** Workers whose heartbeat is fresher than `freshWithinMs`, oldest-started first. */
export async function listWorkers(
  exec: Executor,
  freshWithinMs: number = WORKER_ONLINE_MS,
): Promise<WorkerInfo[]> {
  const within = checkInteger('freshWithinMs', freshWithinMs, 1, 30 * 86_400_000);
  try {
    return await workerListOnline(exec, within);
  } catch (err) {
    throw translateDbError(err, exec.schema);
  }
}
