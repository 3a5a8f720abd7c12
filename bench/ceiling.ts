// The raw-SQL ceilings of the database under test: what plain SQL achieves on the seed's own jobs table
// (its DDL and jobs_pick_idx, nothing else), so jobq's figures are reported as a ratio measured in the
// same run on the same server.
import { sql } from 'kysely';
import crypto from 'node:crypto';
import pg from 'pg';
import type { Database } from '../src/db/connect.js';

/** Creates <schema>.seed_jobs exactly as the seed schema defines its jobs table. */
export async function createSeedTable(db: Database): Promise<string> {
  const table = `${db.schema}.seed_jobs`;
  await sql
    .raw(
      `DROP TABLE IF EXISTS ${table};
    CREATE TABLE ${table} (
      id UUID PRIMARY KEY DEFAULT gen_random_uuid(), type TEXT NOT NULL, payload JSONB NOT NULL DEFAULT '{}'::jsonb,
      status TEXT NOT NULL DEFAULT 'PENDING', queue TEXT NOT NULL DEFAULT 'default', priority INT NOT NULL DEFAULT 0,
      attempts INT NOT NULL DEFAULT 0, max_attempts INT NOT NULL DEFAULT 5, run_after TIMESTAMPTZ NOT NULL DEFAULT NOW(),
      locked_by TEXT, locked_at TIMESTAMPTZ, last_error TEXT, idempotency_key TEXT,
      created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(), updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW());
    CREATE INDEX ON ${table} (status, queue, run_after, priority DESC, created_at);`,
    )
    .execute(db.exec.raw);
  return table;
}

/** One INSERT … SELECT generate_series of n jobs into the seed table; returns jobs/s. */
export async function ceilingBulkInsert(db: Database, n: number): Promise<number> {
  const table = await createSeedTable(db);
  const t0 = performance.now();
  await sql`INSERT INTO ${sql.table(table)} (type, payload)
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
  const table = await createSeedTable(db);
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
 * The drain ceiling: fills the seed table with n jobs, then `conns` connections each loop "claim 100
 * with SKIP LOCKED, mark them done" in plain SQL until no job is left; returns jobs/s.
 */
export async function ceilingDrain(db: Database, n: number, conns: number): Promise<number> {
  const table = await createSeedTable(db);
  await sql`INSERT INTO ${sql.table(table)} (type) SELECT 'bench.noop' FROM generate_series(1, ${n})`.execute(
    db.exec.raw,
  );
  await sql`VACUUM ANALYZE ${sql.table(table)}`.execute(db.exec.raw);
  const clients = await Promise.all(
    Array.from({ length: conns }, async () => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      return c;
    }),
  );
  const claimSql = `UPDATE ${table} j SET status = 'RUNNING', attempts = attempts + 1, locked_by = $1, locked_at = now()
    FROM (SELECT id FROM ${table} WHERE status = 'PENDING' AND queue = 'default' AND run_after <= now()
          ORDER BY run_after, priority DESC, created_at LIMIT 100 FOR UPDATE SKIP LOCKED) p
    WHERE j.id = p.id RETURNING j.id`;
  const doneSql = `UPDATE ${table} SET status = 'COMPLETED', updated_at = now() WHERE id = ANY($1::uuid[])`;
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

/**
 * The latency floor: plain SQL enqueue (INSERT + NOTIFY, durable commit) on one connection, a LISTEN
 * connection that on each notification runs a bare SKIP LOCKED claim of one job; the time from before
 * the INSERT to the claim's return, `count` jobs `gapMs` apart. Returns the sorted latencies in ms.
 */
export async function ceilingLatency(db: Database, count: number, gapMs: number): Promise<number[]> {
  const table = await createSeedTable(db);
  const [producer, listener] = await Promise.all(
    [0, 1].map(async () => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      return c;
    }),
  );
  if (!producer || !listener) throw new Error('no connection');
  const channel = `ceiling_${db.schema}`;
  const started = new Map<string, number>();
  const latencies: number[] = [];
  let claiming = Promise.resolve();
  listener.on('notification', () => {
    claiming = claiming.then(async () => {
      const r = await listener.query<{ id: string }>({
        name: 'ceiling_claim',
        text: `UPDATE ${table} j SET status = 'RUNNING', locked_by = 'ceiling', locked_at = now()
          FROM (SELECT id FROM ${table} WHERE status = 'PENDING' AND queue = 'default' AND run_after <= now()
                ORDER BY run_after, priority DESC, created_at LIMIT 1 FOR UPDATE SKIP LOCKED) p
          WHERE j.id = p.id RETURNING j.id`,
      });
      const now = performance.now();
      for (const row of r.rows) latencies.push(now - (started.get(row.id) ?? now));
    });
  });
  await listener.query(`LISTEN "${channel}"`);
  for (let i = 0; i < count; i++) {
    const id = crypto.randomUUID();
    started.set(id, performance.now());
    await producer.query({
      name: 'ceiling_enqueue',
      text: `WITH i AS (INSERT INTO ${table} (id, type) VALUES ($1, 'bench.noop') RETURNING 1)
        SELECT pg_notify($2, 'default') FROM i`,
      values: [id, channel],
    });
    await new Promise((r) => setTimeout(r, gapMs));
  }
  await claiming;
  await Promise.all([producer.end(), listener.end()]);
  return latencies.sort((a, b) => a - b);
}
