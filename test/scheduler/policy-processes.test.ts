// Real `jobq scheduler` processes (run `npm run build` first): missed-run policies after "downtime"
// (next_run_at set in the past), overlap skip against a job that stays pending/running, and two
// processes racing for maintenance where each period's task runs exactly once.
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { CATCH_UP_CAP } from '../../src/queue/cron.js';
import { getSchedule, upsertSchedule } from '../../src/queue/schedules.js';
import { freshDb, resetDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { firedJobs, setNextRunAt, spawnScheduler, type SchedulerProcess, must } from './helpers.js';

const db = await freshDb();
const exec = db.exec;
const running: SchedulerProcess[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
  await resetDb(db);
});

describe('missed runs and overlap, one scheduler process', () => {
  it('skip, once and all enqueue exactly what they promise; overlap skip waits for the previous job', async () => {
    const yearly = '0 0 1 1 *';
    for (const policy of ['skip', 'once', 'all'] as const) {
      await upsertSchedule(exec, `m-${policy}`, { cron: yearly, type: 't', missedPolicy: policy });
      await setNextRunAt(exec, `m-${policy}`, '2023-06-01T00:00:00Z');
    }
    await upsertSchedule(exec, 'm-cap', { cron: '* * * * * *', type: 't', missedPolicy: 'all' });
    await setNextRunAt(exec, 'm-cap', new Date(Date.now() - 3600_000));
    await upsertSchedule(exec, 'ov', { cron: '* * * * * *', type: 't', overlapPolicy: 'skip' });

    const p = await spawnScheduler(db.env);
    running.push(p);
    await waitFor(
      async () => {
        const all = await Promise.all(
          ['m-skip', 'm-once', 'm-all', 'm-cap'].map((n) => getSchedule(exec, n)),
        );
        return all.every((s) => s.nextRunAt.getTime() > Date.now());
      },
      { what: 'the missed schedules to be handled' },
    );
    const year = new Date().getUTCFullYear();
    expect(await firedJobs(exec, 'm-skip')).toEqual([]);
    expect((await firedJobs(exec, 'm-once')).map((j) => j.fireTime.toISOString())).toEqual([
      `${year}-01-01T00:00:00.000Z`,
    ]);
    const allExpected = ['2023-06-01T00:00:00.000Z'];
    for (let y = 2024; y <= year; y++) allExpected.push(`${y}-01-01T00:00:00.000Z`);
    expect((await firedJobs(exec, 'm-all')).map((j) => j.fireTime.toISOString())).toEqual(allExpected);
    const cap = await firedJobs(exec, 'm-cap');
    expect(cap.filter((j) => j.createdAt.getTime() - j.fireTime.getTime() > 30_000)).toHaveLength(
      CATCH_UP_CAP,
    );
    expect(p.logs.some((l) => l.msg === 'schedule m-skip missed fire times while no scheduler ran')).toBe(
      true,
    );

    // Overlap skip: the first job stays PENDING (no worker), then RUNNING: every later second is skipped.
    const skips = (): number =>
      p.logs.filter((l) => l.msg === 'schedule ov: previous run still in flight, skipped').length;
    await waitFor(async () => (await firedJobs(exec, 'ov')).length === 1 && skips() >= 2, {
      what: 'overlap skips while pending',
    });
    const [first] = await firedJobs(exec, 'ov');
    await sql`UPDATE ${exec.t.jobs} SET status = 'RUNNING', locked_by = 'w', started_at = now() WHERE id = ${must(first).id}`.execute(
      exec.raw,
    );
    const skipsBefore = skips();
    await waitFor(() => skips() >= skipsBefore + 2, { what: 'overlap skips while running' });
    expect(await firedJobs(exec, 'ov')).toHaveLength(1);
    // Finished: the next fire time enqueues again.
    await sql`UPDATE ${exec.t.jobs} SET status = 'COMPLETED', finished_at = now() WHERE id = ${must(first).id}`.execute(
      exec.raw,
    );
    await waitFor(async () => (await firedJobs(exec, 'ov')).length === 2, {
      what: 'a fire after the job finished',
    });
    const ov = await firedJobs(exec, 'ov');
    expect(must(ov[1]).fireTime.getTime()).toBeGreaterThan(must(first).fireTime.getTime());
    expect(await p.stop()).toBe(0);
  }, 40_000);
});

describe('maintenance exactly once across processes', () => {
  it('two schedulers racing for the same due tasks: each task runs once per period', async () => {
    const env = {
      ...db.env,
      JOBQ_LOG_LEVEL: 'debug',
      JOBQ_MAINTENANCE_INTERVAL: '1s',
      JOBQ_RECLAIM_INTERVAL: '1s',
    };
    const started = Date.now();
    const procs = await Promise.all([spawnScheduler(env), spawnScheduler(env)]);
    running.push(...procs);
    const runs = () =>
      procs.flatMap((p, i) =>
        p.logs
          .filter((l) => typeof l.task === 'string' && l.msg.startsWith('maintenance '))
          .map((l) => ({ task: l.task as string, at: Date.parse(String(l.claimedAt)), proc: i })),
      );
    await waitFor(() => runs().filter((r) => r.task === 'prune').length >= 4, {
      what: '4 prune periods',
      timeoutMs: 15_000,
    });
    await Promise.all(running.splice(0).map((p) => p.stop()));
    const elapsed = Date.now() - started;
    for (const task of ['reclaim', 'prune', 'workers']) {
      const times = runs()
        .filter((r) => r.task === task)
        .map((r) => r.at)
        .sort((a, b) => a - b);
      expect(times.length).toBeGreaterThanOrEqual(3);
      // Never two runs in one period (1 s), whichever process ran them: claim times, database clock.
      for (let i = 1; i < times.length; i++)
        expect(must(times[i]) - must(times[i - 1])).toBeGreaterThanOrEqual(1000);
      expect(times.length).toBeLessThanOrEqual(Math.ceil(elapsed / 1000) + 1);
    }
    const byProc = [0, 1].map((i) => runs().filter((r) => r.proc === i).length);
    console.log(`maintenance runs per process over ${elapsed} ms: ${byProc.join('/')}`);
  }, 30_000);
});
