// The design alternative jobq does not use, measured (DESIGN.md's flow-control pitfall): a per-queue
// counter row that every claim increments and every completion decrements. 16 connections each claim one
// job and complete it, over and over, with and without such a row; the row makes them take turns.
import { sql } from 'kysely';
import { connect, type Database } from '../src/db/connect.js';

/** Jobs per second claimed and completed one at a time by 16 connections, with or without a counter row. */
export async function counterRowCost(d: Database, withCounter: boolean, jobs = 8000): Promise<number> {
  const t = d.exec.t;
  await sql`CREATE TABLE IF NOT EXISTS ${sql.id(d.schema, 'bench_counter')} (q text PRIMARY KEY, n int NOT NULL)`.execute(
    d.exec.raw,
  );
  await sql`INSERT INTO ${sql.id(d.schema, 'bench_counter')} VALUES ('default', 0) ON CONFLICT DO NOTHING`.execute(
    d.exec.raw,
  );
  await sql`INSERT INTO ${t.jobs} (type) SELECT 'bench.noop' FROM generate_series(1, ${jobs})`.execute(
    d.exec.raw,
  );
  const counter = sql.id(d.schema, 'bench_counter');
  const bump = (by: number) =>
    withCounter ? sql`, cnt AS (UPDATE ${counter} SET n = n + ${by} WHERE q = 'default' RETURNING n)` : sql``;
  const conns = Array.from({ length: 16 }, () => connect({ url: d.url, schema: d.schema, max: 1 }));
  const t0 = performance.now();
  let done = 0;
  try {
    await Promise.all(
      conns.map(async (c) => {
        for (;;) {
          const r = await sql<{ id: string }>`WITH pick AS (
              SELECT id FROM ${t.jobs} WHERE status = 'PENDING' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
            )${bump(1)}
            UPDATE ${t.jobs} j SET status = 'RUNNING' FROM pick WHERE j.id = pick.id RETURNING j.id`.execute(
            c.exec.raw,
          );
          const id = r.rows[0]?.id;
          if (!id) return;
          await sql`WITH done AS (UPDATE ${t.jobs} SET status = 'COMPLETED', finished_at = now() WHERE id = ${id}
              RETURNING 1)${bump(-1)} SELECT count(*) FROM done`.execute(c.exec.raw);
          done++;
        }
      }),
    );
  } finally {
    await Promise.all(conns.map((c) => c.close()));
  }
  return done / ((performance.now() - t0) / 1000);
}
