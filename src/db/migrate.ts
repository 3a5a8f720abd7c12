// Migration runner: numbered plain-SQL files from migrations/, applied in order inside one transaction
// under a transaction-level advisory lock (safe when many pods run `jobq migrate` at once, and through a
// transaction-pooling PgBouncer), recorded in <schema>.migrations.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type { Executor } from './connect.js';
import { NotMigratedError, SchemaTooNewError } from '../errors.js';

export interface MigrationFile {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationStatus {
  version: number;
  name: string;
  appliedAt: Date | null;
}

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

/** Reads migrations/NNNN_name.sql, ordered by number. */
export function migrationFiles(dir = MIGRATIONS_DIR): MigrationFile[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => {
      const text = readFileSync(`${dir}/${f}`, 'utf8');
      return {
        version: Number(f.slice(0, 4)),
        name: f.replace(/\.sql$/, ''),
        sql: text,
        checksum: createHash('sha256').update(text).digest('hex'),
      };
    });
}

/** Applies all pending migrations; returns the ones applied. Idempotent. */
export async function migrate(exec: Executor): Promise<MigrationFile[]> {
  const files = migrationFiles();
  const known = files.at(-1)?.version ?? 0;
  const schema = exec.schema;
  return await exec.transaction(async (tx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext(${`jobq.migrate:${schema}`}))`.execute(tx.raw);
    await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(tx.raw);
    await sql`CREATE TABLE IF NOT EXISTS ${tx.t.migrations} (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`.execute(tx.raw);
    const rows = await tx.db.selectFrom('migrations').select('version').execute();
    const applied = new Set(rows.map((r) => r.version));
    const newest = Math.max(0, ...applied);
    if (newest > known) throw new SchemaTooNewError(schema, newest, known);
    const pending = files.filter((f) => !applied.has(f.version));
    for (const file of pending) {
      await sql`SET LOCAL search_path TO ${sql.id(schema)}, public`.execute(tx.raw);
      await sql.raw(file.sql).execute(tx.raw);
      await tx.db
        .insertInto('migrations')
        .values({ version: file.version, name: file.name, checksum: file.checksum })
        .execute();
    }
    return pending;
  });
}

/** Every known migration with the time it was applied (null when pending). */
export async function migrationStatus(exec: Executor): Promise<MigrationStatus[]> {
  const applied = new Map<number, Date>();
  try {
    const rows = await exec.db.selectFrom('migrations').select(['version', 'applied_at']).execute();
    for (const r of rows) applied.set(r.version, r.applied_at);
  } catch (err) {
    // (errors are translated at the SQL boundary, db/connect.ts)
    if (!(err instanceof NotMigratedError)) throw err;
  }
  return migrationFiles().map((f) => ({
    version: f.version,
    name: f.name,
    appliedAt: applied.get(f.version) ?? null,
  }));
}

/**
 * Refuses to go on against a database that is not migrated (or only partly: every known migration must
 * be applied, not just the highest number), or that a newer jobq migrated. Every command but `migrate`
 * calls this first.
 */
export async function assertMigrated(exec: Executor): Promise<void> {
  const files = migrationFiles();
  const known = files.at(-1)?.version ?? 0;
  const rows = await sql<{ version: number }>`SELECT version FROM ${exec.t.migrations}`.execute(exec.raw);
  const applied = new Set(rows.rows.map((r) => r.version));
  const newest = Math.max(0, ...applied);
  if (newest > known) throw new SchemaTooNewError(exec.schema, newest, known);
  const pending = files.filter((f) => !applied.has(f.version));
  if (pending.length > 0) {
    throw new NotMigratedError(exec.schema, `${pending.map((f) => f.name).join(', ')} not applied`);
  }
}
