// An Executor whose statements run as named prepared statements (parsed and planned once per connection),
// used for the latency-critical statements (worker claims, grouped enqueues); with the test for errors
// that mean a pooler cannot keep them.
import { createHash } from 'node:crypto';
import { Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';
import { boundaryPool, Executor, type Database } from './connect.js';
import type { DB } from './schema.js';

// Measured here, a one-job claim took 0.85 ms unnamed and 0.25 ms prepared, most of the
// enqueue-to-start latency. Poolers that do not keep prepared statements (PgBouncer in transaction mode
// before 1.21, or without max_prepared_statements) fail such a statement with a recognisable error; the
// caller then falls back to unnamed statements for good (isPreparedStatementError).
/** An Executor on `db`'s pool that runs each distinct statement text as a named prepared statement. */
export function preparedExecutor(db: Database): Executor {
  const names = new Map<string, string>();
  const nameFor = (text: string): string => {
    let name = names.get(text);
    if (!name) {
      name = `jobq_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
      names.set(text, name);
    }
    return name;
  };
  // The pool belongs to the Database; closing this Kysely must not end it.
  const pool = boundaryPool(
    db.pool,
    db.schema,
    'all',
    (client, text, values) => client.query({ name: nameFor(text), text, values }),
    () => Promise.resolve(),
  );
  const kysely = new Kysely<DB>({ dialect: new PostgresDialect({ pool: pool as unknown as pg.Pool }) });
  return new Executor(kysely, db.schema);
}

/**
 * True when a prepared statement failed because the server side does not have it or it is stale:
 * 26000 invalid_sql_statement_name, 42P05 duplicate_prepared_statement, 0A000 "cached plan must not
 * change result type" (after a migration).
 */
export function isPreparedStatementError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '26000' || code === '42P05' || code === '0A000';
}
