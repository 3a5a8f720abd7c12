// Enqueue: one job, or many in one round trip, optionally idempotent. Validates everything before
// writing, so a bad entry in a batch writes nothing.
import type { Executor } from '../db/connect.js';
import { translateDbError } from '../errors.js';
import { jobGet, jobInsertMany } from '../sql/jobs.js';
import { validateEnqueue } from './validate.js';
import {
  DEFAULT_LIMITS,
  type EnqueueResult,
  type EnqueueSpec,
  type Job,
  type JobInsert,
  type Limits,
} from './types.js';

/** Enqueues one job; returns it and whether it was created (false: an existing job had the key). */
export async function enqueue(
  exec: Executor,
  spec: EnqueueSpec,
  limits: Limits = DEFAULT_LIMITS,
): Promise<{ job: Job; created: boolean }> {
  const row = validateEnqueue(spec, limits);
  const [res] = await insertRows(exec, [row]);
  if (!res) throw new Error('enqueue returned no row');
  const job = await jobGet(exec, res.id);
  if (!job) throw new Error(`job ${res.id} vanished after enqueue`);
  return { job, created: res.created };
}

/**
 * Enqueues many jobs in one statement (one transaction unless the executor is already one). All specs
 * are validated first; field names in errors are prefixed with the entry's position.
 */
export async function enqueueMany(
  exec: Executor,
  specs: EnqueueSpec[],
  limits: Limits = DEFAULT_LIMITS,
  fieldPrefix: (index: number) => string = (i) => `jobs[${i}].`,
): Promise<EnqueueResult[]> {
  const rows = specs.map((s, i) => validateEnqueue(s, limits, fieldPrefix(i)));
  return insertRows(exec, rows);
}

/** Inserts already-validated rows (used by the client's grouping of concurrent enqueues). */
export async function insertRows(exec: Executor, rows: JobInsert[]): Promise<EnqueueResult[]> {
  try {
    // With idempotency keys the insert and the lookup of existing keys are two statements: keep them in
    // one transaction so the answer is consistent.
    if (rows.some((r) => r.idempotencyKey !== null) && !exec.isTransaction) {
      return await exec.transaction((tx) => jobInsertMany(tx, rows));
    }
    return await jobInsertMany(exec, rows);
  } catch (err) {
    // The one call outside the SQL boundary: `exec` may be the application's own transaction
    // (client.enqueue(spec, { tx })), whose driver errors jobq never saw.
    throw translateDbError(err, exec.schema);
  }
}
