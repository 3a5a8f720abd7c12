// Why a PENDING or RETRY job has not started: not ready yet, or ready and held back by its queue (paused),
// the workers (none serving the queue or knowing the type), one of the queue's flow limits, or busy slots
// (RUNNING jobs plus slots still held by handlers past their timeout).
import { formatDuration } from '../parse.js';
import type { JobContextRow } from '../sql/explain.js';
import {
  lastErrorDetail,
  make,
  plural,
  when,
  type ExplainDetail,
  type Explanation,
} from './explain-format.js';
import { formatRate } from './limits.js';
import type { Job } from './types.js';

/** What would hold a not-yet-ready job back once it is ready ("" when nothing would). */
function blockerNote(job: Job, c: JobContextRow): string {
  if (c.paused) return ` — but queue "${job.queue}" is paused now (jobq queues resume ${job.queue})`;
  if (c.serving === 0) return ` — but no live worker serves queue "${job.queue}" now`;
  if (c.knowing === 0) return ` — but no live worker has a handler for "${job.type}" now`;
  return '';
}

/** PENDING / RETRY: not ready yet, or ready and held back by the queue, the workers or busy slots. */
export function explainWaiting(job: Job, c: JobContextRow): Explanation {
  const retryCmd = `jobq retry ${job.id}`;
  // Busy slots: RUNNING jobs, plus slots still held by handlers past their timeout (their jobs are no
  // longer RUNNING, but the worker gives those slots back only after its timeout grace).
  const busy = c.running + c.overtime;
  const overtimeNote =
    c.overtime > 0 ? ` (${plural(c.overtime, 'slot')} held by handlers past their timeout)` : '';
  const ctxDetails: ExplainDetail[] = [
    { label: 'queue paused', value: c.paused ? 'yes' : 'no' },
    {
      label: 'workers serving queue',
      value: `${c.serving} online (${c.knowing} with a handler for ${job.type})`,
    },
    { label: 'slots', value: `${busy} of ${c.slots} busy${overtimeNote}` },
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
  if (busy >= c.slots) {
    const graceNote =
      c.overtime > 0
        ? ` ${c.overtime === 1 ? 'The slot' : 'Those slots'} held past a timeout ${c.overtime === 1 ? 'is' : 'are'} given back within the workers' timeout grace (JOBQ_TIMEOUT_GRACE_MS), even if ${c.overtime === 1 ? 'its handler ignores' : 'their handlers ignore'} the signal.`
        : '';
    return make(
      job,
      'slots_busy',
      `All ${plural(c.slots, 'slot')} of queue "${job.queue}" are busy${overtimeNote} and ${plural(c.ahead, 'job')} ${c.ahead === 1 ? 'is' : 'are'} ahead of it; it has been ready for ${readyFor}.`,
      `It starts when ${c.ahead + 1 === 1 ? 'a slot frees up' : `${c.ahead + 1} slots have freed up`} (or sooner with more workers or slots for "${job.queue}").${graceNote}`,
      [{ label: 'jobs ahead', value: String(c.ahead) }, ...waiting],
    );
  }
  return make(
    job,
    'ready',
    `Ready for ${readyFor} with ${plural(c.ahead, 'job')} ahead of it; ${plural(c.slots - busy, 'slot')} of queue "${job.queue}" ${c.slots - busy === 1 ? 'is' : 'are'} free.`,
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
