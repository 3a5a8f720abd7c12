// What every daemon (worker, api, scheduler, dev) shares: configuration, one pool, a logger, the metric
// set, and a start-up wait for a reachable, migrated database (a daemon never crash-loops because
// PostgreSQL is not up yet or the migration Job has not finished).
import { Backoff } from '../backoff.js';
import { dbTimeouts, type Config } from '../config.js';
import { connect, type Database } from '../db/connect.js';
import { assertMigrated } from '../db/migrate.js';
import { JobqError, SchemaTooNewError, UsageError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { createMetrics, type Metrics } from '../metrics/metrics.js';
import type { Service } from '../lifecycle.js';
import { checkServerCapacity, probeDatabase, sharedProbe } from '../queue/health.js';
import type { Readiness } from '../metrics/server.js';

export interface DaemonDeps {
  config: Config;
  db: Database;
  log: Logger;
  metrics: Metrics;
  /** The process's name in logs and application_name (jobq-worker, jobq-api, …). */
  name: string;
  /** The most connections this process may open, by purpose (logged at start, checked against the server). */
  budget: Record<string, number>;
}

/**
 * Opens the shared dependencies of a daemon process (the pool connects lazily). `extra` lists the
 * connections it opens beside the pool (LISTEN, handler transactions) for its connection budget.
 */
export function daemonDeps(
  config: Config,
  name: string,
  poolSize = 10,
  extra: Record<string, number> = {},
): DaemonDeps {
  if (!config.databaseUrl)
    throw new UsageError(
      'no database configured: set DATABASE_URL or pass --database-url (jobq dev starts an embedded one)',
    );
  const log = createLogger(config.logLevel, 1, `jobq-${name}`, config.logFormat);
  const db = connect({
    url: config.databaseUrl,
    schema: config.schema,
    max: poolSize,
    applicationName: `jobq-${name}`,
    timeouts: dbTimeouts(config),
    onPooler: () =>
      log.info(
        'the server side refused startup parameters (a pooler such as PgBouncer): statement and lock timeouts are set per transaction (SET LOCAL)',
      ),
  });
  return {
    config,
    db,
    log,
    metrics: createMetrics(),
    name: `jobq-${name}`,
    budget: { pool: poolSize, ...extra },
  };
}

/**
 * Waits until the database answers and is migrated, retrying with capped backoff and saying why in the
 * log. A database migrated by a newer jobq is refused at once (waiting would not help).
 */
export async function waitForDatabase(deps: DaemonDeps, signal?: AbortSignal): Promise<void> {
  const backoff = new Backoff();
  for (let attempt = 1; ; attempt++) {
    try {
      await assertMigrated(deps.db.exec);
      if (attempt > 1) deps.log.info('database is ready');
      return;
    } catch (err) {
      if (err instanceof SchemaTooNewError || !(err instanceof JobqError)) throw err;
      const delay = backoff.next();
      deps.log.warn({ attempt, retryInMs: delay }, `waiting for the database: ${err.message}`);
      if (signal?.aborted) throw new Error('aborted while waiting for the database', { cause: err });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/**
 * The first service of a daemon: start waits for a reachable, migrated database (interrupted by a
 * signal during the wait); stop closes the pool, after every service that uses it has stopped.
 */
export function databaseService(deps: DaemonDeps): Service {
  const abort = new AbortController();
  return {
    name: 'database',
    start: async () => {
      logBudget(deps);
      await waitForDatabase(deps, abort.signal);
      await warnAboutServer(deps);
    },
    stop: async () => {
      abort.abort();
      await deps.db.close();
    },
  };
}

/** Total of a connection budget. */
export function budgetTotal(budget: Record<string, number>): number {
  return Object.values(budget).reduce((a, b) => a + b, 0);
}

/** Logs the most connections this daemon may open, and the timeouts its statements run with. */
export function logBudget(deps: DaemonDeps): void {
  const c = deps.config;
  deps.log.info(
    {
      connections: budgetTotal(deps.budget),
      ...deps.budget,
      statementTimeoutMs: c.statementTimeoutMs,
      lockTimeoutMs: c.lockTimeoutMs,
    },
    `connection budget: at most ${budgetTotal(deps.budget)} connections (${Object.entries(deps.budget)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')})`,
  );
}

/**
 * One warning when the server's settings endanger jobq (too few free connections for this daemon's
 * budget, autovacuum off). A failing check is logged at debug level and otherwise ignored.
 */
export async function warnAboutServer(deps: DaemonDeps): Promise<void> {
  try {
    const r = await checkServerCapacity(deps.db.exec, budgetTotal(deps.budget), deps.name);
    if (r.dangers.length > 0)
      deps.log.warn(
        { free: r.free, budget: budgetTotal(deps.budget), autovacuum: r.settings.autovacuum },
        `the PostgreSQL server endangers jobq: ${r.dangers.join('; ')}`,
      );
  } catch (err) {
    deps.log.debug({ err }, 'checking the server settings failed');
  }
}

/**
 * A daemon's /readyz: the database reachable and migrated and the jobs table not locked, checked on a
 * short-lived connection of its own, one check at a time and its answer shared for a second
 * (sharedProbe); for a worker (workerId given) also its registration. An empty id (worker not started
 * yet) is not ready.
 */
export function daemonReadiness(deps: DaemonDeps, workerId?: () => string): () => Promise<Readiness> {
  return sharedProbe(async (): Promise<Readiness> => {
    const id = workerId?.();
    if (id === '') return { ready: false, reason: 'the worker has not started yet' };
    const p = await probeDatabase({
      url: deps.db.url,
      schema: deps.config.schema,
      ...(id !== undefined ? { workerId: id } : {}),
    });
    return { ...p };
  });
}
