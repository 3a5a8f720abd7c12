// Scale-out scenarios: the same 50,000-job drain with 1, 2, 4 and 16 worker processes (jobs/s and the
// peak of worker connections seen in pg_stat_activity), and the WAL written per job by enqueue and by
// drain (pg_current_wal_lsn() around each, after a CHECKPOINT).
import { sql } from 'kysely';
import type { Database } from '../src/db/connect.js';
import { bulkEnqueue } from './enqueue.js';
import { drain } from './workers.js';

/** Runs fn while sampling the number of worker connections every 50 ms; returns fn's value and the peak. */
export async function withPeakConnections<T>(
  db: Database,
  fn: () => Promise<T>,
): Promise<{ value: T; peak: number }> {
  let peak = 0;
  let stop = false;
  const sampler = (async () => {
    while (!stop) {
      const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE application_name LIKE 'jobq-worker%'`.execute(db.exec.raw);
      peak = Math.max(peak, r.rows[0]?.n ?? 0);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    return { value: await fn(), peak };
  } finally {
    stop = true;
    await sampler;
  }
}

/** Drain of the loaded queue by `processes` workers, with the peak worker connection count. */
export async function scaleDrain(
  db: Database,
  processes: number,
  concurrency: number,
  measure: number,
): Promise<{ rate: number; peak: number }> {
  const { value, peak } = await withPeakConnections(db, () => drain(db, { processes, concurrency, measure }));
  return { rate: value, peak };
}

async function lsn(db: Database): Promise<string> {
  const r = await sql<{ l: string }>`SELECT pg_current_wal_lsn()::text AS l`.execute(db.exec.raw);
  return r.rows[0]?.l ?? '0/0';
}

async function walSince(db: Database, from: string): Promise<number> {
  const r = await sql<{
    b: number;
  }>`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), ${from}::pg_lsn)::float8 AS b`.execute(db.exec.raw);
  return r.rows[0]?.b ?? NaN;
}

/** WAL bytes per job: enqueue n jobs (client, chunks of 10,000), then drain them with one worker process. */
export async function walPerJob(
  db: Database,
  n: number,
  concurrency: number,
): Promise<{ enqueue: number; drain: number }> {
  await sql`CHECKPOINT`.execute(db.exec.raw);
  const a = await lsn(db);
  await bulkEnqueue(db, n);
  const enqueue = (await walSince(db, a)) / n;
  await sql`CHECKPOINT`.execute(db.exec.raw);
  const b = await lsn(db);
  await drain(db, { processes: 1, concurrency, measure: n });
  return { enqueue, drain: (await walSince(db, b)) / n };
}
