// Schedules in the queue library against a real PostgreSQL: add/update/pause/resume/remove/run, the
// fire transaction under concurrency (compare-and-set + idempotency key), missed-run and overlap policies.
import { sql } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/db/connect.js';
import { NotFoundError, ValidationError } from '../../src/errors.js';
import { CATCH_UP_CAP } from '../../src/queue/cron.js';
import { fireKey, fireSchedule, listDueSchedules } from '../../src/queue/schedule-fire.js';
import {
  getSchedule,
  listSchedules,
  pauseSchedule,
  removeSchedule,
  resumeSchedule,
  runSchedule,
  upsertSchedule,
} from '../../src/queue/schedules.js';
import { freshDb, resetDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { firedJobs, setNextRunAt, must } from './helpers.js';

const db = await freshDb();
const exec = db.exec;
const opts = { graceMs: 30_000 };

beforeEach(() => resetDb(db));

async function jobCount(): Promise<number> {
  const r = await sql<{ n: number }>`SELECT count(*) AS n FROM ${exec.t.jobs}`.execute(exec.raw);
  return r.rows[0]?.n ?? 0;
}

describe('operator operations', () => {
  it('add, list, update (keeps next_run_at unless the cron changes), pause, resume, run, remove', async () => {
    const a = await upsertSchedule(exec, 'nightly', {
      cron: '0 3 * * *',
      timezone: 'Europe/Berlin',
      type: 'report.build',
      payload: { full: true },
      queue: 'reports',
      priority: 5,
      maxAttempts: 2,
      missedPolicy: 'once',
      overlapPolicy: 'skip',
    });
    expect(a.created).toBe(true);
    expect(a.schedule).toMatchObject({
      name: 'nightly',
      cron: '0 3 * * *',
      timezone: 'Europe/Berlin',
      payload: { full: true },
      queue: 'reports',
      priority: 5,
      maxAttempts: 2,
      enabled: true,
      missedPolicy: 'once',
      overlapPolicy: 'skip',
      lastRunAt: null,
      lastJobId: null,
      lastJobStatus: null,
    });
    expect(a.schedule.nextRunAt.getTime()).toBeGreaterThan(Date.now());

    // Same cron, other fields: next_run_at (and any pending catch-up) stays.
    await setNextRunAt(exec, 'nightly', '2026-01-01T02:00:00Z');
    const b = await upsertSchedule(exec, 'nightly', {
      cron: '0 3 * * *',
      timezone: 'Europe/Berlin',
      type: 'report.v2',
    });
    expect(b.created).toBe(false);
    expect(b.schedule.type).toBe('report.v2');
    expect(b.schedule.queue).toBe('default');
    expect(b.schedule.nextRunAt.toISOString()).toBe('2026-01-01T02:00:00.000Z');
    // Cron changed: recomputed from now.
    const c = await upsertSchedule(exec, 'nightly', {
      cron: '0 4 * * *',
      timezone: 'Europe/Berlin',
      type: 'report.v2',
    });
    expect(c.schedule.nextRunAt.getTime()).toBeGreaterThan(Date.now());

    const paused = await pauseSchedule(exec, 'nightly');
    expect(paused.enabled).toBe(false);
    // A paused schedule is never due, and re-adding it keeps it paused.
    await setNextRunAt(exec, 'nightly', '2020-01-01T00:00:00Z');
    expect(await listDueSchedules(exec)).toEqual([]);
    expect((await upsertSchedule(exec, 'nightly', { cron: '0 4 * * *', type: 'x' })).schedule.enabled).toBe(
      false,
    );
    await setNextRunAt(exec, 'nightly', '2020-01-01T00:00:00Z');
    // Resuming does not catch up the pause.
    const resumed = await resumeSchedule(exec, 'nightly');
    expect(resumed.enabled).toBe(true);
    expect(resumed.nextRunAt.getTime()).toBeGreaterThan(Date.now());

    const before = resumed.nextRunAt.toISOString();
    const run = await runSchedule(exec, 'nightly');
    const after = await getSchedule(exec, 'nightly');
    expect(after.nextRunAt.toISOString()).toBe(before);
    expect(after.lastJobId).toBe(run.jobId);
    expect(after.lastJobStatus).toBe('PENDING');
    expect(after.lastRunAt).not.toBeNull();

    expect((await listSchedules(exec)).map((s) => s.name)).toEqual(['nightly']);
    await removeSchedule(exec, 'nightly');
    expect(await listSchedules(exec)).toEqual([]);
    // The job it enqueued stays.
    expect(await jobCount()).toBe(1);
  });

  it('enabled in a definition: false adds it paused; true re-enables it from the next future time', async () => {
    const a = await upsertSchedule(exec, 'declared', { cron: '* * * * *', type: 't', enabled: false });
    expect(a.schedule.enabled).toBe(false);
    await setNextRunAt(exec, 'declared', '2020-01-01T00:00:00Z');
    const b = await upsertSchedule(exec, 'declared', { cron: '* * * * *', type: 't', enabled: true });
    expect(b.schedule.enabled).toBe(true);
    expect(b.schedule.nextRunAt.getTime()).toBeGreaterThan(Date.now());
    await expect(
      upsertSchedule(exec, 'declared', { cron: '* * * * *', type: 't', enabled: 'yes' }),
    ).rejects.toThrow('enabled: expected true or false, got "yes"');
  });

  it('unknown names are NotFound; bad input is refused naming the field, and nothing is written', async () => {
    for (const op of [pauseSchedule, resumeSchedule, removeSchedule, runSchedule, getSchedule])
      await expect(op(exec, 'nope')).rejects.toBeInstanceOf(NotFoundError);
    const bad: [string, Record<string, unknown>, string][] = [
      ['ok', { cron: '61 * * * *', type: 't' }, 'cron: expected a cron expression'],
      ['ok', { cron: '* * * * *', type: 't', timezone: 'Mars/Olympus' }, 'timezone: expected an IANA'],
      ['ok', { cron: '* * * * *', type: 'T!' }, 'type: expected a name'],
      [
        'ok',
        { cron: '* * * * *', type: 't', missedPolicy: 'sometimes' },
        'missedPolicy: expected one of skip, once, all',
      ],
      [
        'ok',
        { cron: '* * * * *', type: 't', overlapPolicy: 'never' },
        'overlapPolicy: expected one of allow, skip',
      ],
      ['ok', { cron: '* * * * *', type: 't', priority: 5000 }, 'priority: expected a whole number'],
      ['ok', { cron: '* * * * *', type: 't', cronn: 'x' }, 'cronn: expected one of the fields'],
      ['Bad Name', { cron: '* * * * *', type: 't' }, 'name: expected a name'],
    ];
    for (const [name, spec, msg] of bad) {
      const err = await upsertSchedule(exec, name, spec).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toContain(msg);
    }
    expect(await listSchedules(exec)).toEqual([]);
  });

  it('schedule changes NOTIFY jobq_<schema>:schedules', async () => {
    const client = await db.pool.connect();
    const got: string[] = [];
    try {
      client.on('notification', (n) => got.push(`${n.channel}|${n.payload ?? ''}`));
      await client.query(`LISTEN "jobq_${db.schema}:schedules"`);
      await upsertSchedule(exec, 'n1', { cron: '* * * * *', type: 't' });
      await pauseSchedule(exec, 'n1');
      await resumeSchedule(exec, 'n1');
      await removeSchedule(exec, 'n1');
      await new Promise((r) => setTimeout(r, 100));
      expect(got).toEqual(Array(4).fill(`jobq_${db.schema}:schedules|n1`));
    } finally {
      await client.query('UNLISTEN *');
      client.release();
    }
  });
});

describe('firing: each fire time enqueued exactly once', () => {
  it('20 connections firing the same due schedule at once enqueue one job per fire time', async () => {
    const conns = Array.from({ length: 20 }, () => connect({ url: db.url, schema: db.schema, max: 1 }));
    try {
      for (let round = 0; round < 5; round++) {
        const name = `race-${round}`;
        await upsertSchedule(exec, name, { cron: '* * * * * *', type: 'tick' });
        await setNextRunAt(exec, name, new Date(Date.now() - 3000));
        const outs = await Promise.all(conns.map((c) => fireSchedule(c.exec, name, opts)));
        const winners = outs.filter((o) => o !== null);
        expect(winners.length).toBeGreaterThanOrEqual(1);
        // One connection wins the fire times due now. The cron fires every second, so on a loaded machine
        // a connection that arrives a second later may win the fire time that fell due meanwhile: never
        // one already fired.
        const fired = winners.flatMap((w) => w.fired);
        // The compare-and-set alone kept the others out: no insert even reached the idempotency key.
        expect(fired.every((f) => f.created)).toBe(true);
        expect(new Set(fired.map((f) => f.fireTime.getTime())).size).toBe(fired.length);
        const jobs = await firedJobs(exec, name);
        expect(jobs.map((j) => j.id).sort()).toEqual(fired.map((f) => f.jobId).sort());
        expect(new Set(jobs.map((j) => j.fireTime.getTime())).size).toBe(jobs.length);
        expect(Math.max(...winners.map((w) => w.fired.length))).toBeGreaterThanOrEqual(3);
      }
    } finally {
      await Promise.all(conns.map((c) => c.close()));
    }
  });

  it('a replayed fire time (next_run_at set back by hand) creates no second job: the key holds', async () => {
    await upsertSchedule(exec, 'replay', { cron: '* * * * * *', type: 'tick' });
    const t = new Date(Math.floor(Date.now() / 1000) * 1000 - 2000);
    await setNextRunAt(exec, 'replay', t);
    const first = await fireSchedule(exec, 'replay', opts);
    await setNextRunAt(exec, 'replay', t);
    const second = await fireSchedule(exec, 'replay', opts);
    expect(must(first).fired[0]).toMatchObject({ created: true });
    expect(must(second).fired[0]).toMatchObject({ created: false, jobId: must(must(first).fired[0]).jobId });
    const jobs = await firedJobs(exec, 'replay');
    expect(new Set(jobs.map((j) => j.fireTime.getTime())).size).toBe(jobs.length);
    expect(must(jobs[0]).id).toBe(must(must(first).fired[0]).jobId);
  });

  it('a job enqueued by a schedule carries its definition and the fire-time key', async () => {
    await upsertSchedule(exec, 'def', {
      cron: '* * * * * *',
      type: 'mail.digest',
      payload: { to: 'ops' },
      queue: 'mail',
      priority: 7,
      maxAttempts: 3,
    });
    const t = new Date(Math.floor(Date.now() / 1000) * 1000);
    await setNextRunAt(exec, 'def', t);
    const out = await fireSchedule(exec, 'def', opts);
    const r = await sql<
      Record<string, unknown>
    >`SELECT * FROM ${exec.t.jobs} WHERE id = ${must(must(out).fired[0]).jobId}`.execute(exec.raw);
    expect(r.rows[0]).toMatchObject({
      type: 'mail.digest',
      payload: { to: 'ops' },
      queue: 'mail',
      priority: 7,
      max_attempts: 3,
      status: 'PENDING',
      idempotency_key: fireKey('def', t),
    });
  });
});

describe('missed-run policies (next_run_at in the past)', () => {
  // A yearly cron: nothing falls inside the grace window, so only the policy decides.
  const yearly = '0 0 1 1 *';
  const past = '2023-06-01T00:00:00Z';

  it('skip enqueues nothing for the past and moves next_run_at to the next future time', async () => {
    await upsertSchedule(exec, 'p-skip', { cron: yearly, type: 't', missedPolicy: 'skip' });
    await setNextRunAt(exec, 'p-skip', past);
    const out = await fireSchedule(exec, 'p-skip', opts);
    expect(must(out).fired).toEqual([]);
    expect(must(out).missed?.from.toISOString()).toBe('2023-06-01T00:00:00.000Z');
    const s = await getSchedule(exec, 'p-skip');
    expect(s.nextRunAt.getTime()).toBeGreaterThan(Date.now());
    expect(s.nextRunAt.toISOString()).toMatch(/-01-01T00:00:00.000Z$/);
    expect(await jobCount()).toBe(0);
  });

  it('once enqueues exactly one job (the most recent missed time)', async () => {
    await upsertSchedule(exec, 'p-once', { cron: yearly, type: 't', missedPolicy: 'once' });
    await setNextRunAt(exec, 'p-once', past);
    await fireSchedule(exec, 'p-once', opts);
    const jobs = await firedJobs(exec, 'p-once');
    const year = new Date().getUTCFullYear();
    expect(jobs.map((j) => j.fireTime.toISOString())).toEqual([`${year}-01-01T00:00:00.000Z`]);
    expect(await jobCount()).toBe(1);
  });

  it('all enqueues every missed time, oldest first', async () => {
    await upsertSchedule(exec, 'p-all', { cron: yearly, type: 't', missedPolicy: 'all' });
    await setNextRunAt(exec, 'p-all', past);
    await fireSchedule(exec, 'p-all', opts);
    const year = new Date().getUTCFullYear();
    const expected = ['2023-06-01T00:00:00.000Z'];
    for (let y = 2024; y <= year; y++) expected.push(`${y}-01-01T00:00:00.000Z`);
    expect((await firedJobs(exec, 'p-all')).map((j) => j.fireTime.toISOString())).toEqual(expected);
  });

  it(`all is bounded by the cap (${CATCH_UP_CAP} missed times)`, async () => {
    await upsertSchedule(exec, 'p-cap', { cron: '* * * * * *', type: 't', missedPolicy: 'all' });
    await setNextRunAt(exec, 'p-cap', new Date(Date.now() - 3600_000));
    const out = await fireSchedule(exec, 'p-cap', opts);
    const jobs = await firedJobs(exec, 'p-cap');
    const missed = jobs.filter((j) => j.createdAt.getTime() - j.fireTime.getTime() > opts.graceMs);
    expect(missed).toHaveLength(CATCH_UP_CAP);
    expect(must(out).missedDropped).toBeGreaterThan(0);
    for (let i = 1; i < jobs.length; i++)
      expect(must(jobs[i]).fireTime.getTime() - must(jobs[i - 1]).fireTime.getTime()).toBe(1000);
  });
});

describe('overlap skip', () => {
  it('skips while the previous job is PENDING, RETRY or RUNNING and fires again once it has finished', async () => {
    await upsertSchedule(exec, 'ov', { cron: '* * * * * *', type: 't', overlapPolicy: 'skip' });
    const due = async (): Promise<void> => setNextRunAt(exec, 'ov', new Date(Date.now() - 2500));
    await due();
    const first = await fireSchedule(exec, 'ov', opts);
    // Several fire times were due: overlap skip enqueues only the latest one.
    expect(must(first).fired).toHaveLength(1);
    expect(must(first).overlapSkipped).toBeGreaterThan(0);
    const jobId = must(must(first).fired[0]).jobId;
    for (const status of ['PENDING', 'RUNNING', 'RETRY']) {
      await sql`UPDATE ${exec.t.jobs} SET status = ${status} WHERE id = ${jobId}`.execute(exec.raw);
      await due();
      const out = await fireSchedule(exec, 'ov', opts);
      expect(must(out).fired).toEqual([]);
      expect(must(out).overlapSkipped).toBeGreaterThan(0);
      expect((await getSchedule(exec, 'ov')).nextRunAt.getTime()).toBeGreaterThan(Date.now() - 1000);
    }
    await sql`UPDATE ${exec.t.jobs} SET status = 'COMPLETED', finished_at = now() WHERE id = ${jobId}`.execute(
      exec.raw,
    );
    // The next fire must be a later second than the first (same second = same fire time = same key).
    const firstSecond = must(must(first).fired[0]).fireTime.getTime();
    await waitFor(() => Date.now() - 1000 >= firstSecond, { what: 'the next second' });
    await due();
    const again = await fireSchedule(exec, 'ov', opts);
    expect(must(again).fired).toHaveLength(1);
    expect(await jobCount()).toBe(2);
  });

  it('allow (the default) fires whatever the previous job is doing', async () => {
    await upsertSchedule(exec, 'al', { cron: '* * * * * *', type: 't' });
    await setNextRunAt(exec, 'al', new Date(Date.now() - 1500));
    await fireSchedule(exec, 'al', opts);
    await setNextRunAt(exec, 'al', new Date(Date.now() + 100));
    await new Promise((r) => setTimeout(r, 150));
    await fireSchedule(exec, 'al', opts);
    const jobs = await firedJobs(exec, 'al');
    expect(jobs.length).toBeGreaterThanOrEqual(3);
    expect(jobs.every((j) => j.status === 'PENDING')).toBe(true);
  });
});
