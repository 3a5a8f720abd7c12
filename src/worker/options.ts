// Worker options: what createWorker accepts, the queue spec ("email:10,default" or { email: 10 }), the
// validated settings the worker runs with, and the shape of worker.stats().
import type { Database } from '../db/connect.js';
import { ValidationError } from '../errors.js';
import { DEFAULT_BACKOFF } from '../backoff.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { checkInteger } from '../parse.js';
import { FREE_RELEASES, NAME_RE, type BackoffOptions } from '../queue/index.js';
import type { HandlerMap } from './types.js';

export const MAX_SLOTS = 10_000;

export interface WorkerOptions {
  /** PostgreSQL URL (or give `database`, an open jobq handle the worker then does not close). */
  connectionString?: string;
  database?: Database;
  /** Schema of the jobq tables (default "jobq"; ignored when `database` is given). */
  schema?: string;
  /** Queues and their slots: "email:10,default" or { email: 10, default: 4 }. Default: "default". */
  queues?: string | Record<string, number>;
  /** Slots of a queue that names none (default 10). */
  concurrency?: number;
  /** Job type → handler; merged over the built-in demo.* handlers. */
  handlers?: HandlerMap;
  /** Lease length (default 30 s); the heartbeat renews it every third of it. */
  leaseMs?: number;
  /** stop() waits this long for running jobs before releasing them (default 25 s). */
  shutdownGraceMs?: number;
  /** Poll fallback when no NOTIFY arrives, jittered ±50% (default 1 s). */
  pollIntervalMs?: number;
  /** A job ready for longer than this is claimed ahead of higher priorities (default 60 s). */
  starvationMs?: number;
  /** Default retry backoff (full jitter). */
  backoff?: Partial<BackoffOptions>;
  /** Direct connection used for LISTEN (default: connectionString); false: poll only (e.g. via PgBouncer). */
  listen?: string | false;
  /** Largest batch claimed at once per queue (default 500). */
  claimBatch?: number;
  /**
   * Run claims as named prepared statements (default true; parsed and planned once per connection).
   * The worker falls back by itself when a pooler rejects them; false skips trying.
   */
  preparedStatements?: boolean;
  /** Connections of the worker's own pool when it opens one (default 2: claims, heartbeats, outcomes). */
  poolSize?: number;
  /** Most connections open at once for handlers' ctx.transaction, opened on demand (default: min(total slots, 10)). */
  transactionPoolSize?: number;
  /**
   * Timeout of every job whose type sets none (default 15 minutes; 0: none). When it passes, the attempt
   * fails at once ("timed out after N ms") and the signal fires.
   */
  jobTimeoutMs?: number;
  /** After a timeout, how long a handler may ignore its signal before its slot is given back (default 5 s). */
  timeoutGraceMs?: number;
  /** More runaway handlers than this at once: stop claiming and fail the worker (default 10). */
  maxRunaways?: number;
  /**
   * Releases of a job by a graceful shutdown that do not count as an attempt (default 2); each later
   * release counts as a failed attempt, so a job that hangs across deploys reaches DEAD.
   */
  freeReleases?: number;
  /** Largest result stored, as JSON bytes (default 1 MiB, the payload limit). */
  maxResultBytes?: number;
  /** An event-loop stall this long is logged, counted and reported (default: a third of the lease). */
  stallThresholdMs?: number;
  logger?: Logger;
  metrics?: Metrics;
  /** Where this process serves /metrics, /healthz, /readyz, recorded in its registration (`jobq workers`). */
  metricsUrl?: string | null;
}

/** Parses a queue spec into queue → slots; `concurrency` fills in queues that name no count. */
export function parseQueues(
  spec: string | Record<string, number>,
  concurrency: number,
  field = 'queues',
): Map<string, number> {
  const out = new Map<string, number>();
  const expected =
    'a comma list of queue names, each optionally with its slots, such as email:10,default:4 or email,default';
  const entries: [string, unknown][] =
    typeof spec === 'string'
      ? spec
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
          .map((s) => {
            const m = /^([^:]+?)\s*(?::\s*(.*))?$/.exec(s);
            const name = m?.[1] ?? s;
            const n = m?.[2];
            if (n === undefined) return [name, concurrency];
            if (!/^\d+$/.test(n))
              throw new ValidationError(
                `${field}: ${name}`,
                `slots as a whole number from 1 to ${MAX_SLOTS}`,
                JSON.stringify(n),
              );
            return [name, Number(n)];
          })
      : Object.entries(spec);
  for (const [name, slots] of entries) {
    if (!NAME_RE.test(name)) throw new ValidationError(field, expected, JSON.stringify(name));
    if (out.has(name)) throw new ValidationError(field, `each queue once (${name} appears twice)`);
    out.set(name, checkInteger(`${field}: ${name}`, slots, 1, MAX_SLOTS));
  }
  if (out.size === 0) throw new ValidationError(field, expected, JSON.stringify(spec));
  return out;
}

/** The validated settings a worker runs with. */
export interface WorkerSettings {
  queues: Map<string, number>;
  leaseMs: number;
  shutdownGraceMs: number;
  pollIntervalMs: number;
  starvationMs: number;
  backoff: BackoffOptions;
  listenUrl: string | null;
  claimBatch: number;
  transactionPoolSize: number;
  jobTimeoutMs: number;
  timeoutGraceMs: number;
  maxRunaways: number;
  freeReleases: number;
  maxResultBytes: number;
  stallThresholdMs: number;
}

/** Connections for ctx.transaction when not set: one per slot, at most 10 (opened on demand). */
export function defaultTransactionPoolSize(queues: Map<string, number>): number {
  return Math.min(
    [...queues.values()].reduce((a, b) => a + b, 0),
    10,
  );
}

/** Validates options into settings (errors name the option and what was expected). */
export function workerSettings(opts: WorkerOptions, url: string): WorkerSettings {
  const concurrency = checkInteger('concurrency', opts.concurrency ?? 10, 1, MAX_SLOTS);
  const queues = parseQueues(opts.queues ?? 'default', concurrency);
  const ms = (field: string, v: number | undefined, def: number, min: number, max: number): number =>
    checkInteger(field, v ?? def, min, max);
  const listen = opts.listen;
  if (listen !== undefined && listen !== false && (typeof listen !== 'string' || listen === ''))
    throw new ValidationError('listen', 'a PostgreSQL URL, or false to poll only');
  const leaseMs = ms('leaseMs', opts.leaseMs, 30_000, 200, 86_400_000);
  return {
    queues,
    leaseMs,
    shutdownGraceMs: ms('shutdownGraceMs', opts.shutdownGraceMs, 25_000, 0, 86_400_000),
    pollIntervalMs: ms('pollIntervalMs', opts.pollIntervalMs, 1000, 10, 3_600_000),
    starvationMs: ms('starvationMs', opts.starvationMs, 60_000, 1, 30 * 86_400_000),
    backoff: {
      baseMs: ms('backoff.baseMs', opts.backoff?.baseMs, DEFAULT_BACKOFF.baseMs, 1, 86_400_000),
      maxMs: ms('backoff.maxMs', opts.backoff?.maxMs, DEFAULT_BACKOFF.maxMs, 1, 30 * 86_400_000),
    },
    listenUrl: listen === false ? null : (listen ?? url),
    claimBatch: ms('claimBatch', opts.claimBatch, 500, 1, 10_000),
    transactionPoolSize: ms(
      'transactionPoolSize',
      opts.transactionPoolSize,
      defaultTransactionPoolSize(queues),
      1,
      1000,
    ),
    jobTimeoutMs: ms('jobTimeoutMs', opts.jobTimeoutMs, 900_000, 0, 7 * 86_400_000),
    timeoutGraceMs: ms('timeoutGraceMs', opts.timeoutGraceMs, 5000, 0, 3_600_000),
    maxRunaways: ms('maxRunaways', opts.maxRunaways, 10, 0, MAX_SLOTS),
    freeReleases: ms('freeReleases', opts.freeReleases, FREE_RELEASES, 0, 1000),
    maxResultBytes: ms('maxResultBytes', opts.maxResultBytes, 1_048_576, 1, 256 * 1_048_576),
    stallThresholdMs: ms('stallThresholdMs', opts.stallThresholdMs, Math.floor(leaseMs / 3), 10, 86_400_000),
  };
}

/** Where a worker is in its life. */
export type WorkerPhase = 'new' | 'running' | 'stopping' | 'stopped';

/** A snapshot of a worker's state (worker.stats()). */
export interface WorkerStats {
  id: string;
  phase: WorkerPhase;
  /** Jobs whose lease this worker holds (running, or outcome being written). */
  held: number;
  pendingCompletions: number;
  /** The LISTEN connection is up. */
  listening: boolean;
  /** Handlers still running after their timeout and grace (their slots were given back). */
  runaways: number;
  queues: {
    name: string;
    slots: number;
    running: number;
    claims: number;
    claimsInFlight: number;
    waiting: number;
  }[];
}
