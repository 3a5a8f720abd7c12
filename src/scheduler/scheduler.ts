// The scheduler service: a fire loop that sleeps until the next schedule is due (bounded, woken by
// NOTIFY when schedules change) and fires due schedules, and a maintenance loop. Any number of
// schedulers may run against one database; the database decides who fires what.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Backoff } from '../backoff.js';
import type { Database } from '../db/connect.js';
import { Listener } from '../db/listener.js';
import { isTransientDbError } from '../errors.js';
import type { Service } from '../lifecycle.js';
import type { Logger } from '../log.js';
import { DbHealth, startLoop, type Loop } from '../loop.js';
import type { Metrics } from '../metrics/metrics.js';
import {
  fireSchedule,
  listDueSchedules,
  msUntilNextSchedule,
  type FireOutcome,
} from '../queue/schedule-fire.js';
import type { Limits } from '../queue/types.js';
import { scheduleChannel } from '../queue/schedule-fire.js';
import { maintenanceStep, type MaintenanceOptions } from './maintenance.js';

/** Longest sleep between checks when nothing is due (and no NOTIFY arrives). */
export const MAX_SLEEP_MS = 5000;
/** Due schedules fired per pass. */
const DUE_BATCH = 100;

export interface SchedulerOptions {
  db: Database;
  log: Logger;
  metrics?: Metrics | undefined;
  /** Direct connection for LISTEN; undefined turns wake-ups off (polling only). */
  listenUrl?: string | undefined;
  /** Fire times overdue by more than this are missed (the missed-run policy applies). */
  graceMs: number;
  limits: Limits;
  /** false: fire schedules only. */
  maintenance: MaintenanceOptions | false;
  maxSleepMs?: number;
  /** This process's name in logs and maintenance.last_run_by. */
  runner?: string;
}

/** A name for this process: host, pid and a random suffix. */
export function runnerName(): string {
  return `${hostname()}:${process.pid}:${randomBytes(2).toString('hex')}`;
}

function report(o: SchedulerOptions, out: FireOutcome): void {
  const created = out.fired.filter((f) => f.created);
  const m = o.metrics?.schedulesFired;
  m?.inc({ outcome: 'enqueued' }, created.length);
  if (created.length > 0) o.metrics?.jobsEnqueued.inc({ queue: out.queue, type: out.type }, created.length);
  m?.inc({ outcome: 'duplicate' }, out.fired.length - created.length);
  m?.inc({ outcome: 'skipped_overlap' }, out.overlapSkipped);
  m?.inc({ outcome: 'skipped_missed' }, out.missedDropped);
  const base = { schedule: out.name, nextRunAt: out.nextRunAt.toISOString() };
  if (out.missed) {
    o.log.warn(
      {
        ...base,
        missedFrom: out.missed.from.toISOString(),
        missedTo: out.missed.to.toISOString(),
        notEnqueued: out.missedDropped,
      },
      `schedule ${out.name} missed fire times while no scheduler ran`,
    );
  }
  if (out.overlapSkipped > 0)
    o.log.info(
      { ...base, skipped: out.overlapSkipped },
      `schedule ${out.name}: previous run still in flight, skipped`,
    );
  for (const f of out.fired) {
    o.log.info(
      { ...base, fireTime: f.fireTime.toISOString(), jobId: f.jobId, created: f.created },
      `schedule ${out.name} fired`,
    );
  }
}

/** Creates the scheduler service (start/stop). */
export function createScheduler(o: SchedulerOptions): Service {
  const exec = o.db.exec;
  const runner = o.runner ?? runnerName();
  const maxSleep = o.maxSleepMs ?? MAX_SLEEP_MS;
  // Schedules that failed for a reason other than the database (e.g. a cron edited by hand into
  // something invalid): each is skipped until its retry time, with a delay that grows while it keeps
  // failing (1 s doubling to a minute), so it neither spins the loop nor holds up the others. A fire
  // that succeeds clears it. A database that is down or busy fails the whole step instead: the loop
  // backs off, and no schedule is blamed for it.
  const broken = new Map<string, { until: number; backoff: Backoff }>();
  const waiting = (name: string, now: number): boolean => (broken.get(name)?.until ?? 0) > now;
  let fireLoop: Loop | undefined;
  let maintenanceLoop: Loop | undefined;
  let wakeup: Listener | undefined;

  const fireStep = async (): Promise<number> => {
    const listed = await listDueSchedules(exec, DUE_BATCH);
    const now = Date.now();
    // Forget a broken schedule once its wait is over and it is no longer due (fixed, moved or deleted).
    for (const [name, b] of broken) if (b.until <= now && !listed.includes(name)) broken.delete(name);
    const due = listed.filter((n) => !waiting(n, now));
    let contended = false;
    for (const name of due) {
      try {
        const out = await fireSchedule(exec, name, { graceMs: o.graceMs, limits: o.limits });
        broken.delete(name);
        if (out) report(o, out);
        else contended = true;
      } catch (err) {
        if (isTransientDbError(err)) throw err;
        const b = broken.get(name) ?? { until: 0, backoff: new Backoff({ baseMs: 1000, maxMs: 60_000 }) };
        const retryInMs = b.backoff.next();
        b.until = Date.now() + retryInMs;
        broken.set(name, b);
        o.log.error({ schedule: name, err, retryInMs }, `schedule ${name} could not be fired`);
      }
    }
    if (due.length === DUE_BATCH) return 0;
    const blocked = [...broken.keys()].filter((n) => waiting(n, Date.now()));
    const ms = await msUntilNextSchedule(exec, blocked);
    let delay = ms === null ? maxSleep : ms + 2;
    // Another scheduler is firing it right now: look again shortly, after it has committed.
    if (contended || delay <= 0) delay = Math.max(delay, 20);
    for (const n of blocked) delay = Math.min(delay, (broken.get(n)?.until ?? 0) - Date.now());
    return Math.min(Math.max(delay, 0), maxSleep);
  };

  return {
    name: 'scheduler',
    start() {
      const health = (name: string): DbHealth => new DbHealth(o.log, name);
      const loop = startLoop({
        name: 'scheduler',
        health: health('scheduler'),
        step: fireStep,
        maxBackoffMs: 10_000,
      });
      fireLoop = loop;
      const m = o.maintenance;
      if (m) {
        maintenanceLoop = startLoop({
          name: 'maintenance',
          health: health('maintenance'),
          maxBackoffMs: 10_000,
          step: () => maintenanceStep({ exec, log: o.log, metrics: o.metrics, runner, options: m }, 30_000),
        });
      }
      if (o.listenUrl) {
        wakeup = new Listener({
          url: o.listenUrl,
          channels: [scheduleChannel(exec)],
          log: o.log,
          applicationName: 'jobq-scheduler-listen',
          label: 'schedule LISTEN connection',
          onNotify: () => loop.wake(),
          onConnected: () => loop.wake(),
        });
        wakeup.start();
      }
      o.log.info({ runner, graceMs: o.graceMs, maintenance: Boolean(m) }, 'scheduler started');
      return Promise.resolve();
    },
    async stop() {
      await Promise.all([fireLoop?.stop(), maintenanceLoop?.stop(), wakeup?.stop()]);
    },
  };
}
