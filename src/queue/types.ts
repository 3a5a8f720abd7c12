// The queue library's public shapes: a job as callers see it, what they pass to enqueue, list filters.
import type { JobStatus } from '../db/schema.js';

export type { JobStatus };

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
  cancelRequestedAt: Date | null;
  cancelledBy: string | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

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
}

export interface ListFilter {
  status?: JobStatus | undefined;
  queue?: string | undefined;
  type?: string | undefined;
  limit?: number | undefined;
  /** Keyset cursor: the id of the last job of the previous page. */
  cursor?: string | undefined;
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
