// The raw-SQL ceilings of the database under test: what plain SQL achieves with no queue library, so
// jobq's figures are reported as a ratio measured in the same run.
import { sql } from 'kysely';
import pg from 'pg';
import type { Database } from '../src/db/connect.js';

/** One INSERT … SELECT generate_series of n jobs into the jobs table; returns jobs/s. */
export async function ceilingBulkInsert(db: Database, n: number): Promise<number> {
  const t0 = performance.now();
  await sql`INSERT INTO ${db.exec.t.jobs} (type, payload)
    SELECT 'bench.noop', jsonb_build_object('i', g) FROM generate_series(1, ${n}) g`.execute(db.exec.raw);
  return n / ((performance.now() - t0) / 1000);
}

/** `callers` connections each inserting single rows (autocommit, no NOTIFY) until `total`; jobs/s. */
export async function ceilingConcurrentInsert(db: Database, total: number, callers: number): Promise<number> {
  const clients = await Promise.all(
    Array.from({ length: callers }, async () => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      return c;
    }),
  );
  const table = `${db.schema}.jobs`;
  let left = total;
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      while (left-- > 0)
        await c.query(`INSERT INTO ${table} (type, payload) VALUES ($1, $2)`, ['bench.noop', '{}']);
    }),
  );
  const rate = total / ((performance.now() - t0) / 1000);
  await Promise.all(clients.map((c) => c.end()));
  return rate;
}

/**
 * The drain ceiling: `conns` connections each looping "claim 100 with SKIP LOCKED, mark them done" in
 * plain SQL until no job is left; returns jobs/s.
 */
export async function ceilingDrain(db: Database, conns: number): Promise<number> {
  const clients = await Promise.all(
    Array.from({ length: conns }, async () => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      return c;
    }),
  );
  const table = `${db.schema}.jobs`;
  const claimSql = `UPDATE ${table} j SET status = 'RUNNING', attempts = attempts + 1, locked_by = $1, locked_at = now()
    FROM (SELECT id FROM ${table} WHERE status = 'PENDING' AND queue = 'default' AND run_after <= now()
          ORDER BY priority DESC, run_after, id LIMIT 100 FOR UPDATE SKIP LOCKED) p
    WHERE j.id = p.id RETURNING j.id`;
  const doneSql = `UPDATE ${table} SET status = 'COMPLETED', finished_at = now() WHERE id = ANY($1::uuid[])`;
  let done = 0;
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (c, i) => {
      for (;;) {
        const r = await c.query<{ id: string }>(claimSql, [`ceiling-${i}`]);
        if (r.rows.length === 0) return;
        await c.query(doneSql, [r.rows.map((x) => x.id)]);
        done += r.rows.length;
      }
    }),
  );
  const rate = done / ((performance.now() - t0) / 1000);
  await Promise.all(clients.map((c) => c.end()));
  return rate;
}
