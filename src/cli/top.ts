// `jobq top [--interval 1s]`: the live terminal dashboard (Ink), reading PostgreSQL directly. The Ink app
// is imported only when this command runs, so every other command starts without loading Ink and React.
import type { Command } from 'commander';
import { ValidationError } from '../errors.js';
import { parseDuration } from '../parse.js';
import { onlineWindowMs } from '../queue/overview.js';
import { databaseSource } from '../tui/source.js';
import { openDatabase, operatorConfigFrom } from './context.js';

export function register(program: Command): void {
  program
    .command('top')
    .description(
      'live terminal dashboard: queues, throughput, failures, workers (q quits, p pauses, r retries)',
    )
    .option('--interval <duration>', 'refresh interval, e.g. 500ms, 2s', '1s')
    .action(async (opts: { interval: string }, cmd: Command) => {
      const intervalMs = parseDuration('--interval', opts.interval);
      if (intervalMs < 100 || intervalMs > 3_600_000)
        throw new ValidationError('--interval', 'a duration from 100ms to 1h', JSON.stringify(opts.interval));
      const config = operatorConfigFrom(cmd);
      const db = await openDatabase(config);
      // A pooled client whose connection dies while checked out emits 'error' with no listener, which
      // would crash top exactly when it should show the outage; the failed query still rejects.
      db.pool.on('connect', (client) => client.on('error', () => undefined));
      try {
        const { runTop } = await import('../tui/run.js');
        await runTop({
          source: databaseSource(db.exec, { onlineWithinMs: onlineWindowMs(config.leaseMs) }),
          intervalMs,
          label: `schema ${config.schema}`,
        });
      } finally {
        await db.close();
      }
    });
}
