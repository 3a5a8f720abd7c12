// The job state machine, and the worker-side transitions (claim, complete, fail, cancel, release).
//
//   PENDING ──claim──▶ RUNNING ──ok──▶ COMPLETED
//      ▲                  │
//      │               attempt failed
//      │                  ├── attempts left ──▶ RETRY (run_after = now + backoff) ──claim──▶ RUNNING …
//      │                  └── none left, or permanent error ──▶ DEAD
//      └──── retry (from DEAD, RETRY or CANCELLED; attempts reset to 0)
//   PENDING/RETRY ──cancel──▶ CANCELLED      RUNNING ──cancel──▶ cancel requested → CANCELLED by the worker
//   RUNNING ──lease expired──▶ RETRY / DEAD (reaper: the lost attempt counts, same decision as a failure)
//   RUNNING ──shutdown release──▶ PENDING (not counted; from release FREE_RELEASES+1 on, counted as a failure)
//   RUNNING ──defer (never started, or no database connection for the handler)──▶ PENDING, not counted
//
// Every outcome of a RUNNING job goes through one fenced statement (setOutcomes → jobSetOutcomes): zero
// rows changed means the lease was lost, and the outcome is not recorded. RETRY vs DEAD is decided in one
// place (retryDecision in sql/job-outcomes.ts) for failures and lease expiry alike.
import type { Executor } from '../db/connect.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from '../backoff.js';
import {
  FREE_RELEASES,
  jobReclaimExpired,
  jobSetOutcomes,
  type OutcomeItem,
  type OutcomeKind,
  type OutcomeWritten,
  type Reclaimed,
  type RetryDefaults,
} from '../sql/job-outcomes.js';
import {
  jobClaim,
  jobClaimLimited,
  type ClaimOutcome,
  type ClaimParams,
  type ThrottleReason,
} from '../sql/jobs-claim.js';
import { jobHeartbeat, type Fence } from '../sql/jobs.js';
import { storableError, storableResult } from './outcome-values.js';
import type { ClaimedJob } from './types.js';

export type {
  Fence,
  ClaimParams,
  ClaimOutcome,
  Reclaimed,
  OutcomeItem,
  OutcomeKind,
  OutcomeWritten,
  RetryDefaults,
  ThrottleReason,
};
export { FREE_RELEASES, storableError, storableResult };

/**
 * Claims up to `limit` ready jobs of a queue, in claim order (see jobClaim), honouring the queue's flow
 * limits. `limited` is the caller's guess (from the previous claim): a queue without limits is claimed
 * without the flow lock. A stale guess costs at most a round trip, never a limit: the plain statement
 * refuses a queue that has limits (and the limited one runs at once), and the limited statement works
 * for a queue whose limits were removed (its answer says so, for the next guess).
 */
export async function claimFlow(
  exec: Executor,
  p: ClaimParams & { limited?: boolean },
): Promise<ClaimOutcome> {
  if (p.limited === true) return jobClaimLimited(exec, p); // still right if the limits were removed
  const plain = await jobClaim(exec, p);
  // the plain statement claims nothing from a queue with limits: it only says so
  return plain.limited ? jobClaimLimited(exec, p) : plain;
}

/** Claims up to `limit` ready jobs of a queue (see claimFlow); just the jobs. */
export async function claim(exec: Executor, p: ClaimParams): Promise<ClaimedJob[]> {
  return (await claimFlow(exec, p)).jobs;
}

/**
 * Writes outcomes of one worker's jobs in one fenced statement (the worker's one outcome path). Returns
 * the rows written with their new status; a job missing from the answer had lost its lease. `defaults`:
 * the backoff for jobs whose claim recorded none, and the releases not counted (default FREE_RELEASES).
 */
export function setOutcomes(
  exec: Executor,
  workerId: string,
  items: OutcomeItem[],
  defaults: RetryDefaults = DEFAULT_BACKOFF,
): Promise<OutcomeWritten[]> {
  return jobSetOutcomes(exec, workerId, items, defaults);
}

/** Completes jobs (fenced). Returns the ids recorded; the rest had lost their lease. */
export async function completeMany(
  exec: Executor,
  workerId: string,
  items: (Fence & { result?: unknown })[],
): Promise<Set<string>> {
  const written = await setOutcomes(
    exec,
    workerId,
    items.map((i) => {
      const r = storableResult(i.result);
      if (!r.ok) throw new Error(r.message);
      return { id: i.id, attempt: i.attempt, kind: 'complete', resultJson: r.json };
    }),
  );
  return new Set(written.map((w) => w.id));
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
  /** Backoff when the job's claim recorded none. */
  backoff?: BackoffOptions;
  /** A per-type max attempts that replaces the job's own (recorded on the job). */
  maxAttempts?: number;
}

/** Fails an attempt (fenced). Returns the new status, or null when the lease was lost. */
export async function fail(exec: Executor, f: FailInput): Promise<'RETRY' | 'DEAD' | null> {
  const e = storableError(f.error);
  const [w] = await setOutcomes(
    exec,
    f.workerId,
    [
      {
        id: f.id,
        attempt: f.attempt,
        kind: 'fail',
        message: e.message,
        stack: e.stack,
        permanent: f.permanent,
        maxAttempts: f.maxAttempts ?? null,
      },
    ],
    f.backoff,
  );
  return (w?.status as 'RETRY' | 'DEAD' | undefined) ?? null;
}

/** Extends a worker's leases; reports lost leases and cancellation requests. */
export function heartbeat(exec: Executor, workerId: string, ids: string[], leaseMs: number) {
  return jobHeartbeat(exec, workerId, ids, leaseMs);
}

/** Reclaims jobs whose lease expired (any worker or the scheduler may call this). */
export function reclaimExpired(
  exec: Executor,
  limit = 1000,
  defaults: BackoffOptions = DEFAULT_BACKOFF,
): Promise<Reclaimed[]> {
  return jobReclaimExpired(exec, limit, defaults);
}
