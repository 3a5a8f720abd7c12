// What every daemon (worker, api, scheduler, dev) shares: configuration, one pool, a logger, the metric
// set, and a start-up wait for a reachable, migrated database (a daemon never crash-loops because
// PostgreSQL is not up yet or the migration Job has not finished).
import { Backoff } from '../backoff.js';
import type { Config } from '../config.js';
import { connect, type Database } from '../db/connect.js';
import { assertMigrated } from '../db/migrate.js';
import { JobqError, SchemaTooNewError, UsageError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { createMetrics, type Metrics } from '../metrics/metrics.js';
import type { Service } from '../lifecycle.js';

export interface DaemonDeps {
  config: Config;
  db: Database;
  log: Logger;
  metrics: Metrics;
}

/** Opens the shared dependencies of a daemon process (the pool connects lazily). */
export function daemonDeps(config: Config, name: string, poolSize = 10): DaemonDeps {
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
  });
  return { config, db, log, metrics: createMetrics() };
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
    start: () => waitForDatabase(deps, abort.signal),
    stop: async () => {
      abort.abort();
      await deps.db.close();
    },
  };
}
