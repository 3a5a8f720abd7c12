// `jobq retry <id…>` and `jobq cancel <id…>`: operator transitions, all or nothing per call.
import type { Command } from 'commander';
import { cancelJobs, retryJobs, type TransitionResult } from '../queue/index.js';
import { withDatabase } from './context.js';
import { jobIdsFrom } from './filters.js';
import { printJson, say } from './output.js';

/** "<id> DEAD → PENDING"; a running job being cancelled reads "<id> RUNNING → cancel requested". */
export function transitionLine(t: TransitionResult): string {
  const to = t.from === 'RUNNING' && t.to === 'RUNNING' ? 'cancel requested' : t.to;
  return `${t.id} ${t.from} → ${to}`;
}

function printTransitions(results: TransitionResult[], json: boolean): void {
  if (json)
    printJson(results.map((r) => ({ ...r, cancelRequested: r.from === 'RUNNING' && r.to === 'RUNNING' })));
  else for (const r of results) say(transitionLine(r));
}

export function register(program: Command): void {
  program
    .command('retry <ids...>')
    .description(
      'DEAD, RETRY or CANCELLED jobs → PENDING, ready now, attempts reset to 0 (error history kept); all or nothing',
    )
    .option('--json', 'machine-readable output: [{id, from, to}]')
    .action(async (ids: string[], opts: { json?: boolean }, cmd: Command) => {
      const jobIds = jobIdsFrom(ids);
      await withDatabase(cmd, async (db) => {
        printTransitions(await retryJobs(db.exec, jobIds), opts.json === true);
      });
    });

  program
    .command('cancel <ids...>')
    .description(
      'PENDING/RETRY jobs → CANCELLED; RUNNING jobs get a cancel request (their AbortSignal fires); all or nothing',
    )
    .option('--json', 'machine-readable output: [{id, from, to, cancelRequested}]')
    .action(async (ids: string[], opts: { json?: boolean }, cmd: Command) => {
      const jobIds = jobIdsFrom(ids);
      await withDatabase(cmd, async (db) => {
        printTransitions(await cancelJobs(db.exec, jobIds, 'operator (cli)'), opts.json === true);
      });
    });
}
