// `jobq explain`: why a job is where it is and what happens next, as a structured answer (reason code,
// one-sentence summary, details, next step, the command to run) shared by the CLI, the API and the
// dashboard. Reads only; the order of checks mirrors what a worker's claim would run into.
import type { Executor } from '../db/connect.js';
import { NotFoundError } from '../errors.js';
import { formatDuration } from '../parse.js';
import { jobExplainContext, workerGet, type JobContextRow } from '../sql/explain.js';
import { jobGet } from '../sql/jobs.js';
import { workerStall } from '../sql/workers.js';
import type { Job, JobStatus } from './types.js';
import { formatRate } from './limits.js';
import { validateId } from './validate.js';

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

/** "2026-01-02T03:04:05.000Z (in 5m 3s)" / "(12s ago)". */
function when(d: Date, now: Date): string {
  const diff = d.getTime() - now.getTime();
  const rel =
    Math.abs(diff) < 1000 ? 'now' : diff > 0 ? `in ${formatDuration(diff)}` : `${formatDuration(-diff)} ago`;
  return `${d.toISOString()} (${rel})`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function base(job: Job): ExplainDetail[] {
  return [
    { label: 'queue', value: job.queue },
    { label: 'type', value: job.type },
    { label: 'attempts', value: `${job.attempts} of ${job.maxAttempts}` },
  ];
}

function make(
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

function lastErrorDetail(job: Job): ExplainDetail[] {
  return job.lastError ? [{ label: 'last error', value: job.lastError }] : [];
}

/** What would hold a not-yet-ready job back once it is ready ("" when nothing would). */
function blockerNote(job: Job, c: JobContextRow): string {
  if (c.paused) return ` — but queue "${job.queue}" is paused now (jobq queues resume ${job.queue})`;
  if (c.serving === 0) return ` — but no live worker serves queue "${job.queue}" now`;
  if (c.knowing === 0) return ` — but no live worker has a handler for "${job.type}" now`;
  return '';
}

/** PENDING / RETRY: not ready yet, or ready and held back by the queue, the workers or busy slots. */
function explainWaiting(job: Job, c: JobContextRow): Explanation {
  const retryCmd = `jobq retry ${job.id}`;
  const ctxDetails: ExplainDetail[] = [
    { label: 'queue paused', value: c.paused ? 'yes' : 'no' },
    {
      label: 'workers serving queue',
      value: `${c.serving} online (${c.knowing} with a handler for ${job.type})`,
    },
    { label: 'slots', value: `${c.running} of ${c.slots} busy` },
    ...lastErrorDetail(job),
  ];
  if (job.runAfter.getTime() > c.now.getTime()) {
    const caveat = blockerNote(job, c);
    if (job.status === 'RETRY') {
      return make(
        job,
        'retry_scheduled',
        `Attempt ${job.attempts} of ${job.maxAttempts} failed with "${job.lastError ?? 'unknown error'}"; the next attempt is at ${when(job.runAfter, c.now)}.`,
        `At ${job.runAfter.toISOString()} it becomes ready and a worker serving "${job.queue}" runs attempt ${job.attempts + 1} of ${job.maxAttempts}${caveat}. To retry at once: ${retryCmd}`,
        [{ label: 'next attempt at', value: when(job.runAfter, c.now) }, ...ctxDetails],
        { command: retryCmd, at: job.runAfter },
      );
    }
    return make(
      job,
      'scheduled',
      `Scheduled for later: it becomes ready at ${when(job.runAfter, c.now)}.`,
      `At ${job.runAfter.toISOString()} it joins the ready jobs of queue "${job.queue}" and a worker serving that queue claims it${caveat}.`,
      [{ label: 'ready at', value: when(job.runAfter, c.now) }, ...ctxDetails],
      { at: job.runAfter },
    );
  }
  const readyFor = formatDuration(Math.max(0, c.now.getTime() - job.runAfter.getTime()));
  const waiting: ExplainDetail[] = [{ label: 'ready for', value: readyFor }, ...ctxDetails];
  if (c.paused) {
    return make(
      job,
      'queue_paused',
      `Queue "${job.queue}" is paused, so no worker claims from it; this job has been ready for ${readyFor}.`,
      `It runs once the queue is resumed: jobq queues resume ${job.queue}`,
      waiting,
      { command: `jobq queues resume ${job.queue}` },
    );
  }
  if (c.serving === 0) {
    return make(
      job,
      'no_worker_for_queue',
      `No live worker serves queue "${job.queue}" (${plural(c.online, 'worker')} online in total); this job has been ready for ${readyFor}.`,
      `Start a worker for the queue, e.g. jobq worker --queue ${job.queue}; it will claim the job at once.`,
      waiting,
      { command: `jobq worker --queue ${job.queue}` },
    );
  }
  if (c.knowing === 0) {
    const known = c.knownTypes.length > 0 ? c.knownTypes.join(', ') : 'none';
    return make(
      job,
      'no_worker_for_type',
      `No live worker knows job type "${job.type}": the ${plural(c.serving, 'worker')} serving queue "${job.queue}" have handlers for ${known}.`,
      `Deploy a worker with a handler for "${job.type}" on queue "${job.queue}" (JOBQ_HANDLERS / --handlers); until then it cannot run.`,
      [...waiting, { label: 'types known on the queue', value: known }],
    );
  }
  const limited = explainLimits(job, c, waiting, readyFor);
  if (limited) return limited;
  if (c.running >= c.slots) {
    return make(
      job,
      'slots_busy',
      `All ${plural(c.slots, 'slot')} of queue "${job.queue}" are busy and ${plural(c.ahead, 'job')} ${c.ahead === 1 ? 'is' : 'are'} ahead of it; it has been ready for ${readyFor}.`,
      `It starts when ${c.ahead + 1 === 1 ? 'a slot frees up' : `${c.ahead + 1} slots have freed up`} (or sooner with more workers or slots for "${job.queue}").`,
      [{ label: 'jobs ahead', value: String(c.ahead) }, ...waiting],
    );
  }
  return make(
    job,
    'ready',
    `Ready for ${readyFor} with ${plural(c.ahead, 'job')} ahead of it; ${plural(c.slots - c.running, 'slot')} of queue "${job.queue}" ${c.slots - c.running === 1 ? 'is' : 'are'} free.`,
    `A worker serving "${job.queue}" should claim it on its next wake-up or poll.`,
    [{ label: 'jobs ahead', value: String(c.ahead) }, ...waiting],
  );
}

/** The queue's flow limits as details (only those it has). */
function limitDetails(job: Job, c: JobContextRow): ExplainDetail[] {
  const d: ExplainDetail[] = [];
  if (c.concurrency !== null)
    d.push({ label: 'concurrency limit', value: `${c.running} of ${c.concurrency} running` });
  if (c.rateCount !== null && c.ratePeriodMs !== null)
    d.push({
      label: 'rate limit',
      value: `${formatRate(c.rateCount, c.ratePeriodMs)}, burst ${c.burst ?? '-'}, ${Math.floor(c.tokens ?? 0)} available now`,
    });
  if (c.keyConcurrency !== null && job.key !== null)
    d.push({
      label: 'per-key limit',
      value: `key ${job.key}: ${c.keyRunning} of ${c.keyConcurrency} running`,
    });
  return d;
}

/** A ready job held back by one of its queue's flow limits (the claim's own checks), or null. */
function explainLimits(
  job: Job,
  c: JobContextRow,
  waiting: ExplainDetail[],
  readyFor: string,
): Explanation | null {
  const details = [...limitDetails(job, c), ...waiting];
  const cmd = `jobq queues limit ${job.queue}`;
  if (c.concurrency !== null && c.running >= c.concurrency) {
    return make(
      job,
      'queue_concurrency_limit',
      `Queue "${job.queue}" is at its concurrency limit ${c.running}/${c.concurrency}; this job has been ready for ${readyFor}.`,
      `It starts when a running job of "${job.queue}" finishes (any worker). To raise the limit: ${cmd} --concurrency N`,
      details,
      { command: `${cmd} --concurrency ${c.concurrency * 2}` },
    );
  }
  if (c.keyConcurrency !== null && job.key !== null && c.keyRunning >= c.keyConcurrency) {
    return make(
      job,
      'key_concurrency_limit',
      `Key ${job.key} is at its limit ${c.keyRunning}/${c.keyConcurrency} in queue "${job.queue}"; other keys' jobs go ahead meanwhile.`,
      `It starts when one of key ${job.key}'s running jobs finishes. To raise the limit: ${cmd} --per-key-concurrency N`,
      details,
    );
  }
  if (c.rateCount !== null && c.ratePeriodMs !== null && (c.tokens ?? 0) < 1) {
    const inMs = Math.ceil(((1 - (c.tokens ?? 0)) * c.ratePeriodMs) / c.rateCount);
    return make(
      job,
      'queue_rate_limit',
      `Rate limit: queue "${job.queue}" may start ${formatRate(c.rateCount, c.ratePeriodMs)}; next start in ${formatDuration(inMs)}.`,
      `Jobs of "${job.queue}" start as the bucket refills, ${plural(c.ahead, 'job')} ahead of this one. To change it: ${cmd} --rate R/s`,
      [{ label: 'jobs ahead', value: String(c.ahead) }, ...details],
      { at: new Date(c.now.getTime() + inMs) },
    );
  }
  return null;
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
    const to = job.attempts >= job.maxAttempts ? 'DEAD (no attempts left)' : 'RETRY, ready at once';
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
