// `jobq jobs list` (filters, keyset pages) and `jobq jobs show <id>` (payload, lease, error history).
import type { Command } from 'commander';
import { getJob, listJobs, validateId, type ListFilter } from '../queue/index.js';
import { explainJob } from '../queue/explain.js';
import { onlineWindowMs } from '../queue/overview.js';
import { withDatabase } from './context.js';
import { listFilterFrom, type FilterFlags } from './filters.js';
import { failedForNoHandler, printJobDetail, printJobPage } from './job-views.js';
import { printJson } from './output.js';

/** The command line that repeats a list with the same filters (for the next-page hint). */
function listCommand(base: string, f: ListFilter & { limit: number }): string {
  const parts = [base];
  if (f.status) parts.push(`--status ${f.status}`);
  if (f.queue) parts.push(`--queue ${f.queue}`);
  if (f.type) parts.push(`--type ${f.type}`);
  if (f.limit !== 50) parts.push(`--limit ${f.limit}`);
  return parts.join(' ');
}

export function register(program: Command): void {
  const jobs = program.command('jobs').description('list and inspect jobs');

  jobs
    .command('list')
    .description('list jobs, newest first (keyset pages: --cursor <id of the last job shown>)')
    .option('--status <status>', 'PENDING, RUNNING, RETRY, COMPLETED, DEAD or CANCELLED')
    .option('--queue <name>', 'only this queue')
    .option('--type <type>', 'only this job type')
    .option('--limit <n>', 'jobs per page (1..1000)', '50')
    .option('--cursor <id>', 'continue after this job id (printed at the end of the previous page)')
    .option('--json', 'machine-readable output (a JSON array of jobs)')
    .action(async (opts: FilterFlags & { json?: boolean }, cmd: Command) => {
      const filter = listFilterFrom(opts);
      await withDatabase(cmd, async (db) => {
        const page = await listJobs(db.exec, filter);
        printJobPage(page, opts.json === true, listCommand('jobq jobs list', filter));
      });
    });

  jobs
    .command('show <id>')
    .description('one job: payload, result, attempts, every error, lease holder, cancel request, timestamps')
    .option(
      '--json',
      'machine-readable output: the job object, plus noHandler and explanation {reason, summary, next, command}',
    )
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const jobId = validateId('id', id);
      await withDatabase(cmd, async (db, config) => {
        const job = await getJob(db.exec, jobId);
        // Why it is where it is (paused queue, no worker for its queue or type, lease expired, …).
        const why = await explainJob(db.exec, jobId, {
          onlineWithinMs: onlineWindowMs(config.leaseMs),
          starvationMs: config.starvationMs,
        });
        const explanation = {
          reason: why.reason,
          summary: why.summary,
          next: why.next,
          command: why.command,
        };
        if (opts.json) printJson({ ...job, noHandler: failedForNoHandler(job), explanation });
        else printJobDetail(job, explanation);
      });
    });
}
