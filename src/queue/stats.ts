// Queue statistics and settings: counts by queue × status, oldest ready age, pause/resume.
import type { Executor } from '../db/connect.js';
import { JOB_STATUSES, type JobStatus } from '../db/schema.js';
import { jobCountByQueueStatus, jobOldestReady } from '../sql/jobs-operator.js';
import { queueListSettings, queueSetPaused } from '../sql/queues.js';
import { validateName } from './validate.js';
import type { QueueStats } from './types.js';

function zeroCounts(): Record<JobStatus, number> {
  return Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
}

/** Per queue (every queue with jobs or settings): counts by status, paused, oldest ready age. */
export async function queueStats(exec: Executor): Promise<QueueStats[]> {
  const [counts, oldest, settings] = await Promise.all([
    jobCountByQueueStatus(exec),
    jobOldestReady(exec),
    queueListSettings(exec),
  ]);
  const out = new Map<string, QueueStats>();
  const get = (queue: string): QueueStats => {
    let s = out.get(queue);
    if (!s) {
      s = { queue, paused: false, counts: zeroCounts(), oldestReadyAgeSeconds: null };
      out.set(queue, s);
    }
    return s;
  };
  for (const c of counts) get(c.queue).counts[c.status] = c.n;
  for (const o of oldest) get(o.queue).oldestReadyAgeSeconds = Math.max(0, o.age_seconds);
  for (const q of settings) get(q.name).paused = q.paused;
  return [...out.values()].sort((a, b) => a.queue.localeCompare(b.queue));
}

/** Pauses a queue: workers stop claiming from it (running jobs finish). */
export async function pauseQueue(exec: Executor, name: string): Promise<void> {
  await setPaused(exec, name, true);
}

/** Resumes a paused queue. */
export async function resumeQueue(exec: Executor, name: string): Promise<void> {
  await setPaused(exec, name, false);
}

async function setPaused(exec: Executor, name: string, paused: boolean): Promise<void> {
  const q = validateName('queue', name);
  await queueSetPaused(exec, q, paused);
}
