// How operator commands show jobs: the list table (jobs list, dead list) and the detail view (jobs show).
import type { Job, Page } from '../queue/index.js';
import { iso, printJson, printTable, relativeTime, say, truncate } from './output.js';

/** The message prefix a worker uses when it fails a job whose type it has no handler for. */
export const NO_HANDLER_PREFIX = 'no handler registered for type';

/** Larger payloads/results are cut in the human view (--json always prints everything). */
const SHOW_TEXT_MAX = 8192;

/** True when the job's last failure was "no handler registered for type …". */
export function failedForNoHandler(job: Job): boolean {
  return job.lastError?.startsWith(NO_HANDLER_PREFIX) ?? false;
}

function statusCell(job: Job): string {
  if (job.status === 'RUNNING' && job.cancelRequestedAt) return 'RUNNING (cancelling)';
  return job.status;
}

/** Prints a page of jobs: a JSON array, or a table plus the next-page hint. */
export function printJobPage(page: Page<Job>, json: boolean, command: string): void {
  if (json) {
    printJson(page.items);
    if (page.nextCursor) process.stderr.write(`more: ${command} --cursor ${page.nextCursor}\n`);
    return;
  }
  if (page.items.length === 0) {
    say('no jobs match');
    return;
  }
  const now = Date.now();
  printTable(
    ['id', 'type', 'queue', 'status', 'prio', 'attempts', 'run after', 'updated', 'last error'],
    page.items.map((j) => [
      j.id,
      j.type,
      j.queue,
      statusCell(j),
      j.priority,
      `${j.attempts}/${j.maxAttempts}`,
      relativeTime(j.runAfter, now),
      relativeTime(j.updatedAt, now),
      truncate(j.lastError, 40),
    ]),
  );
  if (page.nextCursor) say(`more jobs: ${command} --cursor ${page.nextCursor}`);
}

function when(d: Date | null, now: number): string {
  return d ? `${iso(d)} (${relativeTime(d, now)})` : '-';
}

function jsonText(value: unknown): string {
  const text = JSON.stringify(value, null, 2);
  return text.length > SHOW_TEXT_MAX
    ? `${text.slice(0, SHOW_TEXT_MAX)}\n… (${text.length} characters; use --json for all of it)`
    : text;
}

/** The first lines of a stack below its message line ("at …" frames). */
function stackHead(stack: string | undefined, lines = 3): string {
  if (!stack) return '-';
  const frames = stack
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('at '));
  return frames.length ? frames.slice(0, lines).join('\n') : '-';
}

/** The one-sentence account of where a job stands (from explainJob). */
export interface JobExplanation {
  reason: string;
  summary: string;
  next: string;
  command: string | null;
}

/** Reasons flagged with "!!": the job is held back by something outside it (queue, workers, lease). */
const STUCK = new Set(['queue_paused', 'no_worker_for_queue', 'no_worker_for_type', 'lease_expired']);

/** Prints one job with its payload, result, lease, timestamps and every failed attempt. */
export function printJobDetail(job: Job, why: JobExplanation): void {
  const now = Date.now();
  say(`job ${job.id}`);
  if (failedForNoHandler(job)) {
    say(`!! NO HANDLER: ${job.lastError ?? ''}`);
    say(
      job.status === 'DEAD'
        ? `!! no worker that took it knows type "${job.type}": deploy a handler for it, then \`jobq retry ${job.id}\``
        : `!! no worker that took it so far knows type "${job.type}"; it is retried with backoff (DEAD after its last attempt) until one that does takes it`,
    );
  }
  say(`${STUCK.has(why.reason) ? '!! ' : ''}why: ${why.summary}`);
  say(`next: ${why.next}`);
  const rows: [string, string | number][] = [
    ['status', statusCell(job)],
    ['type', job.type],
    ['queue', job.queue],
    ['priority', job.priority],
    ['attempts', `${job.attempts} of ${job.maxAttempts}`],
    ['run after (ready)', when(job.runAfter, now)],
  ];
  if (job.status === 'RUNNING') {
    rows.push(['lease holder', job.lockedBy ?? '-']);
    rows.push(['locked at', when(job.lockedAt, now)]);
    rows.push(['lease expires', when(job.leaseExpiresAt, now)]);
  } else if (job.lockedBy) {
    rows.push(['last worker', job.lockedBy]);
  }
  if (job.cancelRequestedAt)
    rows.push(['cancel requested', `${when(job.cancelRequestedAt, now)} by ${job.cancelledBy ?? '?'}`]);
  if (job.idempotencyKey) rows.push(['idempotency key', job.idempotencyKey]);
  rows.push(
    ['created', when(job.createdAt, now)],
    ['started', when(job.startedAt, now)],
    ['finished', when(job.finishedAt, now)],
    ['updated', when(job.updatedAt, now)],
    ['last error', job.lastError ?? '-'],
  );
  printTable(['field', 'value'], rows);
  say('payload:');
  say(jsonText(job.payload));
  if (job.result !== null) {
    say('result:');
    say(jsonText(job.result));
  }
  if (job.errors.length === 0) {
    say('errors: none');
    return;
  }
  say(`errors (${job.errors.length} failed attempt${job.errors.length === 1 ? '' : 's'}):`);
  printTable(
    ['attempt', 'time', 'worker', 'message', 'stack head'],
    job.errors.map((e) => [
      `${e.attempt}${e.permanent ? ' (permanent)' : ''}`,
      e.at,
      e.worker ?? '-',
      truncate(e.message, 200),
      stackHead(e.stack),
    ]),
  );
}
