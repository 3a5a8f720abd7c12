// The scheduler service in-process against a real PostgreSQL: a schedule added while the scheduler
// sleeps fires on time because the NOTIFY wakes it (the poll fallback here is a minute), and fires are
// counted in the metrics. A broken schedule is retried with a growing delay without holding up the
// others; a busy database (lock timeout) backs off the whole step and blames no schedule.
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Service } from '../../src/lifecycle.js';
import { silentLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { upsertSchedule } from '../../src/queue/schedules.js';
import { createScheduler } from '../../src/scheduler/scheduler.js';
import { connect, type Database } from '../../src/db/connect.js';
import { freshDb, resetDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { firedJobs, must } from './helpers.js';

const db = await freshDb();
let service: Service | undefined;

interface Line {
  level: number;
  msg: string;
  schedule?: string;
  retryInMs?: number;
  time: number;
}

/** A logger that keeps its JSON lines. */
function capture(): { log: pino.Logger; lines: Line[] } {
  const lines: Line[] = [];
  return { log: pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l) as Line) }), lines };
}

const LIMITS = { maxPayloadBytes: 1_048_576, defaultMaxAttempts: 5 };

/** Starts a scheduler without maintenance or LISTEN that looks for due schedules every 500 ms. */
async function startScheduler(database: Database, log: pino.Logger): Promise<void> {
  service = createScheduler({
    db: database,
    log,
    graceMs: 30_000,
    limits: LIMITS,
    maintenance: false,
    maxSleepMs: 500,
  });
  await service.start();
}

afterEach(async () => {
  await service?.stop();
  service = undefined;
  await resetDb(db);
});

describe('scheduler service', () => {
  it('wakes on NOTIFY when a schedule is added and fires it on time; counts fires in metrics', async () => {
    const metrics = createMetrics();
    service = createScheduler({
      db,
      log: silentLogger,
      metrics,
      listenUrl: db.url,
      graceMs: 30_000,
      limits: { maxPayloadBytes: 1_048_576, defaultMaxAttempts: 5 },
      maintenance: false,
      maxSleepMs: 60_000,
    });
    await service.start();
    // Wait until it LISTENs (it has found nothing due and sleeps for up to a minute).
    await waitFor(
      async () =>
        (
          await sql<{ n: number }>`SELECT count(*) AS n FROM pg_stat_activity
            WHERE query = ${`LISTEN "jobq_${db.schema}:schedules"`}`.execute(db.exec.raw)
        ).rows[0]?.n === 1,
      { what: 'the LISTEN connection' },
    );
    const { schedule } = await upsertSchedule(db.exec, 'wake', {
      cron: '* * * * * *',
      type: 'wake.t',
      queue: 'q1',
    });
    const jobs = await waitFor(
      async () => ((await firedJobs(db.exec, 'wake')).length >= 2 ? firedJobs(db.exec, 'wake') : null),
      {
        what: 'two fires',
        timeoutMs: 5000,
      },
    );
    expect(must(jobs[0]).fireTime.toISOString()).toBe(schedule.nextRunAt.toISOString());
    for (const j of jobs) expect(j.createdAt.getTime() - j.fireTime.getTime()).toBeLessThan(1000);
    const fired = (await metrics.schedulesFired.get()).values.find((v) => v.labels.outcome === 'enqueued');
    expect(fired?.value).toBeGreaterThanOrEqual(2);
    const enq = (await metrics.jobsEnqueued.get()).values.find(
      (v) => v.labels.queue === 'q1' && v.labels.type === 'wake.t',
    );
    expect(enq?.value).toBe(fired?.value);
  });

  it('retries a broken schedule with a growing delay while the others keep firing; a fix clears it', async () => {
    const { log, lines } = capture();
    await upsertSchedule(db.exec, 'good', { cron: '* * * * * *', type: 'good.t', queue: 'q1' });
    await upsertSchedule(db.exec, 'bad', { cron: '* * * * * *', type: 'bad.t', queue: 'q1' });
    // Edited by hand into something the scheduler cannot plan.
    await sql`UPDATE ${db.exec.t.schedules} SET cron = 'not a cron' WHERE name = 'bad'`.execute(db.exec.raw);
    await startScheduler(db, log);
    const failures = (): Line[] => lines.filter((l) => l.msg === 'schedule bad could not be fired');
    await waitFor(() => failures().length >= 3, { what: 'three failed fires of the broken schedule' });
    const [f1, f2, f3] = failures().map((l) => ({ at: l.time, wait: must(l.retryInMs) }));
    // 1 s doubling, equal jitter: [500, 1000), [1000, 2000), [2000, 4000): each wait longer than the last,
    // and each retry only after the wait it announced.
    expect(must(f1).wait).toBeLessThan(must(f2).wait);
    expect(must(f2).wait).toBeLessThan(must(f3).wait);
    expect(must(f2).at - must(f1).at).toBeGreaterThanOrEqual(must(f1).wait);
    expect(must(f3).at - must(f2).at).toBeGreaterThanOrEqual(must(f2).wait);
    expect((await firedJobs(db.exec, 'good')).length).toBeGreaterThanOrEqual(2);
    expect(await firedJobs(db.exec, 'bad')).toEqual([]);
    // Fixed: it fires once its current wait is over, and is no longer reported.
    await sql`UPDATE ${db.exec.t.schedules} SET cron = '* * * * * *' WHERE name = 'bad'`.execute(db.exec.raw);
    await waitFor(async () => (await firedJobs(db.exec, 'bad')).length >= 2, {
      what: 'the fixed schedule to fire',
      timeoutMs: 15_000,
    });
    const after = failures().length;
    await waitFor(async () => (await firedJobs(db.exec, 'bad')).length >= 4, { what: 'more fires' });
    expect(failures().length).toBe(after);
  });

  it('a lock timeout backs off the whole step as a busy database and blames no schedule', async () => {
    const { log, lines } = capture();
    const busy = connect({
      url: db.url,
      schema: db.schema,
      max: 2,
      timeouts: { statementMs: 0, lockMs: 200 },
    });
    const locker = await db.pool.connect();
    try {
      await upsertSchedule(db.exec, 'blocked', { cron: '* * * * * *', type: 'blocked.t', queue: 'q1' });
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${db.schema}".jobs IN ACCESS EXCLUSIVE MODE`);
      await startScheduler(busy, log);
      await waitFor(() => lines.some((l) => l.level === 40 && l.msg.startsWith('scheduler: database busy')), {
        what: 'the busy warning',
      });
      await locker.query('ROLLBACK');
      await waitFor(async () => (await firedJobs(db.exec, 'blocked')).length >= 1, {
        what: 'the schedule to fire once the lock is gone',
      });
      expect(lines.filter((l) => l.msg.includes('could not be fired'))).toEqual([]);
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      locker.release();
      await service?.stop();
      service = undefined;
      await busy.close();
    }
  });
});
