// `jobq schedules …` through the real binary (run `npm run build` first): add/update, list (table and
// JSON), pause, resume, run, remove, and refusals that quote the bad cron or time zone and write nothing.
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { freshDb } from '../helpers/db.js';
import { must } from './helpers.js';

const db = await freshDb();
const jobq = (...args: string[]) => runCli(args, db.env);

interface ListedSchedule {
  name: string;
  cron: string;
  timezone: string;
  enabled: boolean;
  nextRunAt: string;
  lastRunAt: string | null;
  lastJobId: string | null;
  lastJobStatus: string | null;
  [k: string]: unknown;
}

async function listJson(): Promise<ListedSchedule[]> {
  const r = await jobq('schedules', 'list', '--json');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as ListedSchedule[];
}

describe('jobq schedules', () => {
  it('add, update, list, pause, resume, run, remove', async () => {
    const add = await jobq(
      'schedules',
      'add',
      'nightly-report',
      '--cron',
      '0 9 * * *',
      '--type',
      'report.build',
      '--payload',
      '{"full":true}',
      '--queue',
      'reports',
      '--priority',
      '5',
      '--max-attempts',
      '2',
      '--tz',
      'Europe/Berlin',
      '--missed',
      'once',
      '--overlap',
      'skip',
      '--json',
    );
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    const added = JSON.parse(add.stdout) as { created: boolean; schedule: ListedSchedule };
    expect(added.created).toBe(true);
    expect(added.schedule).toMatchObject({
      name: 'nightly-report',
      cron: '0 9 * * *',
      timezone: 'Europe/Berlin',
      type: 'report.build',
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
    // 09:00 in Berlin is 07:00 or 08:00 UTC.
    expect(added.schedule.nextRunAt).toMatch(/T0[78]:00:00\.000Z$/);

    const upd = await jobq(
      'schedules',
      'add',
      'nightly-report',
      '--cron',
      '*/5 * * * * *',
      '--type',
      'report.build',
    );
    expect(upd.code).toBe(0);
    expect(upd.stdout).toMatch(
      /^updated schedule nightly-report: \*\/5 \* \* \* \* \* \(UTC\), next fire 20/,
    );

    expect((await jobq('schedules', 'pause', 'nightly-report')).stdout).toBe(
      'paused schedule nightly-report\n',
    );
    expect((await listJson())[0]).toMatchObject({
      cron: '*/5 * * * * *',
      timezone: 'UTC',
      missedPolicy: 'skip',
      enabled: false,
    });
    const resume = await jobq('schedules', 'resume', 'nightly-report');
    const next = /^resumed schedule nightly-report, next fire (\S+) /.exec(resume.stdout)?.[1];
    expect(next).toBeDefined();

    const run = await jobq('schedules', 'run', 'nightly-report', '--json');
    expect(run.code).toBe(0);
    const { jobId } = JSON.parse(run.stdout) as { jobId: string };
    const table = await jobq('schedules', 'list');
    for (const cell of ['nightly-report', '*/5 * * * * *', 'active', 'PENDING', 'skip/allow'])
      expect(table.stdout).toContain(cell);
    const after = must((await listJson())[0]);
    // Fired now; the next fire time did not move (unless it passed meanwhile: every 5 s).
    expect(after).toMatchObject({ enabled: true, lastJobId: jobId, lastJobStatus: 'PENDING' });
    expect(after.lastRunAt).not.toBeNull();
    if (Date.parse(must(next)) > Date.now()) expect(after.nextRunAt).toBe(next);

    expect((await jobq('schedules', 'remove', 'nightly-report')).stdout).toBe(
      'removed schedule nightly-report\n',
    );
    const empty = await jobq('schedules', 'list');
    expect(empty.stdout).toMatch(/^no schedules/);
  });

  it('refuses an invalid cron or time zone quoting it (exit 1), and writes nothing', async () => {
    const [cron, tz, fields, missed, unknown] = await Promise.all([
      jobq('schedules', 'add', 'bad', '--cron', '61 * * * *', '--type', 't'),
      jobq('schedules', 'add', 'bad', '--cron', '0 9 * * *', '--type', 't', '--tz', 'Mars/Olympus'),
      jobq('schedules', 'add', 'bad', '--cron', '* * * *', '--type', 't'),
      jobq('schedules', 'add', 'bad', '--cron', '* * * * *', '--type', 't', '--missed', 'sometimes'),
      jobq('schedules', 'remove', 'nope'),
    ]);
    expect(cron.code).toBe(1);
    expect(cron.stderr).toContain('cron: expected a cron expression');
    expect(cron.stderr).toContain('"61 * * * *"');
    expect(tz.code).toBe(1);
    expect(tz.stderr).toContain('timezone: expected an IANA time zone name');
    expect(tz.stderr).toContain('"Mars/Olympus"');
    expect(fields.code).toBe(1);
    expect(fields.stderr).toContain('"* * * *" (4 fields)');
    expect(missed.code).toBe(1);
    expect(missed.stderr).toContain('missedPolicy: expected one of skip, once, all, got "sometimes"');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('schedule nope not found');
    expect(await listJson()).toEqual([]);
  });
});
