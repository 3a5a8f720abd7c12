// The queue library's public shapes: a job as callers see it, what they pass to enqueue, list filters.
import type { JobStatus } from '../db/schema.js';

export type { JobStatus };
export type { AttemptError, ClaimedJob, EnqueueResult, Job, JobInsert, ListFilter } from '../sql/job-rows.js';

/** What a caller asks to enqueue. */
export interface EnqueueSpec {
  type: string;
  payload?: unknown;
  queue?: string;
  priority?: number;
  /** Absolute time the job becomes ready. Exclusive with delayMs. */
  runAt?: Date | string;
  /** Delay from now in milliseconds. Exclusive with runAt. */
  delayMs?: number;
  maxAttempts?: number;
  idempotencyKey?: string;
  /** The job's key (tenant): per-key concurrency limits and fair shares between keys apply to it. */
  key?: string;
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface QueueStats {
  queue: string;
  paused: boolean;
  counts: Record<JobStatus, number>;
  /** Seconds since the oldest ready (PENDING/RETRY, run_after passed) job became ready; null if none. */
  oldestReadyAgeSeconds: number | null;
}

/** Limits applied by validation. */
export interface Limits {
  maxPayloadBytes: number;
  defaultMaxAttempts: number;
}

export const DEFAULT_LIMITS: Limits = { maxPayloadBytes: 1_048_576, defaultMaxAttempts: 5 };
