// Connection starvation with real `jobq worker` processes: the workers connect as a role limited to fewer
// connections than they would use (53300 "too many connections for role"), so not all of them fit. No job
// goes DEAD, no attempt is counted for a refused connection, no outcome is lost (ctx.transaction effects
// exactly once), and everything completes once the limit is lifted. Needs `npm run build`.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { enqueueMany } from '../../src/queue/index.js';
import { freshDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { spawnWorker, statusCounts } from './helpers.js';

const db = await freshDb();
const exec = db.exec;
const role = `jobq_starved_${randomBytes(4).toString('hex')}`;
const password = randomBytes(8).toString('hex');
const ledger = sql.table(`${db.schema}.ledger`);

afterAll(async () => {
  await sql`DROP OWNED BY ${sql.id(role)}`.execute(exec.raw).catch(() => undefined);
  await sql`DROP ROLE IF EXISTS ${sql.id(role)}`.execute(exec.raw).catch(() => undefined);
});

describe('connection starvation', () => {
  it('workers limited below their connection needs: nothing DEAD, no attempt counted, nothing lost; all complete once lifted', async () => {
    await sql`CREATE TABLE ${ledger} (job_id uuid NOT NULL, pid int NOT NULL)`.execute(exec.raw);
    await sql.raw(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' CONNECTION LIMIT 3`).execute(exec.raw);
    await sql.raw(`GRANT USAGE ON SCHEMA ${db.schema} TO ${role}`).execute(exec.raw);
    await sql.raw(`GRANT ALL ON ALL TABLES IN SCHEMA ${db.schema} TO ${role}`).execute(exec.raw);
    const url = new URL(db.env.DATABASE_URL ?? '');
    url.username = role;
    url.password = password;
    const env = {
      ...db.env,
      DATABASE_URL: url.toString(),
      QUEUE: 'starve:8',
      JOBQ_LEASE_SECONDS: '5',
      JOBQ_POLL_INTERVAL_MS: '200',
      JOBQ_BACKOFF_BASE_MS: '10',
      JOBQ_BACKOFF_MAX_MS: '100',
      JOBQ_LOG_LEVEL: 'warn',
    };
    const plain = Array.from({ length: 300 }, (_, i) => ({
      type: 'test.sleep',
      queue: 'starve',
      payload: { ms: 5, i },
      maxAttempts: 1, // any counted attempt beyond the first would send it DEAD
    }));
    const tx = Array.from({ length: 60 }, (_, i) => ({
      type: 'ledger.write',
      queue: 'starve',
      payload: { ms: 5, i },
    }));
    await enqueueMany(exec, [...plain, ...tx]);
    // Three workers would use 3 connections each (pool 2 + LISTEN) plus ctx.transaction connections:
    // the role allows 3 in all.
    const workers = [spawnWorker(env), spawnWorker(env), spawnWorker(env)];
    await waitFor(() => workers.some((w) => /too many connections for role/.test(w.output())), {
      what: 'a worker to be refused a connection',
      timeoutMs: 30_000,
    });
    // Starved for a while: nothing may go DEAD or record a failure meanwhile.
    const failures = async (): Promise<number> => {
      const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${exec.t.jobs}
        WHERE jsonb_array_length(errors) > 0 OR status = 'DEAD'`.execute(exec.raw);
      return r.rows[0]?.n ?? -1;
    };
    const until = Date.now() + 4000;
    await waitFor(async () => (await failures()) > 0 || Date.now() > until, {
      what: 'the starved period',
      timeoutMs: 10_000,
    });
    expect(await failures()).toBe(0);
    // Lift the limit: everything completes.
    await sql.raw(`ALTER ROLE ${role} CONNECTION LIMIT -1`).execute(exec.raw);
    await waitFor(async () => (await statusCounts(db, 'starve')).COMPLETED === 360, {
      what: 'every job to complete once the limit is lifted',
      timeoutMs: 90_000,
    });
    expect(await statusCounts(db, 'starve')).toEqual({ COMPLETED: 360 });
    expect(await failures()).toBe(0);
    const attempts = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${exec.t.jobs}
      WHERE queue = 'starve' AND attempts <> 1`.execute(exec.raw);
    expect(attempts.rows[0]?.n).toBe(0); // no attempt counted for a refused connection
    const effects = await sql<{ n: number; d: number }>`SELECT count(*)::int AS n,
      count(DISTINCT job_id)::int AS d FROM ${ledger}`.execute(exec.raw);
    expect(effects.rows[0]).toEqual({ n: 60, d: 60 }); // ctx.transaction effects exactly once
    for (const w of workers) w.child.kill('SIGTERM');
    for (const w of workers) expect(await w.exited).toBe(0);
  });
});
