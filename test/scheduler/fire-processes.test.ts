// Real `jobq scheduler` processes (run `npm run build` first): three at once against an every-second
// schedule enqueue each fire time exactly once with no gap and little lag; a scheduler cut off from
// PostgreSQL keeps running, says so, and catches up when the database is back.
import { afterEach, describe, expect, it } from 'vitest';
import { upsertSchedule } from '../../src/queue/schedules.js';
import { freshDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { firedJobs, spawnScheduler, startProxy, type SchedulerProcess, must } from './helpers.js';

const db = await freshDb();
const exec = db.exec;
const running: SchedulerProcess[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

function expectContiguousSeconds(times: Date[]): void {
  const ms = times.map((t) => t.getTime());
  expect(new Set(ms).size).toBe(ms.length);
  for (let i = 1; i < ms.length; i++) expect(must(ms[i]) - must(ms[i - 1])).toBe(1000);
}

describe('three schedulers at once', () => {
  it('an every-second schedule for 10 s: one job per fire time, no duplicate, no gap', async () => {
    const { schedule } = await upsertSchedule(exec, 'tick', { cron: '* * * * * *', type: 'tick' });
    const firstFire = schedule.nextRunAt;
    const procs = await Promise.all([1, 2, 3].map(() => spawnScheduler(db.env)));
    running.push(...procs);
    const allUp = Date.now();
    const until = allUp + 10_000;
    await waitFor(async () => (await firedJobs(exec, 'tick')).some((j) => j.fireTime.getTime() >= until), {
      what: '10 s of fires',
      timeoutMs: 25_000,
      intervalMs: 200,
    });
    const codes = await Promise.all(running.splice(0).map((p) => p.stop()));
    expect(codes).toEqual([0, 0, 0]);

    const jobs = await firedJobs(exec, 'tick');
    // From the schedule's first fire time to the last: every second exactly once.
    expect(must(jobs[0]).fireTime.toISOString()).toBe(firstFire.toISOString());
    expectContiguousSeconds(jobs.map((j) => j.fireTime));
    expect(jobs.length).toBeGreaterThanOrEqual(11);

    // The compare-and-set kept the others out: every fire logged by any process created its job, and
    // the three logs together name each job exactly once.
    const fires = procs.flatMap((p, i) =>
      p.logs
        .filter((l) => l.msg === 'schedule tick fired')
        .map((l) => ({ created: l.created, jobId: String(l.jobId), i })),
    );
    expect(fires.every((f) => f.created === true)).toBe(true);
    expect(fires.map((f) => f.jobId).sort()).toEqual(jobs.map((j) => j.id).sort());
    // On time once all three were up: job created within a second of its fire time.
    const lags = jobs
      .filter((j) => j.fireTime.getTime() > allUp + 1000)
      .map((j) => j.createdAt.getTime() - j.fireTime.getTime())
      .sort((a, b) => a - b);
    const perProcess = [0, 1, 2].map((i) => fires.filter((f) => f.i === i).length);
    console.log(
      `3 schedulers: ${jobs.length} fire times, fired per process ${perProcess.join('/')}, ` +
        `lag p50 ${lags[Math.floor(lags.length / 2)]} ms, max ${lags.at(-1)} ms`,
    );
    expect(must(lags.at(-1))).toBeLessThan(1000);
  }, 40_000);
});

describe('database outage', () => {
  it('a scheduler cut off from PostgreSQL keeps running, logs it, and catches up without a gap', async () => {
    await upsertSchedule(exec, 'beat', { cron: '* * * * * *', type: 'beat' });
    const target = new URL(must(db.env.DATABASE_URL));
    const proxy = await startProxy(target.hostname, Number(target.port || 5432));
    try {
      const viaProxy = new URL(target.href);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      const p = await spawnScheduler({ ...db.env, DATABASE_URL: viaProxy.href });
      running.push(p);
      await waitFor(async () => (await firedJobs(exec, 'beat')).length >= 2, { what: 'first fires' });

      await proxy.cut();
      const cutAt = Date.now();
      await waitFor(
        () => p.logs.some((l) => l.msg.startsWith('scheduler: database unavailable, retrying in')),
        {
          what: 'the outage to be logged',
          timeoutMs: 10_000,
        },
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}; log: ${JSON.stringify(p.logs.slice(-10))}; stderr: ${p.stderr()}`);
      });
      await waitFor(() => Date.now() - cutAt >= 3000, { what: '3 s of outage', intervalMs: 100 });
      expect(p.proc.exitCode).toBeNull();
      await proxy.restore();
      const restoredAt = Date.now();

      await waitFor(
        async () => (await firedJobs(exec, 'beat')).some((j) => j.fireTime.getTime() > restoredAt + 1000),
        {
          what: 'fires after the database came back',
          timeoutMs: 20_000,
        },
      );
      expect(p.proc.exitCode).toBeNull();
      // Fire times of the outage were within the misfire grace: caught up, no gap, no duplicate.
      expectContiguousSeconds((await firedJobs(exec, 'beat')).map((j) => j.fireTime));
      expect(p.logs.some((l) => l.msg === 'scheduler: database reachable again, resuming')).toBe(true);
      expect(p.logs.some((l) => l.msg.startsWith('schedule LISTEN connection lost'))).toBe(true);
      await waitFor(() => p.logs.some((l) => l.msg === 'schedule LISTEN connection re-established'), {
        what: 'the LISTEN connection to come back',
        timeoutMs: 15_000,
      });
      expect(await p.stop()).toBe(0);
    } finally {
      await proxy.close();
    }
  }, 60_000);
});
