// Statements about the PostgreSQL server itself (not jobq's tables): its connection limits and settings
// for the start-up capacity check, and the readiness probe's touch of the jobs table.
import { sql } from 'kysely';
import type { Executor } from '../db/connect.js';

export interface ServerSettingsRow {
  maxConnections: number;
  superuserReserved: number;
  /** reserved_connections (PostgreSQL 16+; 0 before). */
  reserved: number;
  /** Client backends connected now (this one included). */
  connections: number;
  autovacuum: boolean;
  version: string;
}

/** The server's connection limits, current client connections and autovacuum setting. */
export async function serverSettings(exec: Executor): Promise<ServerSettingsRow> {
  const r = await sql<Record<string, unknown>>`SELECT
      current_setting('max_connections')::int AS max_connections,
      current_setting('superuser_reserved_connections')::int AS superuser_reserved,
      coalesce(nullif(current_setting('reserved_connections', true), ''), '0')::int AS reserved,
      (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS connections,
      current_setting('autovacuum') AS autovacuum,
      current_setting('server_version') AS version`.execute(exec.raw);
  const x = r.rows[0] ?? {};
  return {
    maxConnections: Number(x.max_connections),
    superuserReserved: Number(x.superuser_reserved),
    reserved: Number(x.reserved),
    connections: Number(x.connections),
    autovacuum: x.autovacuum === 'on',
    version: String(x.version),
  };
}

/** Reads nothing from the jobs table but needs its lock: fails with lock_timeout while someone holds it. */
export async function jobsTableTouch(exec: Executor): Promise<void> {
  await sql`SELECT 1 FROM ${exec.t.jobs} LIMIT 0`.execute(exec.raw);
}
