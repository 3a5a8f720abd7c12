// `jobq dev`: everything in one process for local development. Without DATABASE_URL it starts an
// embedded PostgreSQL (data kept under ~/.jobq/dev, or /var/tmp/jobq-dev as root, or --data-dir), migrates,
// then runs the worker, the API + dashboard on 127.0.0.1 and the scheduler, and prints a short banner
// with the URLs. Ctrl-C / SIGTERM stop all of it, PostgreSQL last.
import { homedir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { postgresUser, reachableBy, startEmbedded } from '../db/embedded.js';
import { migrate } from '../db/migrate.js';
import { runUntilSignal, type Service } from '../lifecycle.js';
import { createApiService, type ApiService } from '../api/server.js';
import { createLogger, usePretty, type Logger } from '../log.js';
import { metricsServices } from '../metrics/services.js';
import { parseInteger } from '../parse.js';
import { configFrom } from './context.js';
import { daemonDeps, type DaemonDeps } from './daemon.js';
import { createSchedulerService } from './scheduler.js';
import { createWorkerService } from '../worker/index.js';
import { flagQueues, withWorkerFlags, workerOverrides, type WorkerFlags } from './worker.js';
import { clearDevState, writeDevState } from './dev-state.js';

interface DevOptions extends WorkerFlags {
  dataDir?: string;
  port?: string;
}

/** The default data directory; as root, ~ is unreadable to the "postgres" user, so /var/tmp/jobq-dev. */
export function defaultDataDir(): string {
  const home = path.join(homedir(), '.jobq', 'dev');
  return reachableBy(home, postgresUser()) ? home : path.join('/var/tmp', 'jobq-dev');
}

/** What the banner shows. */
interface BannerFacts {
  url: string;
  database: string;
  queues: string;
  handlers: string | undefined;
  auth: boolean;
}

/** The lines `jobq dev` prints once everything runs (for a person; JSON logs get one record instead). */
export function bannerLines(f: BannerFacts): string[] {
  return [
    '',
    `  jobq dev is running`,
    `    dashboard   ${f.url}/`,
    `    API         ${f.url}/jobs   (curl ${f.url}/jobs)`,
    `    database    ${f.database}`,
    `    worker      queues ${f.queues}; handlers ${f.handlers ?? 'demo.* built-ins'}`,
    ...(f.auth
      ? []
      : [
          `  ! no authentication: only this machine can reach it (127.0.0.1; requests from web pages`,
          `    of other sites are refused). Set JOBQ_API_TOKENS to require tokens.`,
        ]),
    `  Ctrl-C stops everything.`,
    '',
  ];
}

/** A last service whose start prints the banner (everything before it has started). */
function bannerService(
  api: ApiService,
  facts: Omit<BannerFacts, 'url'>,
  log: Logger,
  pretty: boolean,
): Service {
  return {
    name: 'banner',
    start: () => {
      const f = { ...facts, url: api.url() };
      if (pretty) process.stdout.write(`${bannerLines(f).join('\n')}\n`);
      else log.info({ dashboard: `${f.url}/`, database: f.database, auth: f.auth }, 'jobq dev is ready');
      return Promise.resolve();
    },
    stop: () => Promise.resolve(),
  };
}

/** The daemons `jobq dev` runs, in start order (each issue adds its own). */
function devServices(deps: DaemonDeps, database: string): Service[] {
  const services: Service[] = [];
  // The worker (--queue/QUEUE, --concurrency/CONCURRENCY, --handlers/JOBQ_HANDLERS; demo.* built in).
  services.push(createWorkerService(deps));
  // API + dashboard on 127.0.0.1 (--port/PORT, default 8000); no auth unless JOBQ_API_TOKENS is set.
  const { apiHost, port, apiTokens } = deps.config;
  const api = createApiService(deps, { host: apiHost, port, auth: apiTokens ? 'required' : 'none' });
  services.push(api);
  // Cron schedules and maintenance (lease reclaim, retention pruning, stale workers).
  services.push(createSchedulerService(deps));
  // Queue-depth sampler and process metrics, served on the API's /metrics (one registry for all three).
  services.push(...metricsServices(deps, { sampler: true, server: false }));
  const facts = { database, queues: deps.config.queues, handlers: deps.config.handlers, auth: !!apiTokens };
  services.push(bannerService(api, facts, deps.log, usePretty(deps.config.logFormat, 1)));
  return services;
}

/** The URL without its password, for the banner. */
function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(set)';
  }
}

export function register(program: Command): void {
  withWorkerFlags(
    program
      .command('dev')
      .description(
        'run worker, API + dashboard (127.0.0.1:8000) and scheduler in one process; embedded PostgreSQL when DATABASE_URL is unset',
      )
      .option(
        '--data-dir <dir>',
        'embedded PostgreSQL data directory (env JOBQ_DEV_DATA_DIR; default ~/.jobq/dev, or /var/tmp/jobq-dev when run as root)',
      )
      .option('--port <port>', 'API and dashboard port on 127.0.0.1 (env PORT, default 8000)'),
    'worker queues and slots, e.g. email:10,default (env QUEUE; default "default")',
  ).action(async (opts: DevOptions, cmd: Command) => {
    let config = configFrom(cmd, {
      apiHost: '127.0.0.1',
      port: opts.port === undefined ? undefined : parseInteger('--port', opts.port, 0, 65_535),
      ...workerOverrides(opts),
    });
    flagQueues(config, opts);
    const log = createLogger(config.logLevel, 1, 'jobq-dev', config.logFormat);
    const services: Service[] = [];
    let database = `${withoutPassword(config.databaseUrl ?? '')} (DATABASE_URL)`;
    if (!config.databaseUrl) {
      const dataDir = path.resolve(opts.dataDir ?? config.devDataDir ?? defaultDataDir());
      log.info({ dataDir }, 'starting embedded PostgreSQL');
      const pg = await startEmbedded({
        dataDir,
        persistent: true,
        onLog: (line) => log.debug({ pg: line }),
      });
      log.info({ url: pg.url }, 'embedded PostgreSQL is up');
      database = `${pg.url} (embedded; data in ${dataDir})`;
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
    services.push(...devServices(deps, database));
    await runUntilSignal(services, log);
  });
}
