// Nothing waits forever on the database: while another session holds an ACCESS EXCLUSIVE lock on the jobs
// table, the API answers 503 + Retry-After within JOBQ_LOCK_TIMEOUT_MS, /readyz says "reachable but busy"
// at once, the CLI exits 3 naming the lock it waited for, and a worker waits it out and then runs every
// job exactly once. Default settings throughout (lock timeout 5 s). Needs `npm run build`.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { dbTimeouts, loadConfig } from '../../src/config.js';
import { connect } from '../../src/db/connect.js';
import { enqueueMany } from '../../src/queue/index.js';
import { startApi } from '../api/helpers.js';
import { runCli } from '../helpers/cli.js';
import { freshDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { spawnWorker, statusCounts } from '../worker/helpers.js';

const db = await freshDb();
const JOBS = 300;

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - t0 };
}

describe('a locked jobs table (LOCK TABLE … ACCESS EXCLUSIVE held ≥ 10 s)', () => {
  it(
    'API 503 + Retry-After within the lock timeout, /readyz busy, CLI exit 3, worker resumes',
    { timeout: 180_000 },
    async () => {
      // the API on a pool made as `jobq api` makes it: default timeouts from the configuration
      const apiDb = connect({
        url: db.url,
        schema: db.schema,
        max: 5,
        timeouts: dbTimeouts(loadConfig({}, db.env)),
      });
      const api = await startApi({ ...apiDb, env: db.env }, { auth: 'none' });
      const worker = spawnWorker({ ...db.env, QUEUE: 'locked' });
      const locker = new pg.Client({ connectionString: db.url, application_name: 'test-locker' });
      await locker.connect();
      try {
        await waitFor(async () => (await fetch(`${api.url}/readyz`)).status === 200, { what: 'API ready' });
        await waitFor(() => /"service":"worker".*"started"/.test(worker.output()), {
          what: 'worker started',
          timeoutMs: 60_000,
        });
        // due in 2 s: the worker first meets them while the table is locked
        const runAfter = new Date(Date.now() + 2000);
        await enqueueMany(
          db.exec,
          Array.from({ length: JOBS }, (_, i) => ({
            type: 'test.sleep',
            queue: 'locked',
            payload: { ms: 1, i },
            runAfter,
          })),
        );
        await locker.query('BEGIN');
        await locker.query(`LOCK TABLE ${db.schema}.jobs IN ACCESS EXCLUSIVE MODE`);
        const lockedAt = Date.now();

        const [apiRes, ready, cli] = await Promise.all([
          timed(() => fetch(`${api.url}/jobs?queue=locked`)),
          // (after the second for which the last answer, "ready" from before the lock, is shared)
          timed(async () => {
            await new Promise((r) => setTimeout(r, 1100));
            return fetch(`${api.url}/readyz`);
          }),
          timed(() => runCli(['jobs', 'list', '--queue', 'locked'], db.env, undefined, 60_000)),
        ]);
        // API: 503 with Retry-After, within the 5 s lock timeout (plus slack for a loaded machine)
        expect(apiRes.value.status).toBe(503);
        expect(apiRes.value.headers.get('retry-after')).toMatch(/^\d+$/);
        const body = (await apiRes.value.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('DATABASE_UNAVAILABLE');
        expect(body.error.message).toMatch(/lock/);
        expect(apiRes.ms).toBeLessThan(9000);
        // /readyz: its own connection, a 2 s bound, and "reachable but busy", not "cannot reach"
        expect(ready.value.status).toBe(503);
        const readyBody = (await ready.value.json()) as { database: string; reason: string };
        expect(readyBody.database).toBe('busy');
        expect(readyBody.reason).toMatch(/reachable/);
        expect(ready.ms).toBeLessThan(6000);
        // CLI: exit 3, one line naming the lock and the setting, no stack
        expect(cli.value.code).toBe(3);
        const lines = cli.value.stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^jobq: .*lock.*JOBQ_LOCK_TIMEOUT_MS/);
        expect(cli.value.stderr).not.toMatch(/\n\s+at /);

        // the worker meets the lock (its claims time out), keeps running, and is told to back off
        await waitFor(() => /lock timeout/.test(worker.output()), {
          what: 'the worker to report the lock timeout',
          timeoutMs: 30_000,
        });
        expect(worker.child.exitCode).toBeNull();
        await waitFor(() => Date.now() - lockedAt >= 10_000, {
          what: '10 s of lock',
          timeoutMs: 20_000,
          intervalMs: 200,
        });
        await locker.query('COMMIT');

        await waitFor(async () => (await statusCounts(db, 'locked')).COMPLETED === JOBS, {
          what: 'every job to complete after the lock',
          timeoutMs: 90_000,
          intervalMs: 200,
        });
        const counts = await statusCounts(db, 'locked');
        expect(counts).toEqual({ COMPLETED: JOBS });
        const r = await db.pool.query(
          `SELECT count(*)::int AS n FROM ${db.schema}.jobs WHERE queue = 'locked' AND attempts <> 1`,
        );
        expect(r.rows[0]).toEqual({ n: 0 });
        expect((await fetch(`${api.url}/readyz`)).status).toBe(200);
      } finally {
        await locker.end().catch(() => undefined);
        worker.child.kill('SIGTERM');
        await worker.exited;
        await api.close();
        await apiDb.close();
      }
    },
  );
});
