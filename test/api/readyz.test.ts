// /readyz is public and never rate-limited, and each check opens a connection of its own (so an exhausted
// pool cannot delay it). A flood of it must not turn into a flood of connections: one check runs at a
// time and its answer serves every request that arrives meanwhile and for a second after.
// The flood arrives while the jobs table is locked, so every check waits out its 2 s bound on that lock,
// where pg_locks shows each of them.
import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDb } from '../helpers/db.js';
import { startApi } from './helpers.js';

const db = await freshDb();
const api = await startApi(db, { auth: 'none' });
afterAll(() => api.close());

/** Probe connections waiting for a lock on this schema's jobs table now. */
async function probesWaiting(): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(DISTINCT l.pid)::int AS n
    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.relation = ${`${db.schema}.jobs`}::regclass AND NOT l.granted AND a.application_name = 'jobq-probe'`.execute(
    db.exec.raw,
  );
  return rows[0]?.n ?? 0;
}

describe('GET /readyz under a flood', () => {
  it('200 concurrent requests during a table lock: one probe connection, every request answered "busy"', async () => {
    const locker = new pg.Client({ connectionString: db.env.DATABASE_URL, application_name: 'test-locker' });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${db.schema}.jobs IN ACCESS EXCLUSIVE MODE`);
      let peak = 0;
      let flooding = true;
      const sampler = (async () => {
        while (flooding) {
          peak = Math.max(peak, await probesWaiting());
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const answers = await Promise.all(
        Array.from({ length: 200 }, async () => {
          const res = await fetch(`${api.url}/readyz`);
          return { status: res.status, body: (await res.json()) as { database?: string } };
        }),
      );
      flooding = false;
      await sampler;
      expect(answers.filter((a) => a.status === 503 && a.body.database === 'busy')).toHaveLength(200);
      expect(peak).toBe(1);
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
    // the lock gone, the next check (after the shared answer's second) is ready again
    await new Promise((r) => setTimeout(r, 1100));
    expect((await fetch(`${api.url}/readyz`)).status).toBe(200);
  });
});
