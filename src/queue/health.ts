// What the server can give jobq: the start-up capacity check (connections left for what a daemon is
// configured to open, autovacuum on) and the readiness probe, which opens its own short-lived connection
// so it tells "unreachable" from "reachable but refusing, slow or locked" and never queues behind a pool;
// sharedProbe keeps that to one connection at a time however many probes arrive.
import { connect, type Executor } from '../db/connect.js';
import { assertMigrated } from '../db/migrate.js';
import { classifyDbError, DatabaseUnavailableError } from '../errors.js';
import { jobsTableTouch, serverSettings, type ServerSettingsRow } from '../sql/server.js';
import { workerExists } from '../sql/workers.js';

export interface CapacityReport {
  settings: ServerSettingsRow;
  /** Connections a non-superuser can still open: max − reserved − in use. */
  free: number;
  /** One line per danger found (empty when none). */
  dangers: string[];
}

/**
 * Compares the server's free connections with `budget` (what this daemon may open) and checks that
 * autovacuum is on. `who` names the daemon in the messages.
 */
export async function checkServerCapacity(
  exec: Executor,
  budget: number,
  who: string,
): Promise<CapacityReport> {
  const s = await serverSettings(exec);
  const free = s.maxConnections - s.superuserReserved - s.reserved - s.connections;
  const dangers: string[] = [];
  if (free < budget)
    dangers.push(
      `only ${Math.max(0, free)} connections are free (max_connections ${s.maxConnections}, ` +
        `${s.superuserReserved + s.reserved} reserved, ${s.connections} in use) but ${who} may open ${budget}: ` +
        'raise max_connections, run fewer or smaller processes, or put PgBouncer in front (README: Scaling)',
    );
  if (!s.autovacuum)
    dangers.push(
      'autovacuum is off: finished and retried jobs leave dead rows and the jobs table grows without bound; ' +
        'turn it on (ALTER SYSTEM SET autovacuum = on; SELECT pg_reload_conf())',
    );
  return { settings: s, free, dangers };
}

export interface DatabaseProbe {
  ready: boolean;
  /** unreachable: no answer; refusing: answers but takes no connection; busy: locked or slow. */
  database: 'reachable' | 'unreachable' | 'refusing' | 'busy';
  reason?: string;
}

/** Server errors that mean "up, but not accepting this connection now" (53xxx resources, 57P03 starting). */
function isRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('53') || code === '57P03');
}

/** How long /readyz waits for a connection, a statement or a lock (API, worker and scheduler alike). */
export const READY_TIMEOUT_MS = 2000;

/**
 * Readiness of the database for jobq on a connection of its own (so an exhausted pool cannot delay it),
 * bounded by READY_TIMEOUT_MS for connecting, each statement and each lock: migrated, and the jobs table not
 * locked.
 */
export async function probeDatabase(opts: {
  url: string;
  schema: string;
  /** Also require this worker's registration row. */
  workerId?: string;
}): Promise<DatabaseProbe> {
  const t = READY_TIMEOUT_MS;
  const db = connect({
    url: opts.url,
    schema: opts.schema,
    max: 1,
    applicationName: 'jobq-probe',
    connectionTimeoutMs: t,
    timeouts: { statementMs: t, lockMs: t },
  });
  try {
    await assertMigrated(db.exec);
    await jobsTableTouch(db.exec);
    if (opts.workerId !== undefined && !(await workerExists(db.exec, opts.workerId)))
      return {
        ready: false,
        database: 'reachable',
        reason: `worker ${opts.workerId} is not registered (yet)`,
      };
    return { ready: true, database: 'reachable' };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    // the boundary (db/connect.ts) translated the driver's error; its SQLSTATE stays in the cause
    const cause = err instanceof DatabaseUnavailableError ? err.cause : err;
    const c = classifyDbError(err);
    if (c === 'timeout')
      return {
        ready: false,
        database: 'busy',
        reason: `PostgreSQL is reachable but did not answer within ${t} ms (a lock on jobq's tables or an overloaded server): ${msg}`,
      };
    if (isRefusal(cause))
      return {
        ready: false,
        database: 'refusing',
        reason: `PostgreSQL is reachable but refuses connections: ${msg}`,
      };
    if (c === 'unavailable') return { ready: false, database: 'unreachable', reason: msg };
    // not migrated, or migrated by a newer jobq: the server answered
    return { ready: false, database: 'reachable', reason: msg };
  } finally {
    await db.close().catch(() => undefined);
  }
}

/** How long one probe's answer serves every /readyz that asks after it. */
export const PROBE_SHARE_MS = 1000;

/**
 * Wraps a probe so that at most one runs at a time and its answer serves every caller for `shareMs`
 * after it: /readyz is public and unauthenticated, and a flood of it must not open a connection per
 * request (it would take the server's connections from the daemons it reports on).
 */
export function sharedProbe<T>(probe: () => Promise<T>, shareMs = PROBE_SHARE_MS): () => Promise<T> {
  let running: Promise<T> | undefined;
  let last: { at: number; value: T } | undefined;
  return () => {
    if (last && Date.now() - last.at < shareMs) return Promise.resolve(last.value);
    running ??= probe()
      .then((value) => {
        last = { at: Date.now(), value };
        return value;
      })
      .finally(() => (running = undefined));
    return running;
  };
}
