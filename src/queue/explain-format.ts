// The shape of a `jobq explain` answer (reason codes, details, summary, next step, command) and the
// phrasing helpers every explanation uses.
import { formatDuration } from '../parse.js';
import type { Job, JobStatus } from './types.js';

/** Stable reason codes (the API and dashboard switch on them). */
export const EXPLAIN_REASONS = [
  'scheduled',
  'retry_scheduled',
  'queue_paused',
  'no_worker_for_queue',
  'no_worker_for_type',
  'queue_concurrency_limit',
  'key_concurrency_limit',
  'queue_rate_limit',
  'slots_busy',
  'ready',
  'running',
  'cancel_requested',
  'lease_expired',
  'completed',
  'dead',
  'cancelled',
] as const;
export type ExplainReason = (typeof EXPLAIN_REASONS)[number];

export interface ExplainDetail {
  label: string;
  value: string;
}

export interface Explanation {
  id: string;
  status: JobStatus;
  reason: ExplainReason;
  /** One plain sentence: why the job is where it is. */
  summary: string;
  details: ExplainDetail[];
  /** What happens next (or what an operator can do). */
  next: string;
  /** The exact command that moves the job on, when there is one. */
  command: string | null;
  /** When the next thing happens (ISO time), when known. */
  at: string | null;
}

/** "2026-01-02T03:04:05.000Z (in 5m 3s)" / "(12s ago)". */
export function when(d: Date, now: Date): string {
  const diff = d.getTime() - now.getTime();
  const rel =
    Math.abs(diff) < 1000 ? 'now' : diff > 0 ? `in ${formatDuration(diff)}` : `${formatDuration(-diff)} ago`;
  return `${d.toISOString()} (${rel})`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function base(job: Job): ExplainDetail[] {
  return [
    { label: 'queue', value: job.queue },
    { label: 'type', value: job.type },
    { label: 'attempts', value: `${job.attempts} of ${job.maxAttempts}` },
  ];
}

/** An explanation of `job`: the reason, one-sentence summary, next step and details (after the basics). */
export function make(
  job: Job,
  reason: ExplainReason,
  summary: string,
  next: string,
  details: ExplainDetail[],
  extra: { command?: string; at?: Date | null } = {},
): Explanation {
  return {
    id: job.id,
    status: job.status,
    reason,
    summary,
    details: [...base(job), ...details],
    next,
    command: extra.command ?? null,
    at: extra.at ? extra.at.toISOString() : null,
  };
}

export function lastErrorDetail(job: Job): ExplainDetail[] {
  return job.lastError ? [{ label: 'last error', value: job.lastError }] : [];
}
