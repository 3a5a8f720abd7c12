// Benchmark database plumbing: the configured PostgreSQL (DATABASE_URL) or an embedded one, and a fresh
// migrated schema per scenario so scenarios do not disturb each other.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { connect, type Database } from '../src/db/connect.js';
import { startEmbedded, type EmbeddedServer } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';

export interface BenchServer {
  url: string;
  label: string;
  stop(): Promise<void>;
}

/** The server under test: DATABASE_URL when set, else an embedded PostgreSQL (durable settings). */
export async function benchServer(): Promise<BenchServer> {
  const url = process.env.DATABASE_URL;
  if (url) return { url, label: url.replace(/\/\/[^@]*@/, '//'), stop: () => Promise.resolve() };
  const pg: EmbeddedServer = await startEmbedded({
    dataDir: mkdtempSync(path.join(tmpdir(), 'jobq-bench-')),
    persistent: false,
  });
  return { url: pg.url, label: 'embedded PostgreSQL 16', stop: () => pg.stop() };
}

let n = 0;

/** A fresh migrated schema; drop() removes it. */
export async function benchSchema(url: string, pool = 20): Promise<Database & { drop(): Promise<void> }> {
  const schema = `bench_${process.pid}_${++n}`;
  const db = connect({ url, schema, max: pool, applicationName: 'jobq-bench' });
  await sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`.execute(db.exec.raw);
  await migrate(db.exec);
  return {
    ...db,
    async drop() {
      await sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`.execute(db.exec.raw);
      await db.close();
    },
  };
}

/** Runs VACUUM ANALYZE on the jobs table so scenarios start from comparable statistics. */
export async function vacuumJobs(db: Database): Promise<void> {
  await sql`VACUUM ANALYZE ${db.exec.t.jobs}`.execute(db.exec.raw);
}

/** Counts jobs in a status. */
export async function countStatus(db: Database, status: string): Promise<number> {
  const r = await sql<{
    n: number;
  }>`SELECT count(*) AS n FROM ${db.exec.t.jobs} WHERE status = ${status}`.execute(db.exec.raw);
  return r.rows[0]?.n ?? 0;
}
