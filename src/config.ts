// Configuration: defaults < environment < command-line flags, validated once. This is the only module
// that reads process.env; ENV_VARS is the one list of variables jobq reads (the README table and the
// deployment consistency test are checked against it).
import { ValidationError } from './errors.js';
import { parseDuration, parseInteger } from './parse.js';

export interface EnvVar {
  name: string;
  default: string;
  description: string;
}

/** Every environment variable jobq reads, with its default and meaning. */
export const ENV_VARS: readonly EnvVar[] = [
  {
    name: 'DATABASE_URL',
    default: '(embedded PostgreSQL under jobq dev)',
    description: 'PostgreSQL connection string',
  },
  {
    name: 'JOBQ_LISTEN_DATABASE_URL',
    default: 'DATABASE_URL',
    description: 'direct (non-pooled) connection used for LISTEN; off: no LISTEN, poll only',
  },
  { name: 'JOBQ_SCHEMA', default: 'jobq', description: 'schema holding all jobq tables' },
  {
    name: 'JOBQ_LOG_LEVEL',
    default: 'info',
    description: 'log level: trace, debug, info, warn, error, fatal, silent',
  },
  {
    name: 'JOBQ_LOG_FORMAT',
    default: 'auto',
    description: 'log lines: pretty (for people), json, or auto (pretty on a terminal, else JSON)',
  },
  {
    name: 'JOBQ_MAX_PAYLOAD_BYTES',
    default: '1048576',
    description: 'largest accepted job payload (and API body), in bytes',
  },
  { name: 'JOBQ_MAX_ATTEMPTS', default: '5', description: 'default max attempts of a new job' },
  { name: 'QUEUE', default: 'default', description: 'worker queues, comma list; name:concurrency allowed' },
  { name: 'CONCURRENCY', default: '10', description: 'worker slots per queue when a queue names none' },
  {
    name: 'JOBQ_HANDLERS',
    default: '(built-in demo handlers)',
    description: 'module exporting job handlers',
  },
  {
    name: 'JOBQ_LEASE_SECONDS',
    default: '30',
    description: 'lease length; a heartbeat renews it every third of it',
  },
  {
    name: 'JOBQ_SHUTDOWN_GRACE_SECONDS',
    default: '25',
    description: 'how long SIGTERM waits for running jobs before releasing them',
  },
  {
    name: 'JOBQ_POLL_INTERVAL_MS',
    default: '1000',
    description: 'worker poll fallback when no NOTIFY arrives (jittered ±50%)',
  },
  {
    name: 'JOBQ_STARVATION_SECONDS',
    default: '60',
    description: 'a ready job waiting longer than this is taken ahead of higher priorities',
  },
  {
    name: 'JOBQ_BACKOFF_BASE_MS',
    default: '1000',
    description: 'retry backoff base (full jitter, doubled per attempt)',
  },
  { name: 'JOBQ_BACKOFF_MAX_MS', default: '3600000', description: 'retry backoff cap' },
  {
    name: 'JOBQ_JOB_TIMEOUT_MS',
    default: '900000',
    description: 'timeout of a job whose type sets none (the attempt fails, the signal fires); 0: none',
  },
  {
    name: 'JOBQ_TIMEOUT_GRACE_MS',
    default: '5000',
    description:
      "after a job's timeout, how long its handler may ignore the signal before its slot is given back",
  },
  {
    name: 'JOBQ_MAX_RUNAWAYS',
    default: '10',
    description: 'handlers still running past timeout + grace before the worker stops and exits 1',
  },
  {
    name: 'JOBQ_MAX_RESULT_BYTES',
    default: 'JOBQ_MAX_PAYLOAD_BYTES',
    description: 'largest job result stored (JSON bytes); larger results fail the attempt',
  },
  {
    name: 'JOBQ_FREE_RELEASES',
    default: '2',
    description: 'graceful-shutdown releases of a job not counted as an attempt; each later one counts',
  },
  { name: 'PORT', default: '8000', description: 'API port' },
  { name: 'JOBQ_API_HOST', default: '0.0.0.0', description: 'API listen address (jobq dev: 127.0.0.1)' },
  { name: 'JOBQ_API_TOKENS', default: '(none)', description: 'API bearer tokens, name:token[,name2:token2]' },
  {
    name: 'JOBQ_AUTH_FAILURE_LIMIT',
    default: '10',
    description: 'wrong API tokens per client address per minute before 429 (0: no limit)',
  },
  { name: 'JOBQ_RATE_LIMIT_PER_SEC', default: '(off)', description: 'API requests per second per client' },
  {
    name: 'JOBQ_RATE_LIMIT_BURST',
    default: 'JOBQ_RATE_LIMIT_PER_SEC',
    description: 'API token-bucket size per client',
  },
  {
    name: 'JOBQ_METRICS_PORT',
    default: '9464',
    description: 'worker/scheduler /metrics port; 0 turns it off',
  },
  {
    name: 'JOBQ_RETENTION_COMPLETED',
    default: '7d',
    description: 'how long COMPLETED and CANCELLED jobs are kept',
  },
  { name: 'JOBQ_RETENTION_DEAD', default: '30d', description: 'how long DEAD jobs are kept' },
  {
    name: 'JOBQ_SCHEDULER_MISFIRE_GRACE',
    default: '30s',
    description: 'a fire time later than this counts as missed (the missed-run policy applies)',
  },
  {
    name: 'JOBQ_MAINTENANCE_INTERVAL',
    default: '1m',
    description: 'how often pruning and stale-worker cleanup run (once per interval across all schedulers)',
  },
  {
    name: 'JOBQ_RECLAIM_INTERVAL',
    default: '10s',
    description: 'how often a scheduler reclaims expired leases (once per interval across all schedulers)',
  },
  {
    name: 'JOBQ_STATEMENT_TIMEOUT_MS',
    default: '30000',
    description:
      "statement_timeout of jobq's own statements (not handlers' work in ctx.transaction); 0 turns it off",
  },
  {
    name: 'JOBQ_LOCK_TIMEOUT_MS',
    default: '5000',
    description:
      "lock_timeout of jobq's own statements: a locked table fails fast instead of queueing; 0 = off",
  },
  {
    name: 'JOBQ_DEV_DATA_DIR',
    default: '~/.jobq/dev (as root: /var/tmp/jobq-dev)',
    description: 'embedded PostgreSQL data directory of jobq dev',
  },
];

export type Env = Record<string, string | undefined>;

export interface Config {
  databaseUrl: string | undefined;
  listenDatabaseUrl: string | undefined;
  schema: string;
  logLevel: string;
  logFormat: LogFormat;
  maxPayloadBytes: number;
  defaultMaxAttempts: number;
  queues: string;
  concurrency: number;
  handlers: string | undefined;
  leaseMs: number;
  shutdownGraceMs: number;
  pollIntervalMs: number;
  starvationMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  jobTimeoutMs: number;
  timeoutGraceMs: number;
  maxRunaways: number;
  freeReleases: number;
  maxResultBytes: number;
  port: number;
  apiHost: string;
  apiTokens: string | undefined;
  authFailureLimit: number;
  rateLimitPerSec: number | undefined;
  rateLimitBurst: number | undefined;
  metricsPort: number;
  /** True when JOBQ_METRICS_PORT was set (a taken port is then an error, not a warning). */
  metricsPortExplicit: boolean;
  retentionCompletedMs: number;
  retentionDeadMs: number;
  schedulerGraceMs: number;
  maintenanceIntervalMs: number;
  reclaimIntervalMs: number;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  devDataDir: string | undefined;
}

/** Flag values that override the environment (undefined means "not given"). */
export type ConfigOverrides = { [K in keyof Config]?: Config[K] | undefined };

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * Checks a PostgreSQL connection URL's form before any connection is tried ("not a url" would otherwise
 * surface as a DNS failure for a host named after a fragment of it). The URL itself is never echoed: it
 * may hold a password.
 */
export function checkDatabaseUrl(field: string, url: string): string {
  const expected = 'a URL such as postgres://user:password@host:5432/dbname';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(field, expected, '(not a URL)');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
    throw new ValidationError(field, expected, `a URL with scheme ${JSON.stringify(parsed.protocol)}`);
  return url;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v;
}

/** Reads and validates the configuration; flags (overrides) win over env, env over defaults. */
export function loadConfig(overrides: ConfigOverrides = {}, env: Env = process.env): Config {
  const int = (name: string, def: number, min: number, max: number): number => {
    const v = nonEmpty(env[name]);
    return v === undefined ? def : parseInteger(name, v, min, max);
  };
  const optInt = (name: string, min: number, max: number): number | undefined => {
    const v = nonEmpty(env[name]);
    return v === undefined ? undefined : parseInteger(name, v, min, max);
  };
  const dur = (name: string, def: string): number => parseDuration(name, nonEmpty(env[name]) ?? def);
  const seconds = (name: string, def: number, min: number, max: number): number =>
    int(name, def, min, max) * 1000;

  const maxPayloadBytes = int('JOBQ_MAX_PAYLOAD_BYTES', 1_048_576, 1024, 256 * 1_048_576);
  const base: Config = {
    databaseUrl: nonEmpty(env.DATABASE_URL),
    listenDatabaseUrl: nonEmpty(env.JOBQ_LISTEN_DATABASE_URL),
    schema: nonEmpty(env.JOBQ_SCHEMA) ?? 'jobq',
    logLevel: nonEmpty(env.JOBQ_LOG_LEVEL) ?? 'info',
    logFormat: (nonEmpty(env.JOBQ_LOG_FORMAT) ?? 'auto') as LogFormat,
    maxPayloadBytes,
    defaultMaxAttempts: int('JOBQ_MAX_ATTEMPTS', 5, 1, 1000),
    queues: nonEmpty(env.QUEUE) ?? 'default',
    concurrency: int('CONCURRENCY', 10, 1, 10_000),
    handlers: nonEmpty(env.JOBQ_HANDLERS),
    leaseMs: seconds('JOBQ_LEASE_SECONDS', 30, 1, 86_400),
    shutdownGraceMs: seconds('JOBQ_SHUTDOWN_GRACE_SECONDS', 25, 0, 86_400),
    pollIntervalMs: int('JOBQ_POLL_INTERVAL_MS', 1000, 10, 3_600_000),
    starvationMs: seconds('JOBQ_STARVATION_SECONDS', 60, 1, 30 * 86_400),
    backoffBaseMs: int('JOBQ_BACKOFF_BASE_MS', 1000, 1, 86_400_000),
    backoffMaxMs: int('JOBQ_BACKOFF_MAX_MS', 3_600_000, 1, 30 * 86_400_000),
    jobTimeoutMs: int('JOBQ_JOB_TIMEOUT_MS', 900_000, 0, 7 * 86_400_000),
    timeoutGraceMs: int('JOBQ_TIMEOUT_GRACE_MS', 5000, 0, 3_600_000),
    maxRunaways: int('JOBQ_MAX_RUNAWAYS', 10, 0, 10_000),
    freeReleases: int('JOBQ_FREE_RELEASES', 2, 0, 1000),
    maxResultBytes: int('JOBQ_MAX_RESULT_BYTES', maxPayloadBytes, 1, 256 * 1_048_576),
    port: int('PORT', 8000, 0, 65_535),
    apiHost: nonEmpty(env.JOBQ_API_HOST) ?? '0.0.0.0',
    apiTokens: nonEmpty(env.JOBQ_API_TOKENS),
    authFailureLimit: int('JOBQ_AUTH_FAILURE_LIMIT', 10, 0, 1_000_000),
    rateLimitPerSec: optInt('JOBQ_RATE_LIMIT_PER_SEC', 1, 1_000_000),
    rateLimitBurst: optInt('JOBQ_RATE_LIMIT_BURST', 1, 1_000_000),
    metricsPort: int('JOBQ_METRICS_PORT', 9464, 0, 65_535),
    metricsPortExplicit: nonEmpty(env.JOBQ_METRICS_PORT) !== undefined,
    retentionCompletedMs: dur('JOBQ_RETENTION_COMPLETED', '7d'),
    retentionDeadMs: dur('JOBQ_RETENTION_DEAD', '30d'),
    schedulerGraceMs: dur('JOBQ_SCHEDULER_MISFIRE_GRACE', '30s'),
    maintenanceIntervalMs: dur('JOBQ_MAINTENANCE_INTERVAL', '1m'),
    reclaimIntervalMs: dur('JOBQ_RECLAIM_INTERVAL', '10s'),
    statementTimeoutMs: int('JOBQ_STATEMENT_TIMEOUT_MS', 30_000, 0, 86_400_000),
    lockTimeoutMs: int('JOBQ_LOCK_TIMEOUT_MS', 5000, 0, 86_400_000),
    devDataDir: nonEmpty(env.JOBQ_DEV_DATA_DIR),
  };
  const config: Config = { ...base };
  for (const [k, v] of Object.entries(overrides) as [keyof Config, unknown][]) {
    if (v !== undefined) (config as unknown as Record<string, unknown>)[k] = v;
  }
  if (!(LOG_LEVELS as readonly string[]).includes(config.logLevel))
    throw new ValidationError(
      'log level (JOBQ_LOG_LEVEL / --log-level)',
      `one of ${LOG_LEVELS.join(', ')}`,
      JSON.stringify(config.logLevel),
    );
  if (!(LOG_FORMATS as readonly string[]).includes(config.logFormat))
    throw new ValidationError(
      'JOBQ_LOG_FORMAT',
      `one of ${LOG_FORMATS.join(', ')}`,
      JSON.stringify(config.logFormat),
    );
  if (config.databaseUrl !== undefined)
    checkDatabaseUrl('database URL (DATABASE_URL / --database-url)', config.databaseUrl);
  if (config.listenDatabaseUrl !== undefined && config.listenDatabaseUrl !== 'off')
    checkDatabaseUrl('JOBQ_LISTEN_DATABASE_URL', config.listenDatabaseUrl);
  if (!SCHEMA_RE.test(config.schema)) {
    throw new ValidationError(
      'schema (JOBQ_SCHEMA / --schema)',
      'a lower-case SQL identifier such as jobq',
      JSON.stringify(config.schema),
    );
  }
  return config;
}

/** The statement and lock timeouts of jobq's own connections (src/db/connect.ts applies them). */
export function dbTimeouts(config: Config): { statementMs: number; lockMs: number } {
  return { statementMs: config.statementTimeoutMs, lockMs: config.lockTimeoutMs };
}

/** The URL to LISTEN on: JOBQ_LISTEN_DATABASE_URL, else DATABASE_URL; undefined when set to "off" (poll only). */
export function listenUrl(config: Config): string | undefined {
  if (config.listenDatabaseUrl === 'off') return undefined;
  return config.listenDatabaseUrl ?? config.databaseUrl;
}
