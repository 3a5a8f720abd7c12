// `jobq queues` (counts by status, oldest ready age, paused), `jobq queues pause|resume <q>`.
import type { Command } from 'commander';
import { JOB_STATUSES } from '../db/schema.js';
import { formatDuration } from '../parse.js';
import { pauseQueue, queueStats, resumeQueue, validateName } from '../queue/index.js';
import { withDatabase } from './context.js';
import { printJson, printTable, say } from './output.js';

function jsonWanted(cmd: Command): boolean {
  // --json may be given before or after the subcommand name (the parent declares it too).
  return cmd.optsWithGlobals<{ json?: boolean }>().json === true;
}

function setPaused(paused: boolean) {
  return async (name: string, _opts: unknown, cmd: Command): Promise<void> => {
    const queue = validateName('queue', name);
    await withDatabase(cmd, async (db) => {
      await (paused ? pauseQueue : resumeQueue)(db.exec, queue);
      if (jsonWanted(cmd)) printJson({ queue, paused });
      else
        say(
          paused
            ? `queue ${queue} paused: workers stop claiming from it (running jobs finish)`
            : `queue ${queue} resumed`,
        );
    });
  };
}

export function register(program: Command): void {
  const queues = program
    .command('queues')
    .description('per queue: jobs by status, age of the oldest ready job, paused; pause/resume a queue')
    .option('--json', 'machine-readable output (a JSON array, one object per queue)')
    .action(async (_opts: unknown, cmd: Command) => {
      await withDatabase(cmd, async (db) => {
        const stats = await queueStats(db.exec);
        if (jsonWanted(cmd)) {
          printJson(stats);
          return;
        }
        if (stats.length === 0) {
          say('no queues yet (a queue appears with its first job or when paused)');
          return;
        }
        printTable(
          ['queue', 'paused', ...JOB_STATUSES, 'oldest ready'],
          stats.map((s) => [
            s.queue,
            s.paused ? 'PAUSED' : 'no',
            ...JOB_STATUSES.map((st) => s.counts[st]),
            s.oldestReadyAgeSeconds === null ? '-' : formatDuration(s.oldestReadyAgeSeconds * 1000),
          ]),
        );
      });
    });

  queues
    .command('pause <queue>')
    .description('stop workers claiming from a queue (running jobs finish); enqueue still works')
    .option('--json', 'machine-readable output: {queue, paused}')
    .action(setPaused(true));

  queues
    .command('resume <queue>')
    .description('let workers claim from a paused queue again')
    .option('--json', 'machine-readable output: {queue, paused}')
    .action(setPaused(false));
}
