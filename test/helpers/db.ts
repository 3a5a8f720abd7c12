// Test database helpers: a fresh, migrated schema of its own for each test file, dropped afterwards.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, inject } from 'vitest';
import { connect, type Database } from '../../src/db/connect.js';
import { migrate } from '../../src/db/migrate.js';

/** The server URL the global setup provides. */
export function databaseUrl(): string {
  return inject('databaseUrl');
}

/** A new unique schema name. */
export function schemaName(prefix = 't'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export interface TestDb extends Database {
  /** Environment for child processes (CLI, workers) pointing at this schema. */
  env: Record<string, string>;
}

/**
 * Creates and migrates a schema for this test file; registers cleanup (drop schema, close pool).
 * Call at module level or in beforeAll.
 */
export async function freshDb(opts: { migrated?: boolean; max?: number } = {}): Promise<TestDb> {
  const url = databaseUrl();
  const schema = schemaName();
  const db = connect({ url, schema, max: opts.max ?? 20 });
  if (opts.migrated !== false) await migrate(db.exec);
  afterAll(async () => {
    await sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`.execute(db.exec.raw).catch(() => undefined);
    await db.close();
  });
  return { ...db, env: { DATABASE_URL: url, JOBQ_SCHEMA: schema } };
}

/** Empties the jobs-related tables between tests of one file. */
export async function resetDb(db: Database): Promise<void> {
  const t = db.exec.t;
  await sql`TRUNCATE ${t.jobs}, ${t.queues}, ${t.workers}, ${t.rate_limits}, ${t.schedules}, ${t.maintenance}, ${t.job_keys}`.execute(
    db.exec.raw,
  );
}
