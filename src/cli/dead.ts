// `jobq dead list|retry|purge`: the dead-letter queue (jobs that ran out of attempts or failed permanently).
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { parseDuration, formatDuration } from '../parse.js';
import { listJobs, purgeDead, retryDead } from '../queue/index.js';
import { withDatabase } from './context.js';
import { listFilterFrom, type FilterFlags } from './filters.js';
import { printJobPage } from './job-views.js';
import { printJson, say } from './output.js';

interface RetryFlags {
  queue?: string;
  type?: string;
  all?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  const dead = program.command('dead').description('the dead-letter queue: list, retry, purge DEAD jobs');

  dead
    .command('list')
    .description('DEAD jobs, newest first')
    .option('--queue <name>', 'only this queue')
    .option('--type <type>', 'only this job type')
    .option('--limit <n>', 'jobs per page (1..1000)', '50')
    .option('--cursor <id>', 'continue after this job id')
    .option('--json', 'machine-readable output (a JSON array of jobs)')
    .action(async (opts: FilterFlags & { json?: boolean }, cmd: Command) => {
      const filter = { ...listFilterFrom(opts), status: 'DEAD' as const };
      await withDatabase(cmd, async (db) => {
        const page = await listJobs(db.exec, filter);
        const parts = ['jobq dead list'];
        if (filter.queue) parts.push(`--queue ${filter.queue}`);
        if (filter.type) parts.push(`--type ${filter.type}`);
        if (filter.limit !== 50) parts.push(`--limit ${filter.limit}`);
        printJobPage(page, opts.json === true, parts.join(' '));
      });
    });

  dead
    .command('retry')
    .description('retry DEAD jobs matching --queue/--type, or every DEAD job with --all')
    .option('--queue <name>', 'only this queue')
    .option('--type <type>', 'only this job type')
    .option('--all', 'every DEAD job (required when no filter is given)')
    .option('--json', 'machine-readable output: {retried, ids}')
    .action(async (opts: RetryFlags, cmd: Command) => {
      const hasFilter = opts.queue !== undefined || opts.type !== undefined;
      if (!hasFilter && !opts.all)
        throw new UsageError('jobq dead retry needs --queue, --type or --all (to retry every DEAD job)');
      if (hasFilter && opts.all) throw new UsageError('give --all or --queue/--type filters, not both');
      const filter = listFilterFrom({
        ...(opts.queue !== undefined ? { queue: opts.queue } : {}),
        ...(opts.type !== undefined ? { type: opts.type } : {}),
      });
      await withDatabase(cmd, async (db) => {
        const ids = await retryDead(db.exec, { queue: filter.queue, type: filter.type });
        if (opts.json) printJson({ retried: ids.length, ids });
        else say(`retried ${ids.length} DEAD job${ids.length === 1 ? '' : 's'} (now PENDING)`);
      });
    });

  dead
    .command('purge')
    .description('delete DEAD jobs that died longer ago than --older-than')
    .option('--older-than <duration>', 'e.g. 12h, 7d, 4w', '7d')
    .option('--json', 'machine-readable output: {purged, olderThanMs}')
    .action(async (opts: { olderThan: string; json?: boolean }, cmd: Command) => {
      const olderThanMs = parseDuration('--older-than', opts.olderThan);
      await withDatabase(cmd, async (db) => {
        const purged = await purgeDead(db.exec, olderThanMs);
        if (opts.json) printJson({ purged, olderThanMs });
        else
          say(
            `purged ${purged} DEAD job${purged === 1 ? '' : 's'} that died more than ${formatDuration(olderThanMs)} ago`,
          );
      });
    });
}
