// `jobq workers`: the workers online (heartbeat within onlineWindowMs), with their queues and load.
import type { Command } from 'commander';
import { formatDuration } from '../parse.js';
import { listWorkers, onlineWindowMs } from '../queue/workers-online.js';
import { withDatabase } from './context.js';
import { iso, printJson, printTable, relativeTime, say } from './output.js';

export function register(program: Command): void {
  program
    .command('workers')
    .description(
      'workers online (heartbeat within max(60s, 2 × JOBQ_LEASE_SECONDS)): queues, running jobs, runaways, heartbeat',
    )
    .option('--json', 'machine-readable output (a JSON array, one object per worker)')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withDatabase(cmd, async (db, config) => {
        const windowMs = onlineWindowMs(config.leaseMs);
        const workers = await listWorkers(db.exec, windowMs);
        if (opts.json) {
          printJson(workers);
          return;
        }
        if (workers.length === 0) {
          say(`no workers online (none sent a heartbeat in the last ${formatDuration(windowMs)})`);
          return;
        }
        const now = Date.now();
        printTable(
          [
            'id',
            'host',
            'pid',
            'queues (name:slots)',
            'running',
            'runaways',
            'metrics',
            'started',
            'last heartbeat',
          ],
          workers.map((w) => [
            w.id,
            w.host,
            w.pid,
            Object.entries(w.queues)
              .map(([q, n]) => `${q}:${n}`)
              .join(', '),
            w.running,
            w.runaways,
            w.metricsUrl ?? 'none',
            `${iso(w.startedAt)} (${relativeTime(w.startedAt, now)})`,
            relativeTime(w.lastHeartbeatAt, now),
          ]),
        );
      });
    });
}
