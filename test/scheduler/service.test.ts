// The scheduler service in-process against a real PostgreSQL: a schedule added while the scheduler
// sleeps fires on time because the NOTIFY wakes it (the poll fallback here is a minute), and fires are
// counted in the metrics.
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { Service } from '../../src/lifecycle.js';
import { silentLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { upsertSchedule } from '../../src/queue/schedules.js';
import { createScheduler } from '../../src/scheduler/scheduler.js';
import { freshDb, resetDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { firedJobs, must } from './helpers.js';

const db = await freshDb();
let service: Service | undefined;

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
});
