// Operator operations on jobs: get, list, retry, cancel, the dead-letter queue.
import type { Executor } from '../db/connect.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { jobGet, jobList } from '../sql/jobs.js';
import {
  jobCancel,
  jobDeadRetry,
  jobDeleteFinished,
  jobRetry,
  type TransitionOutcome,
} from '../sql/jobs-operator.js';
import { validateId, validateLimit, validateName, validateStatus, validateText } from './validate.js';
import type { Job, ListFilter, Page } from './types.js';

/** Reads one job; NotFoundError when there is none. */
export async function getJob(exec: Executor, id: string): Promise<Job> {
  const jobId = validateId('id', id);
  const job = await jobGet(exec, jobId);
  if (!job) throw new NotFoundError('job', jobId);
  return job;
}

/** Lists jobs newest first, with filters and keyset pagination. */
export async function listJobs(exec: Executor, filter: ListFilter = {}): Promise<Page<Job>> {
  const limit = filter.limit === undefined ? 50 : validateLimit('limit', filter.limit);
  const f = {
    status: filter.status === undefined ? undefined : validateStatus('status', filter.status),
    queue: filter.queue === undefined ? undefined : validateName('queue', filter.queue),
    type: filter.type === undefined ? undefined : validateName('type', filter.type),
    cursor: filter.cursor === undefined ? undefined : validateId('cursor', filter.cursor),
    limit: limit + 1,
  };
  const rows = await jobList(exec, f);
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
}

export interface TransitionResult {
  id: string;
  from: Job['status'];
  to: Job['status'];
}

/**
 * Applies an operator transition to every id, all or nothing: unknown ids and ids in a state that does
 * not allow it fail the whole call (NotFoundError / ConflictError, worded by `refusal`) and nothing changes.
 */
async function transition(
  exec: Executor,
  ids: string[],
  refusal: (id: string, from: Job['status']) => string,
  apply: (tx: Executor, ids: string[]) => Promise<TransitionOutcome[]>,
): Promise<TransitionResult[]> {
  const jobIds = ids.map((id, i) => validateId(ids.length === 1 ? 'id' : `ids[${i}]`, id));
  return exec.transaction(async (tx) => {
    const out = await apply(tx, jobIds);
    const byId = new Map(out.map((o) => [o.id, o]));
    const missing = jobIds.find((id) => !byId.has(id));
    if (missing) throw new NotFoundError('job', missing);
    const refused = out.find((o) => o.to === null);
    if (refused) throw new ConflictError(refusal(refused.id, refused.from));
    return jobIds.map((id) => {
      const o = byId.get(id) as TransitionOutcome & { to: Job['status'] };
      return { id, from: o.from, to: o.to };
    });
  });
}

/** DEAD, RETRY or CANCELLED → PENDING (attempts reset to 0; error history kept). */
export function retryJobs(exec: Executor, ids: string[]): Promise<TransitionResult[]> {
  return transition(
    exec,
    ids,
    (id, from) => `cannot retry job ${id}: it is ${from} (only DEAD, RETRY or CANCELLED jobs can be retried)`,
    jobRetry,
  );
}

/**
 * PENDING/RETRY → CANCELLED; RUNNING → cancel requested (stays RUNNING until its worker stops it). `by`
 * (who cancelled, shown with the job) is text of at most 200 characters.
 */
export async function cancelJobs(
  exec: Executor,
  ids: string[],
  by = 'operator',
): Promise<TransitionResult[]> {
  const actor = validateText('by', by, 200);
  return transition(
    exec,
    ids,
    (id, from) =>
      from === 'RUNNING'
        ? `cannot cancel job ${id}: its cancellation was already requested (its worker will stop it)`
        : `cannot cancel job ${id}: it is ${from} (only PENDING, RETRY or RUNNING jobs can be cancelled)`,
    (tx, j) => jobCancel(tx, j, actor),
  );
}

/** Retries DEAD jobs matching the filters, in batches; returns the retried ids. */
export async function retryDead(
  exec: Executor,
  f: { queue?: string | undefined; type?: string | undefined },
): Promise<string[]> {
  const queue = f.queue === undefined ? undefined : validateName('queue', f.queue);
  const type = f.type === undefined ? undefined : validateName('type', f.type);
  const all: string[] = [];
  for (;;) {
    const batch = await jobDeadRetry(exec, {
      ...(queue ? { queue } : {}),
      ...(type ? { type } : {}),
      limit: 1000,
    });
    all.push(...batch);
    if (batch.length < 1000) return all;
  }
}

/** Deletes DEAD jobs that died longer ago than the bound, in batches; returns how many. */
export async function purgeDead(exec: Executor, olderThanMs: number): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await jobDeleteFinished(exec, { statuses: ['DEAD'], olderThanMs, limit: 1000 });
    total += n;
    if (n < 1000) return total;
  }
}
