// Firing due schedules: the one transaction that locks a due schedule, plans its fire times (missed-run
// and overlap policies), enqueues their jobs and moves next_run_at by compare-and-set. What `jobq
// scheduler` calls in its loop; any number of schedulers may call it at once.
import type { Executor } from '../db/connect.js';
import type { JobStatus } from '../db/schema.js';
import { scheduleAdvance, scheduleListDue, scheduleLockDue, scheduleNextDueMs } from '../sql/schedules.js';
import { CATCH_UP_CAP, planFires } from './cron.js';
import { insertRows } from './enqueue.js';
import { scheduleJobSpec } from './schedules.js';
import { DEFAULT_LIMITS, type Limits } from './types.js';
import { validateEnqueue } from './validate.js';

/** Statuses in which a schedule's last job counts as still running for overlap `skip`. */
export const IN_FLIGHT: readonly JobStatus[] = ['PENDING', 'RETRY', 'RUNNING'];

export interface FireOptions {
  /** Fire times overdue by at most this much are on time; older ones follow the missed-run policy. */
  graceMs: number;
  /** Most missed fire times the `all` policy enqueues at once. */
  cap?: number;
  limits?: Limits;
}

export interface FireOutcome {
  name: string;
  /** Queue and type of the jobs it enqueues. */
  queue: string;
  type: string;
  /** Jobs enqueued, one per fire time (created=false: the key existed, nothing was inserted). */
  fired: { fireTime: Date; jobId: string; created: boolean }[];
  /** Fire times skipped because the previous job was still in flight (overlap `skip`). */
  overlapSkipped: number;
  /** The missed range (older than the grace), when there was one. */
  missed: { from: Date; to: Date } | null;
  /** Missed fire times not enqueued (policy `skip`, `once`, or beyond the cap); counting stops early. */
  missedDropped: number;
  nextRunAt: Date;
}

/** The idempotency key of one fire time of a schedule. */
export function fireKey(name: string, fireTime: Date): string {
  return `schedule:${name}:${fireTime.toISOString()}`;
}

/** Names of due schedules, most overdue first. */
export async function listDueSchedules(exec: Executor, limit = 100): Promise<string[]> {
  return await scheduleListDue(exec, limit);
}

/** Milliseconds until the next enabled schedule (not in `exclude`) is due (negative: overdue); null: none. */
export async function msUntilNextSchedule(exec: Executor, exclude: string[] = []): Promise<number | null> {
  return await scheduleNextDueMs(exec, exclude);
}

/**
 * Fires one schedule if it is due and no other scheduler holds it; null otherwise. In one transaction:
 * lock the row (SKIP LOCKED), plan at the database time, enqueue one job per fire time through the queue
 * library with key `schedule:<name>:<fire time ISO>`, then compare-and-set next_run_at. A crash before
 * commit leaves everything as it was; the key makes a replayed fire time a no-op.
 */
export async function fireSchedule(
  exec: Executor,
  name: string,
  opts: FireOptions,
): Promise<FireOutcome | null> {
  return await exec.transaction(async (tx) => {
    const locked = await scheduleLockDue(tx, name);
    if (!locked) return null;
    const { schedule: s, now } = locked;
    const plan = planFires(s, now, opts.graceMs, opts.cap ?? CATCH_UP_CAP);
    let fires = plan.fires;
    let overlapSkipped = 0;
    if (s.overlapPolicy === 'skip' && fires.length > 0) {
      // At most one run in flight: skip all while the last job runs, else fire only the latest time.
      const keep = s.lastJobStatus !== null && IN_FLIGHT.includes(s.lastJobStatus) ? 0 : 1;
      overlapSkipped = fires.length - keep;
      fires = fires.slice(fires.length - keep);
    }
    const limits = opts.limits ?? DEFAULT_LIMITS;
    const rows = fires.map((t) => validateEnqueue(scheduleJobSpec(s, fireKey(s.name, t)), limits));
    const results = rows.length > 0 ? await insertRows(tx, rows) : [];
    const last = results.at(-1);
    const advanced = await scheduleAdvance(tx, {
      name: s.name,
      expected: s.nextRunAt,
      next: plan.next,
      lastJobId: last?.id ?? null,
    });
    // Cannot happen while we hold the row lock; if it ever does, roll back rather than double-fire.
    if (!advanced) throw new Error(`schedule ${s.name}: next_run_at moved under our lock`);
    return {
      name: s.name,
      queue: s.queue,
      type: s.type,
      fired: results.map((r, i) => ({ fireTime: fires[i] ?? now, jobId: r.id, created: r.created })),
      overlapSkipped,
      missed: plan.missed,
      missedDropped: plan.missedDropped,
      nextRunAt: plan.next,
    };
  });
}

/** The NOTIFY channel that wakes schedulers when schedules change. */
export { scheduleChannel } from '../sql/schedules.js';
