// Connection: a pg pool wrapped in Kysely. `Executor` is what every SQL function takes: the root Kysely or
// a transaction of it, together with the jobq schema (Kysely's withSchema does not qualify table names
// inside raw `sql` templates, so raw statements use the qualified references in `t`).
import { Kysely, PostgresDialect, sql, type RawBuilder } from 'kysely';
import pg from 'pg';
import { classifyDbError, translateDbError } from '../errors.js';
import type { DB } from './schema.js';
import { TimeoutPool, type DbTimeouts } from './timeouts.js';

type TableName = keyof DB;
export type Tables = Readonly<Record<TableName, RawBuilder<unknown>>>;

const tableCache = new Map<string, Tables>();

function tablesFor(schema: string): Tables {
  let t = tableCache.get(schema);
  if (!t) {
    const names: TableName[] = [
      'jobs',
      'queues',
      'workers',
      'rate_limits',
      'schedules',
      'maintenance',
      'migrations',
      'job_keys',
    ];
    t = Object.fromEntries(names.map((n) => [n, sql.table(`${schema}.${n}`)])) as unknown as Tables;
    tableCache.set(schema, t);
  }
  return t;
}

/** A database handle bound to the jobq schema: the pool itself or one open transaction. */
export class Executor {
  /** Kysely scoped to the jobq schema, for query-builder statements. */
  readonly db: Kysely<DB>;
  /** Schema-qualified table references, for raw `sql` statements. */
  readonly t: Tables;

  constructor(
    /** The unscoped Kysely (or transaction); raw statements execute on it. */
    readonly raw: Kysely<DB>,
    readonly schema: string,
  ) {
    this.db = raw.withSchema(schema);
    this.t = tablesFor(schema);
  }

  get isTransaction(): boolean {
    return this.raw.isTransaction;
  }

  /** Runs fn in a transaction; joins the current one when this executor already is a transaction. */
  async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    if (this.raw.isTransaction) return fn(this);
    return this.raw.transaction().execute((trx) => fn(new Executor(trx, this.schema)));
  }
}

export interface Database {
  exec: Executor;
  schema: string;
  pool: pg.Pool;
  url: string;
  close(): Promise<void>;
}

// Keep int8 (count(*)) as JS numbers: jobq's counts fit in 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface ConnectOptions {
  url: string;
  schema: string;
  max?: number;
  applicationName?: string;
  connectionTimeoutMs?: number;
  /** Close a connection idle this long (default 30 s). */
  idleTimeoutMs?: number;
  /**
   * Which driver errors become JobqErrors: 'all' (jobq's own statements) or 'unavailable' (a pool whose
   * statements are the application's, e.g. ctx.transaction: a missing table there is theirs, not jobq's).
   */
  translate?: 'all' | 'unavailable';
  /** statement_timeout/lock_timeout of every statement on this pool (src/db/timeouts.ts); none if omitted. */
  timeouts?: DbTimeouts;
  /** Called once when a pooler refuses the timeouts as startup parameters (they then go per transaction). */
  onPooler?: () => void;
}

/** A pg client as Kysely's PostgresDialect uses it. */
export interface BoundaryClient {
  query(text: string, values: unknown[]): Promise<pg.QueryResult>;
  release(err?: Error | boolean): void;
}

/**
 * The SQL boundary: every connect and statement of an Executor passes through here, and its driver
 * errors are translated once (errors.ts decides how). `query` lets a caller run statements its own way
 * (named prepared statements, prepared.ts).
 */
export function boundaryPool(
  pool: pg.Pool,
  schema: string,
  translate: 'all' | 'unavailable' = 'all',
  query: (client: pg.PoolClient, text: string, values: unknown[]) => Promise<pg.QueryResult> = (c, t, v) =>
    c.query(t, v),
  end: () => Promise<void> = () => pool.end(),
): { connect(): Promise<BoundaryClient>; end(): Promise<void> } {
  const tr = (err: unknown): unknown =>
    translate === 'all' || classifyDbError(err) === 'unavailable' ? translateDbError(err, schema) : err;
  const wrappers = new WeakMap<pg.PoolClient, BoundaryClient>();
  return {
    async connect() {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw tr(err);
      }
      let w = wrappers.get(client);
      if (!w) {
        const c = client;
        w = {
          query: (text, values) =>
            query(c, text, values).catch((err: unknown) => {
              throw tr(err);
            }),
          release: (err) => c.release(err),
        };
        wrappers.set(client, w);
      }
      return w;
    },
    end,
  };
}

/** Opens a pool. Connections are made lazily; a bad URL or a down server shows up on first use. */
export function connect(opts: ConnectOptions): Database {
  const config: pg.PoolConfig = {
    connectionString: opts.url,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'jobq',
    connectionTimeoutMillis: opts.connectionTimeoutMs ?? 5000,
    idleTimeoutMillis: opts.idleTimeoutMs ?? 30_000,
  };
  const pool = opts.timeouts ? new TimeoutPool(config, opts.timeouts, opts.onPooler) : new pg.Pool(config);
  // A client dying (server restart) must not crash the process. pg-pool listens for errors only on idle
  // clients; a client that dies while checked out (between two statements of a transaction) would emit
  // an unhandled 'error'. The failing query still rejects, and the pool discards the broken client.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const boundary = boundaryPool(pool, opts.schema, opts.translate);
  const root = new Kysely<DB>({ dialect: new PostgresDialect({ pool: boundary as unknown as pg.Pool }) });
  let closed = false;
  return {
    exec: new Executor(root, opts.schema),
    schema: opts.schema,
    pool,
    url: opts.url,
    async close() {
      if (closed) return;
      closed = true;
      await root.destroy();
    },
  };
}
