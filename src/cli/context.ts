// What every CLI command needs: the validated configuration (global flags over env) and a database
// handle that has been checked to be reachable and migrated.
import type { Command } from 'commander';
import { dbTimeouts, loadConfig, type Config, type ConfigOverrides } from '../config.js';
import { connect, type Database } from '../db/connect.js';
import { assertMigrated } from '../db/migrate.js';
import { UsageError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { readDevState } from './dev-state.js';

export interface GlobalOptions {
  databaseUrl?: string;
  schema?: string;
  logLevel?: string;
}

/** Resolves configuration from the program's global options plus per-command overrides. */
export function configFrom(cmd: Command, overrides: ConfigOverrides = {}): Config {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  // An empty variable (DATABASE_URL= jobq …) counts as unset, as it does for every other variable.
  const given = (v: string | undefined): string | undefined => (v === '' ? undefined : v);
  return loadConfig({
    databaseUrl: given(g.databaseUrl),
    schema: given(g.schema),
    logLevel: given(g.logLevel),
    ...overrides,
  });
}

/**
 * For operator commands: the configured database, or else the embedded database of a `jobq dev` that
 * is running on this machine.
 */
export function operatorConfigFrom(cmd: Command, overrides: ConfigOverrides = {}): Config {
  const config = configFrom(cmd, overrides);
  if (config.databaseUrl) return config;
  const dev = readDevState();
  return dev ? { ...config, databaseUrl: dev.url } : config;
}

/** Opens the database for an operator command; refuses when there is no URL or it is not migrated. */
export async function openDatabase(
  config: Config,
  opts: { checkMigrated?: boolean; max?: number; timeouts?: boolean } = {},
): Promise<Database> {
  if (!config.databaseUrl) {
    throw new UsageError(
      'no database configured: set DATABASE_URL or pass --database-url (jobq dev starts an embedded one)',
    );
  }
  const db = connect({
    url: config.databaseUrl,
    schema: config.schema,
    max: opts.max ?? 2,
    applicationName: 'jobq-cli',
    // migrate waits for other migrators on an advisory lock and may rewrite big tables: no timeouts
    ...(opts.timeouts === false ? {} : { timeouts: dbTimeouts(config) }),
  });
  if (opts.checkMigrated !== false) {
    try {
      await assertMigrated(db.exec);
    } catch (err) {
      await db.close();
      throw err;
    }
  }
  return db;
}

/**
 * Runs fn with an open, migrated database and always closes it. `check` validates the command's input
 * first, so bad input is refused (exit 1, naming the field) whatever state the database is in.
 */
export async function withDatabase<T>(
  cmd: Command,
  fn: (db: Database, config: Config) => Promise<T>,
  opts: { overrides?: ConfigOverrides; check?: (config: Config) => void } = {},
): Promise<T> {
  const config = operatorConfigFrom(cmd, opts.overrides);
  opts.check?.(config);
  const db = await openDatabase(config);
  try {
    return await fn(db, config);
  } finally {
    await db.close();
  }
}

/** Logger for operator commands (stderr, so stdout stays clean for --json). */
export function cliLogger(config: Config): Logger {
  return createLogger(config.logLevel, 2, 'jobq', config.logFormat);
}
