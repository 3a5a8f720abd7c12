// Statement and lock timeouts on jobq's own connections, in a way that survives a transaction pooler.
// Direct to PostgreSQL they are startup parameters (free: the server applies them to the session). A
// pooler in transaction mode (PgBouncer ≤ 1.20) refuses unknown startup parameters, and a session SET
// would land on whichever server connection ran it; so behind one, every statement outside a transaction
// runs as BEGIN; SET LOCAL …; statement; COMMIT, and every transaction gets SET LOCAL after its BEGIN.
import pg from 'pg';

/** jobq's timeouts in milliseconds; 0 leaves the server's setting. */
export interface DbTimeouts {
  statementMs: number;
  lockMs: number;
}

/** How the timeouts reach the server: startup parameters (direct) or SET LOCAL per transaction (pooler). */
export type TimeoutMode = 'startup' | 'per-transaction';

/** The SET LOCAL statements for the timeouts ('' when both are off). */
export function setLocalTimeouts(t: DbTimeouts): string {
  const parts: string[] = [];
  if (t.statementMs > 0) parts.push(`SET LOCAL statement_timeout = ${Math.trunc(t.statementMs)}`);
  if (t.lockMs > 0) parts.push(`SET LOCAL lock_timeout = ${Math.trunc(t.lockMs)}`);
  return parts.join('; ');
}

/** True when a pooler refused a startup parameter (PgBouncer: "unsupported startup parameter: …"). */
export function isStartupParameterRefused(err: unknown): boolean {
  const msg = (err as { message?: unknown } | null)?.message;
  return typeof msg === 'string' && /unsupported startup parameter/i.test(msg);
}

const BEGIN_RE = /^\s*(begin|start\s+transaction)\b/i;
const END_RE = /^\s*(commit|end|abort|rollback(?!\s+to\b))\b/i;

type Query = (...args: unknown[]) => Promise<unknown>;

/**
 * Makes every statement on this client carry the timeouts through SET LOCAL: a BEGIN is followed by the
 * SETs; a statement outside a transaction is wrapped in its own (one extra round trip before, one after).
 */
export function applyPerTransaction(client: pg.PoolClient, setLocal: string): void {
  const marked = client as unknown as { jobqTimeouts?: boolean; query: Query };
  if (marked.jobqTimeouts || setLocal === '') return;
  marked.jobqTimeouts = true;
  const query = client.query.bind(client) as unknown as Query;
  let inTx = false;
  const run = async (args: unknown[]): Promise<unknown> => {
    const first = args[0];
    const inner = (first as { text?: unknown } | null)?.text;
    const text = typeof first === 'string' ? first : typeof inner === 'string' ? inner : '';
    if (BEGIN_RE.test(text)) {
      const r = await query(...args);
      inTx = true;
      await query(setLocal);
      return r;
    }
    if (END_RE.test(text)) {
      inTx = false;
      return query(...args);
    }
    if (inTx) return query(...args);
    await query(`BEGIN; ${setLocal}`);
    try {
      const r = await query(...args);
      await query('COMMIT');
      return r;
    } catch (err) {
      await query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  };
  marked.query = (...args: unknown[]) => {
    const cb = args.at(-1);
    if (typeof cb !== 'function') return run(args);
    // callback style (pg-pool's pool.query): same path, answered through the callback
    run(args.slice(0, -1)).then(
      (r) => (cb as (e: unknown, r?: unknown) => void)(undefined, r),
      (e: unknown) => (cb as (e: unknown) => void)(e),
    );
    return Promise.resolve(undefined);
  };
}

/**
 * A pg.Pool whose connections carry the timeouts: as startup parameters until the server side refuses
 * them, then (for good, once noticed by onPooler) per transaction.
 */
export class TimeoutPool extends pg.Pool {
  private mode: TimeoutMode = 'startup';
  private readonly setLocal: string;

  constructor(
    config: pg.PoolConfig,
    timeouts: DbTimeouts,
    private readonly onPooler: () => void = () => undefined,
  ) {
    super({
      ...config,
      ...(timeouts.statementMs > 0 ? { statement_timeout: timeouts.statementMs } : {}),
      ...(timeouts.lockMs > 0 ? { lock_timeout: timeouts.lockMs } : {}),
    });
    this.setLocal = setLocalTimeouts(timeouts);
    this.on('connect', (client) => {
      if (this.mode === 'per-transaction') applyPerTransaction(client, this.setLocal);
    });
  }

  private async connectWithFallback(): Promise<pg.PoolClient> {
    try {
      return await super.connect();
    } catch (err) {
      if (!isStartupParameterRefused(err)) throw err;
      // (connections started before the switch fail the same way: they simply retry)
      if (this.mode === 'startup') {
        this.mode = 'per-transaction';
        const opts = (this as unknown as { options: Record<string, unknown> }).options;
        delete opts.statement_timeout;
        delete opts.lock_timeout;
        this.onPooler();
      }
      return super.connect();
    }
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(
    callback: (
      err: Error | undefined,
      client: pg.PoolClient | undefined,
      done: (release?: unknown) => void,
    ) => void,
  ): void;
  override connect(
    callback?: (
      err: Error | undefined,
      client: pg.PoolClient | undefined,
      done: (release?: unknown) => void,
    ) => void,
  ): Promise<pg.PoolClient> | void {
    const p = this.connectWithFallback();
    if (!callback) return p;
    p.then(
      (c) => callback(undefined, c, (release?: unknown) => c.release(release as Error | boolean)),
      (e: unknown) => callback(e as Error, undefined, () => undefined),
    );
  }
}
