// `jobq explain <id> [--json]`: why a job is where it is and what happens next, in plain words.
import type { Command } from 'commander';
import { explainJob, type Explanation } from '../queue/explain.js';
import { onlineWindowMs } from '../queue/overview.js';
import { withDatabase } from './context.js';
import { printJson, say } from './output.js';

/** Renders an explanation for a terminal. */
export function formatExplanation(e: Explanation): string {
  const width = Math.max(...e.details.map((d) => d.label.length));
  const lines = [
    `${e.id}  ${e.status}  (${e.reason})`,
    '',
    e.summary,
    '',
    ...e.details.map((d) => `  ${d.label.padEnd(width)}  ${d.value}`),
    '',
    `Next: ${e.next}`,
  ];
  if (e.command) lines.push(`Run:  ${e.command}`);
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('explain <id>')
    .description(
      'say why a job is where it is (scheduled, paused queue, no worker, busy slots, lease, retry, dead…) and what happens next',
    )
    .option('--json', 'machine-readable output: {id, status, reason, summary, details, next, command, at}')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      await withDatabase(cmd, async (db, config) => {
        const e = await explainJob(db.exec, id, {
          onlineWithinMs: onlineWindowMs(config.leaseMs),
          starvationMs: config.starvationMs,
        });
        if (opts.json) printJson(e);
        else say(formatExplanation(e));
      });
    });
}
