// The shapes of jobs as the SQL functions take and return them, and the one mapping of a jobs row (typed
// by the Kysely schema) to a Job. The queue library re-exports these types (queue/types.ts).
import type { Selectable } from 'kysely';
import type { JobsTable, JobStatus } from '../db/schema.js';

/** One failed attempt, kept in the job's error history. */
export interface AttemptError {
  attempt: number;
  message: string;
  stack?: string;
  worker: string | null;
  at: string;
  permanent?: boolean;
}

export interface Job {
  id: string;
  type: string;
  payload: unknown;
  status: JobStatus;
  queue: string;
  priority: number;
  attempts: number;
  maxAttempts: number;
  runAfter: Date;
  lockedBy: string | null;
  lockedAt: Date | null;
  leaseExpiresAt: Date | null;
  lastError: string | null;
  errors: AttemptError[];
  result: unknown;
  idempotencyKey: string | null;
  /** The job's key (tenant), or null. */
  key: string | null;
  cancelRequestedAt: Date | null;
  cancelledBy: string | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** A validated enqueue, ready for the INSERT. */
export interface JobInsert {
  id: string;
  type: string;
  payloadJson: string;
  queue: string;
  priority: number;
  maxAttempts: number;
  /** null: now (database clock). */
  runAfter: Date | null;
  delayMs: number;
  idempotencyKey: string | null;
  /** The job's key (tenant); absent or null: none. */
  key?: string | null;
}

export interface EnqueueResult {
  id: string;
  /** false when an existing job with the same idempotency key was returned instead. */
  created: boolean;
}

/** A claimed job: what a worker needs to run it. */
export interface ClaimedJob {
  id: string;
  type: string;
  payload: unknown;
  queue: string;
  priority: number;
  attempt: number;
  maxAttempts: number;
  runAfter: Date;
  createdAt: Date;
  /** The job's key (tenant), or null. */
  key: string | null;
}

export interface ListFilter {
  status?: JobStatus | undefined;
  queue?: string | undefined;
  type?: string | undefined;
  limit?: number | undefined;
  /** Keyset cursor: the id of the last job of the previous page. */
  cursor?: string | undefined;
}

/** Maps a jobs row (snake_case, typed by the schema) to a Job. */
export function toJob(r: Selectable<JobsTable>): Job {
  return {
    id: r.id,
    type: r.type,
    payload: r.payload,
    status: r.status,
    queue: r.queue,
    priority: r.priority,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    runAfter: r.run_after,
    lockedBy: r.locked_by,
    lockedAt: r.locked_at,
    leaseExpiresAt: r.lease_expires_at,
    lastError: r.last_error,
    // jsonb: an array of entries built by sql/job-outcomes.ts historyEntry
    errors: (r.errors as AttemptError[] | null) ?? [],
    result: r.result ?? null,
    idempotencyKey: r.idempotency_key,
    key: r.key,
    cancelRequestedAt: r.cancel_requested_at,
    cancelledBy: r.cancelled_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}
