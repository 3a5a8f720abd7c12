// The job state machine, and the worker-side transitions (claim, complete, fail, cancel, release).
//
//   PENDING ──claim──▶ RUNNING ──ok──▶ COMPLETED
//      ▲                  │
//      │               attempt failed
//      │                  ├── attempts left ──▶ RETRY (run_after = now + backoff) ──claim──▶ RUNNING …
//      │                  └── none left, or permanent error ──▶ DEAD
//      └──── retry (from DEAD, RETRY or CANCELLED; attempts reset to 0)
//   PENDING/RETRY ──cancel──▶ CANCELLED      RUNNING ──cancel──▶ cancel requested → CANCELLED by the worker
//   RUNNING ──lease expired──▶ RETRY / DEAD (reaper)     RUNNING ──shutdown release──▶ PENDING
//
// Every statement that ends a RUNNING job is fenced on (status, worker, attempt): zero rows changed means
// the lease was lost, and the outcome is not recorded.
import type { Executor } from '../db/connect.js';
import {
  jobCancelRunning,
  jobClaim,
  jobCompleteMany,
  jobFail,
  jobHeartbeat,
  jobReclaimExpired,
  jobRelease,
  type ClaimParams,
  type Fence,
  type Reclaimed,
} from '../sql/jobs.js';
import { backoffDelayMs, type BackoffOptions } from '../backoff.js';
import type { AttemptError, ClaimedJob } from './types.js';

export type { Fence, ClaimParams, Reclaimed };

/** Claims up to `limit` ready jobs of a queue (see jobClaim for the order). */
export function claim(exec: Executor, p: ClaimParams): Promise<ClaimedJob[]> {
  return jobClaim(exec, p);
}

/** Completes jobs (fenced). Returns the ids recorded; the rest had lost their lease. */
export function completeMany(
  exec: Executor,
  workerId: string,
  items: (Fence & { result?: unknown })[],
): Promise<Set<string>> {
  return jobCompleteMany(
    exec,
    workerId,
    items.map((i) => ({
      id: i.id,
      attempt: i.attempt,
      resultJson: i.result === undefined ? null : safeJson(i.result),
    })),
  );
}

/** Completes one job (fenced); false when the lease was lost. */
export async function complete(
  exec: Executor,
  workerId: string,
  fence: Fence,
  result?: unknown,
): Promise<boolean> {
  const done = await completeMany(exec, workerId, [{ ...fence, result }]);
  return done.has(fence.id);
}

export interface FailInput extends Fence {
  workerId: string;
  error: unknown;
  permanent: boolean;
  backoff: BackoffOptions;
  /** A per-type max attempts that replaces the job's own (recorded on the job). */
  maxAttempts?: number;
}

/** Fails an attempt (fenced). Returns the new status, or null when the lease was lost. */
export async function fail(exec: Executor, f: FailInput): Promise<'RETRY' | 'DEAD' | null> {
  const r = await jobFail(exec, {
    id: f.id,
    attempt: f.attempt,
    workerId: f.workerId,
    error: describeError(f.error, f.attempt, f.workerId, f.permanent),
    retryDelayMs: backoffDelayMs(f.attempt, f.backoff),
    permanent: f.permanent,
    ...(f.maxAttempts !== undefined ? { maxAttempts: f.maxAttempts } : {}),
  });
  return r?.status ?? null;
}

/** Ends a RUNNING job whose cancellation was requested (fenced). */
export function finishCancelled(exec: Executor, workerId: string, fence: Fence): Promise<boolean> {
  return jobCancelRunning(exec, { ...fence, workerId });
}

/** Gives a worker's unfinished jobs back for immediate pickup (graceful shutdown). */
export function release(exec: Executor, workerId: string, items: Fence[]): Promise<number> {
  return jobRelease(exec, workerId, items);
}

/** Extends a worker's leases; reports lost leases and cancellation requests. */
export function heartbeat(exec: Executor, workerId: string, ids: string[], leaseMs: number) {
  return jobHeartbeat(exec, workerId, ids, leaseMs);
}

/** Reclaims jobs whose lease expired (any worker or the scheduler may call this). */
export function reclaimExpired(exec: Executor, limit = 1000): Promise<Reclaimed[]> {
  return jobReclaimExpired(exec, limit);
}

/** Turns anything thrown by a handler into an error-history entry (message and the head of the stack). */
export function describeError(
  err: unknown,
  attempt: number,
  worker: string | null,
  permanent = false,
): AttemptError {
  const e =
    err instanceof Error ? err : new Error(typeof err === 'string' ? err : (safeJson(err) ?? String(err)));
  const stack = e.stack?.split('\n').slice(0, 6).join('\n');
  return {
    attempt,
    message: (e.message || e.name).slice(0, 2000),
    ...(stack ? { stack } : {}),
    worker,
    at: new Date().toISOString(),
    ...(permanent ? { permanent: true } : {}),
  };
}

function safeJson(v: unknown): string | null {
  try {
    // JSON.stringify returns undefined for undefined and functions, though typed as string.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
    return JSON.stringify(v) ?? null;
  } catch {
    return null;
  }
}
