// Who is online: the worker registry as operators see it (`jobq workers`, the API's queue overview).
// A worker counts as online while its heartbeat is fresher than WORKER_ONLINE_MS.
import type { Executor } from '../db/connect.js';
import { translateDbError } from '../errors.js';
import { checkInteger } from '../parse.js';
import { workerListOnline, type WorkerRow } from '../sql/workers.js';

export type WorkerInfo = WorkerRow;

/**
 * A worker whose last heartbeat is older than this is not listed as online: about three heartbeat
 * intervals at the default 30 s lease (workers beat every third of it), so one missed beat does not
 * make a live worker vanish, and a killed one drops off within a minute.
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
