// `jobq dev`: everything in one process for local development. Without DATABASE_URL it starts an
// embedded PostgreSQL (data kept under ~/.jobq/dev or --data-dir), migrates, then runs the worker, the
// API + dashboard on 127.0.0.1 and the scheduler. Ctrl-C / SIGTERM stop all of it, PostgreSQL last.
import { homedir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { postgresUser, reachableBy, startEmbedded } from '../db/embedded.js';
import { migrate } from '../db/migrate.js';
import { runUntilSignal, type Service } from '../lifecycle.js';
import { createApiService } from '../api/server.js';
import { createLogger } from '../log.js';
import { metricsServices } from '../metrics/services.js';
import { configFrom } from './context.js';
import { daemonDeps, type DaemonDeps } from './daemon.js';
import { createSchedulerService } from './scheduler.js';
import { createWorkerService } from '../worker/index.js';
import { clearDevState, writeDevState } from './dev-state.js';

interface DevOptions {
  dataDir?: string;
}

/** The default data directory; as root, ~ may be unreadable to the "postgres" user, so use /var/tmp. */
function defaultDataDir(): string {
  const home = path.join(homedir(), '.jobq', 'dev');
  return reachableBy(home, postgresUser()) ? home : path.join('/var/tmp', 'jobq-dev');
}

/** The daemons `jobq dev` runs, in start order (each issue adds its own). */
function devServices(deps: DaemonDeps): Service[] {
  const services: Service[] = [];
  // The worker (QUEUE, CONCURRENCY, JOBQ_HANDLERS; the demo.* handlers are built in).
  services.push(createWorkerService(deps));
  // API + dashboard on 127.0.0.1 (PORT, default 8000); no auth unless JOBQ_API_TOKENS is set (warns).
  const { apiHost, port, apiTokens } = deps.config;
  services.push(createApiService(deps, { host: apiHost, port, auth: apiTokens ? 'required' : 'none' }));
  // Cron schedules and maintenance (lease reclaim, retention pruning, stale workers).
  services.push(createSchedulerService(deps));
  // Queue-depth sampler and process metrics, served on the API's /metrics (one registry for all three).
  services.push(...metricsServices(deps, { sampler: true, server: false }));
  return services;
}

export function register(program: Command): void {
  program
    .command('dev')
    .description(
      'run worker, API + dashboard (127.0.0.1:8000) and scheduler in one process; embedded PostgreSQL when DATABASE_URL is unset',
    )
    .option(
      '--data-dir <dir>',
      'embedded PostgreSQL data directory (default ~/.jobq/dev, env JOBQ_DEV_DATA_DIR)',
    )
    .action(async (opts: DevOptions, cmd: Command) => {
      let config = configFrom(cmd, { apiHost: '127.0.0.1' });
      const log = createLogger(config.logLevel, 1, 'jobq-dev');
      const services: Service[] = [];
      if (!config.databaseUrl) {
        const dataDir = opts.dataDir ?? config.devDataDir ?? defaultDataDir();
        log.info({ dataDir }, 'starting embedded PostgreSQL');
        const pg = await startEmbedded({
          dataDir,
          persistent: true,
          onLog: (line) => log.debug({ pg: line }),
        });
        log.info({ url: pg.url }, 'embedded PostgreSQL is up');
        config = { ...config, databaseUrl: pg.url };
        writeDevState({ url: pg.url, pid: process.pid, schema: config.schema });
        services.push({
          name: 'postgres',
          start: () => Promise.resolve(),
          stop: async () => {
            clearDevState();
            await pg.stop();
          },
        });
      }
      const deps = daemonDeps(config, 'dev');
      services.push({
        name: 'database',
        start: async () => {
          await migrate(deps.db.exec);
        },
        stop: () => deps.db.close(),
      });
      services.push(...devServices(deps));
      await runUntilSignal(services, log);
    });
}
