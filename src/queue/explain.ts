// `jobq explain`: why a job is where it is and what happens next, as a structured answer (reason code,
// one-sentence summary, details, next step, the command to run) shared by the CLI, the API and the
// dashboard. Reads only; the order of checks mirrors what a worker's claim would run into. Waiting jobs
// are explained in explain-waiting.ts; the answer's shape is in explain-format.ts.
import type { Executor } from '../db/connect.js';
import { NotFoundError } from '../errors.js';
import { formatDuration } from '../parse.js';
import { jobExplainContext, workerGet } from '../sql/explain.js';
import { jobGet } from '../sql/jobs.js';
import { workerStall } from '../sql/workers.js';
import {
  lastErrorDetail,
  make,
  plural,
  when,
  type ExplainDetail,
  type Explanation,
} from './explain-format.js';
import { explainWaiting } from './explain-waiting.js';
import type { Job } from './types.js';
import { validateId } from './validate.js';

export {
  EXPLAIN_REASONS,
  type ExplainDetail,
  type ExplainReason,
  type Explanation,
} from './explain-format.js';

export interface ExplainOptions {
  /** Heartbeat freshness for "online" workers (see onlineWindowMs). */
  onlineWithinMs: number;
  /** The workers' starvation bound (JOBQ_STARVATION_SECONDS): part of the claim order. */
  starvationMs: number;
}

/** Explains one job; NotFoundError when there is none. */
export async function explainJob(exec: Executor, id: string, opts: ExplainOptions): Promise<Explanation> {
  const jobId = validateId('id', id);
  const job = await jobGet(exec, jobId);
  if (!job) throw new NotFoundError('job', jobId);
  const ctx = await jobExplainContext(exec, {
    id: job.id,
    queue: job.queue,
    type: job.type,
    key: job.key,
    onlineWithinMs: opts.onlineWithinMs,
    starvationMs: opts.starvationMs,
  });
  let e: Explanation;
  switch (job.status) {
    case 'PENDING':
    case 'RETRY':
      e = explainWaiting(job, ctx);
      break;
    case 'RUNNING':
      e = await explainRunning(exec, job, ctx.now);
      break;
    default:
      e = explainFinished(job, ctx.now);
  }
  return await withStallNote(exec, job, e);
}

/**
 * When the job's last attempt ended by lease expiry and that worker reported an event-loop stall
 * (a CPU-bound handler blocking it), say so: the stall, not a crash, is why the lease expired.
 */
async function withStallNote(exec: Executor, job: Job, e: Explanation): Promise<Explanation> {
  const last = job.errors.at(-1);
  if (!last?.worker || !last.message.startsWith('lease expired')) return e;
  const stall = await workerStall(exec, last.worker);
  if (!stall) return e;
  const note = `worker ${last.worker} reported its event loop blocked for ${formatDuration(stall.stalledMs)} at ${stall.stalledAt.toISOString()} (a handler doing CPU-bound work on the main thread?)`;
  return {
    ...e,
    summary: `${e.summary} Its last lease expired while ${note}.`,
    details: [...e.details, { label: 'worker stall', value: note }],
  };
}

/** RUNNING: held under a lease, being cancelled, or with an expired lease awaiting the reaper. */
async function explainRunning(exec: Executor, job: Job, now: Date): Promise<Explanation> {
  const holder = job.lockedBy ?? 'an unknown worker';
  const worker = job.lockedBy ? await workerGet(exec, job.lockedBy) : undefined;
  const details: ExplainDetail[] = [
    { label: 'worker', value: holder },
    {
      label: 'worker heartbeat',
      value: worker ? when(worker.lastHeartbeatAt, now) : 'not registered (stopped or pruned)',
    },
    ...(worker ? [{ label: 'worker host', value: `${worker.host} (pid ${worker.pid})` }] : []),
    { label: 'started', value: job.startedAt ? when(job.startedAt, now) : '-' },
    { label: 'lease expires', value: job.leaseExpiresAt ? when(job.leaseExpiresAt, now) : '-' },
    ...lastErrorDetail(job),
  ];
  if (job.cancelRequestedAt) {
    return make(
      job,
      'cancel_requested',
      `Cancellation was requested by ${job.cancelledBy ?? 'an operator'} at ${when(job.cancelRequestedAt, now)}; worker ${holder} is stopping it.`,
      `Its handler's AbortSignal fires on the worker's next heartbeat (or at once via NOTIFY) and the job ends CANCELLED; if the worker is gone, the lease expires and the reaper marks it CANCELLED.`,
      [{ label: 'cancel requested by', value: job.cancelledBy ?? '-' }, ...details],
      { at: job.leaseExpiresAt },
    );
  }
  if (job.leaseExpiresAt && job.leaseExpiresAt.getTime() < now.getTime()) {
    const to = job.attempts >= job.maxAttempts ? 'DEAD (no attempts left)' : 'RETRY after its retry backoff';
    return make(
      job,
      'lease_expired',
      `Worker ${holder} stopped renewing its lease, which expired at ${when(job.leaseExpiresAt, now)} (crashed, stalled or partitioned).`,
      `The lease reaper (in the scheduler and in live workers) reclaims it to ${to}; a late result from ${holder} will be refused.`,
      details,
      { at: job.leaseExpiresAt },
    );
  }
  return make(
    job,
    'running',
    `Running attempt ${job.attempts} of ${job.maxAttempts} on worker ${holder}, under a lease until ${job.leaseExpiresAt ? when(job.leaseExpiresAt, now) : 'unknown'}.`,
    `The worker renews the lease with its heartbeat until the handler ends (COMPLETED, or RETRY/DEAD on error). If the worker dies, the lease expires and the job is reclaimed.`,
    details,
    { at: job.leaseExpiresAt },
  );
}

/** COMPLETED / DEAD / CANCELLED. */
function explainFinished(job: Job, now: Date): Explanation {
  const finished = job.finishedAt ?? job.updatedAt;
  const retryCmd = `jobq retry ${job.id}`;
  if (job.status === 'COMPLETED') {
    const took = job.startedAt ? formatDuration(finished.getTime() - job.startedAt.getTime()) : 'unknown';
    const total = formatDuration(finished.getTime() - job.createdAt.getTime());
    return make(
      job,
      'completed',
      `Completed at ${when(finished, now)} by worker ${job.lockedBy ?? 'unknown'} in ${took} (attempt ${job.attempts} of ${job.maxAttempts}; ${total} after it was enqueued).`,
      'Nothing more happens; it is kept until retention prunes completed jobs (JOBQ_RETENTION_COMPLETED).',
      [
        { label: 'finished', value: when(finished, now) },
        { label: 'worker', value: job.lockedBy ?? '-' },
        { label: 'run time', value: took },
        { label: 'enqueue to finish', value: total },
      ],
    );
  }
  if (job.status === 'DEAD') {
    const last = job.errors.at(-1);
    const why = last?.permanent
      ? 'its handler threw a permanent error'
      : job.attempts >= job.maxAttempts
        ? `all ${plural(job.maxAttempts, 'attempt')} failed`
        : 'it was moved to the dead-letter queue';
    return make(
      job,
      'dead',
      `Dead since ${when(finished, now)}: ${why}; last error: "${job.lastError ?? 'unknown'}".`,
      `It stays in the dead-letter queue until retried or purged. To run it again with a fresh budget of ${plural(job.maxAttempts, 'attempt')}: ${retryCmd}`,
      [
        { label: 'died', value: when(finished, now) },
        ...lastErrorDetail(job),
        ...(last?.worker ? [{ label: 'last worker', value: last.worker }] : []),
      ],
      { command: retryCmd },
    );
  }
  return make(
    job,
    'cancelled',
    `Cancelled by ${job.cancelledBy ?? 'an operator'} at ${when(job.cancelRequestedAt ?? finished, now)}.`,
    `Nothing more happens. To run it anyway: ${retryCmd}`,
    [
      { label: 'cancelled by', value: job.cancelledBy ?? '-' },
      { label: 'cancelled at', value: when(job.cancelRequestedAt ?? finished, now) },
      ...(job.startedAt ? [{ label: 'was running on', value: job.lockedBy ?? '-' }] : []),
    ],
    { command: retryCmd },
  );
}
