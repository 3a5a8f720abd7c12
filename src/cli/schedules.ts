// `jobq schedules add|list|remove|pause|resume|run`: operator commands on cron schedules.
import type { Command } from 'commander';
import { parseInteger } from '../parse.js';
import {
  listSchedules,
  pauseSchedule,
  removeSchedule,
  resumeSchedule,
  runSchedule,
  upsertSchedule,
  scheduleView,
  validateSchedule,
  type Schedule,
  type ScheduleSpec,
} from '../queue/schedules.js';
import type { MissedPolicy, OverlapPolicy } from '../queue/cron.js';
import { withDatabase } from './context.js';
import { readPayload } from './input.js';
import { iso, printJson, printTable, relativeTime, say } from './output.js';

interface AddOptions {
  cron: string;
  type: string;
  payload?: string;
  queue?: string;
  priority?: string;
  maxAttempts?: string;
  tz?: string;
  missed?: string;
  overlap?: string;
  json?: boolean;
}

function when(d: Date | null): string {
  return d ? `${iso(d)} (${relativeTime(d)})` : '-';
}

function printSchedules(list: Schedule[]): void {
  if (list.length === 0) {
    say('no schedules (add one with: jobq schedules add <name> --cron EXPR --type TYPE)');
    return;
  }
  printTable(
    [
      'name',
      'cron',
      'tz',
      'type',
      'queue',
      'state',
      'next fire',
      'last fire',
      'last outcome',
      'missed/overlap',
    ],
    list.map((s) => [
      s.name,
      s.cron,
      s.timezone,
      s.type,
      s.queue,
      s.enabled ? 'active' : 'paused',
      s.enabled ? when(s.nextRunAt) : '-',
      when(s.lastRunAt),
      s.lastJobId ? (s.lastJobStatus ?? 'pruned') : '-',
      `${s.missedPolicy}/${s.overlapPolicy}`,
    ]),
  );
}

export function register(program: Command): void {
  const schedules = program
    .command('schedules')
    .description('manage cron schedules (fired by jobq scheduler)');

  schedules
    .command('add <name>')
    .description('add a schedule, or replace the definition of an existing one (its paused state is kept)')
    .requiredOption('--cron <expr>', 'cron: 5 fields, 6 with seconds first, or @hourly/@daily/…')
    .requiredOption('--type <type>', 'job type to enqueue')
    .option('--payload <json>', 'job payload: inline JSON, @file.json, or - for stdin', '{}')
    .option('--queue <name>', 'queue', 'default')
    .option('--priority <n>', 'job priority (-1000..1000)')
    .option('--max-attempts <n>', 'attempts before the job goes DEAD (1..1000)')
    .option('--tz <zone>', 'IANA time zone the cron is read in', 'UTC')
    .option('--missed <policy>', 'missed runs after downtime: skip | once | all (all: at most 100)', 'skip')
    .option('--overlap <policy>', 'previous run still pending/running: allow | skip', 'allow')
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: AddOptions, cmd: Command) => {
      const spec: ScheduleSpec = {
        cron: opts.cron,
        type: opts.type,
        payload: await readPayload('--payload', opts.payload ?? '{}'),
        queue: opts.queue ?? 'default',
        timezone: opts.tz ?? 'UTC',
        missedPolicy: (opts.missed ?? 'skip') as MissedPolicy,
        overlapPolicy: (opts.overlap ?? 'allow') as OverlapPolicy,
        ...(opts.priority !== undefined
          ? { priority: parseInteger('--priority', opts.priority, -1000, 1000) }
          : {}),
        ...(opts.maxAttempts !== undefined
          ? { maxAttempts: parseInteger('--max-attempts', opts.maxAttempts, 1, 1000) }
          : {}),
      };
      await withDatabase(
        cmd,
        async (db, config) => {
          const { schedule, created } = await upsertSchedule(db.exec, name, spec, config);
          if (opts.json) printJson({ created, schedule: scheduleView(schedule) });
          else
            say(
              `${created ? 'added' : 'updated'} schedule ${schedule.name}: ${schedule.cron} (${schedule.timezone}), next fire ${when(schedule.nextRunAt)}${schedule.enabled ? '' : ' — paused'}`,
            );
        },
        { check: (config) => validateSchedule(name, spec, config) },
      );
    });

  schedules
    .command('list')
    .description('list schedules with their next and last fire and the last outcome')
    .option('--json', 'machine-readable output (a JSON array)')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withDatabase(cmd, async (db) => {
        const list = await listSchedules(db.exec);
        if (opts.json) printJson(list.map(scheduleView));
        else printSchedules(list);
      });
    });

  schedules
    .command('remove <name>')
    .description('remove a schedule (jobs it already enqueued stay)')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withDatabase(cmd, async (db) => {
        await removeSchedule(db.exec, name);
        say(`removed schedule ${name}`);
      });
    });

  schedules
    .command('pause <name>')
    .description('pause a schedule: it fires nothing until resumed')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withDatabase(cmd, async (db) => {
        await pauseSchedule(db.exec, name);
        say(`paused schedule ${name}`);
      });
    });

  schedules
    .command('resume <name>')
    .description('resume a paused schedule from its next fire time (the pause is not caught up)')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withDatabase(cmd, async (db) => {
        const s = await resumeSchedule(db.exec, name);
        say(`resumed schedule ${name}, next fire ${when(s.nextRunAt)}`);
      });
    });

  schedules
    .command('run <name>')
    .description('fire a schedule now (one job; its next fire time does not move)')
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      await withDatabase(cmd, async (db, config) => {
        const { jobId } = await runSchedule(db.exec, name, config);
        if (opts.json) printJson({ jobId });
        else say(`fired schedule ${name}: job ${jobId}`);
      });
    });
}
