// The worker registry as the worker maintains it: register on start, heartbeat with its load, unregister
// on a clean stop. (Listing who is online lives in workers-online.ts.)
import type { Executor } from '../db/connect.js';
import {
  workerHeartbeat,
  workerRecordOvertime,
  workerRecordStall,
  workerRegister,
  workerUnregister,
  type WorkerRegistration,
} from '../sql/workers.js';

export type { WorkerRegistration };

/** Registers (or re-registers) a worker. */
export function registerWorker(exec: Executor, w: WorkerRegistration): Promise<void> {
  return workerRegister(exec, w);
}

/** Records a worker's heartbeat and load; false when its row is gone (pruned as stale). */
export function recordWorkerHeartbeat(exec: Executor, id: string, running: number): Promise<boolean> {
  return workerHeartbeat(exec, id, running);
}

/** Records that the worker's event loop was blocked for `stalledMs` (shown by explain). */
export function recordWorkerStall(exec: Executor, id: string, stalledMs: number): Promise<void> {
  return workerRecordStall(exec, id, stalledMs);
}

/** Records the slots held by handlers past their timeout (queue → count) and the runaways. */
export function recordWorkerOvertime(
  exec: Executor,
  id: string,
  overtime: Record<string, number>,
  runaways: number,
): Promise<void> {
  return workerRecordOvertime(exec, id, overtime, runaways);
}

/** Removes a worker's registration. */
export function unregisterWorker(exec: Executor, id: string): Promise<void> {
  return workerUnregister(exec, id);
}
