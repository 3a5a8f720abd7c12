// `jobq queues` (counts by status, oldest ready age, paused, flow limits and their use),
// `jobq queues pause|resume <q>`, `jobq queues limit <q> …` (set or clear flow limits).
import type { Command } from 'commander';
import { JOB_STATUSES } from '../db/schema.js';
import { formatDuration } from '../parse.js';
import {
  clearQueueLimits,
  listQueueLimits,
  parseRate,
  pauseQueue,
  queueStats,
  resumeQueue,
  setQueueLimits,
  validateName,
  type QueueLimits,
  type QueueLimitsInput,
} from '../queue/index.js';
import { parseInteger } from '../parse.js';
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

/**
 * "conc 3/5, rate 10/s burst 20 (tokens 7), per key 2 (1 of 4 keys at limit)" — the limits and their
 * use (for the per-key limit: of the keys with running jobs, how many are at it), or "-".
 */
export function formatLimits(l: QueueLimits | undefined): string {
  if (!l) return '-';
  const parts: string[] = [];
  if (l.concurrency !== null) parts.push(`conc ${l.running}/${l.concurrency}`);
  if (l.rate !== null) parts.push(`rate ${l.rate} burst ${l.burst ?? '-'} (tokens ${l.tokens ?? '-'})`);
  if (l.perKeyConcurrency !== null)
    parts.push(
      `per key ${l.perKeyConcurrency} (${l.keysAtLimit ?? 0} of ${l.keysRunning ?? 0} ${l.keysRunning === 1 ? 'key' : 'keys'} at limit)`,
    );
  return parts.join(', ');
}

interface LimitOptions {
  concurrency?: string;
  rate?: string;
  burst?: string;
  perKeyConcurrency?: string;
  clear?: boolean;
  json?: boolean;
}

/** `--concurrency 5` → 5, `--concurrency off` → null (remove), absent → undefined (keep). */
function limitValue(flag: string, v: string | undefined): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === 'off' || v === 'none') return null;
  return parseInteger(flag, v, 1, 1_000_000);
}

async function setLimits(name: string, opts: LimitOptions, cmd: Command): Promise<void> {
  const queue = validateName('queue', name);
  const input: QueueLimitsInput = {
    concurrency: limitValue('--concurrency', opts.concurrency),
    rate: opts.rate === 'off' || opts.rate === 'none' ? null : opts.rate,
    burst: limitValue('--burst', opts.burst),
    perKeyConcurrency: limitValue('--per-key-concurrency', opts.perKeyConcurrency),
  };
  const given = Object.values(input).some((v) => v !== undefined);
  if (input.rate) parseRate('--rate', input.rate); // refused before the database is touched
  await withDatabase(cmd, async (db) => {
    let l: QueueLimits | undefined;
    if (opts.clear) l = await clearQueueLimits(db.exec, queue);
    else if (given) l = await setQueueLimits(db.exec, queue, input);
    else l = (await listQueueLimits(db.exec, queue))[0];
    const text = formatLimits(l);
    if (jsonWanted(cmd)) printJson(l ?? { queue, limits: null });
    else say(`queue ${queue}: ${text === '' || text === '-' ? 'no limits' : text}`);
  });
}

export function register(program: Command): void {
  const queues = program
    .command('queues')
    .description(
      'per queue: jobs by status, age of the oldest ready job, paused, flow limits; pause/resume/limit a queue',
    )
    .option('--json', 'machine-readable output (a JSON array, one object per queue)')
    .action(async (_opts: unknown, cmd: Command) => {
      await withDatabase(cmd, async (db) => {
        const stats = await queueStats(db.exec);
        if (jsonWanted(cmd)) {
          const limits = new Map((await listQueueLimits(db.exec)).map((l) => [l.queue, l]));
          printJson(stats.map((s) => ({ ...s, limits: limits.get(s.queue) ?? null })));
          return;
        }
        if (stats.length === 0) {
          say('no queues yet (a queue appears with its first job or when paused)');
          return;
        }
        const limits = new Map((await listQueueLimits(db.exec)).map((l) => [l.queue, l]));
        printTable(
          ['queue', 'paused', ...JOB_STATUSES, 'oldest ready', 'limits (in use)'],
          stats.map((s) => [
            s.queue,
            s.paused ? 'PAUSED' : 'no',
            ...JOB_STATUSES.map((st) => s.counts[st]),
            s.oldestReadyAgeSeconds === null ? '-' : formatDuration(s.oldestReadyAgeSeconds * 1000),
            formatLimits(limits.get(s.queue)),
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

  queues
    .command('limit <queue>')
    .description(
      "set a queue's flow limits across all workers (picked up by running workers at their next claim); 'off' removes one, --clear all",
    )
    .option('--concurrency <n>', 'at most N jobs of the queue running at once, cluster-wide (or off)')
    .option('--rate <r>', 'at most R job starts per period, e.g. 10/s, 600/m (or off)')
    .option('--burst <n>', 'starts allowed at once after a quiet spell (default: one period of --rate)')
    .option('--per-key-concurrency <n>', 'at most K running jobs per job key (tenant) (or off)')
    .option('--clear', 'remove every limit of the queue')
    .option('--json', 'machine-readable output: the limits and their use')
    .action(setLimits);
}
