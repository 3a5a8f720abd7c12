// PgBouncer (Debian package, transaction pooling) is a supported path: DATABASE_URL through it,
// JOBQ_LISTEN_DATABASE_URL straight to PostgreSQL; 10 workers, the API, 2 schedulers and the CLI all
// work through it. 5,000 jobs complete exactly once and an every-second schedule fires once per second
// (no duplicates, no gaps), with no error logged and no warning beyond the documented one-time
// prepared-statement fallback (and the start-up warning about autovacuum where the server has it off,
// as Debian's PostgreSQL 15 on the CI machine does). Needs `npm run build` and /usr/sbin/pgbouncer (.ci/run installs it).
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { freshDb } from '../helpers/db.js';
import { freePort } from '../../src/db/embedded.js';
import { startPgBouncer } from '../helpers/pgbouncer.js';
import { waitFor } from '../helpers/wait.js';
import { statusCounts } from '../worker/helpers.js';
import { logLines, spawnDaemon, type Daemon } from './helpers.js';

const db = await freshDb();
const JOBS = 5000;
const FALLBACK = /prepared statements are not available/;
const AUTOVACUUM_OFF = /autovacuum is off/;
const autovacuumOff =
  (await sql<{ on: string }>`SELECT current_setting('autovacuum') AS on`.execute(db.exec.raw)).rows[0]?.on ===
  'off';

describe('through PgBouncer in transaction mode', () => {
  it(
    '10 workers, the API, 2 schedulers and the CLI: 5,000 jobs once, a 1 s schedule without duplicates',
    { timeout: 300_000 },
    async () => {
      const bouncer = await startPgBouncer(db.url, { poolSize: 20 });
      const env = {
        DATABASE_URL: bouncer.url,
        JOBQ_LISTEN_DATABASE_URL: db.url,
        JOBQ_SCHEMA: db.schema,
        JOBQ_METRICS_PORT: '0',
        JOBQ_API_TOKENS: 'test:pgbouncer-test-token',
        QUEUE: 'pgb',
      };
      const auth = { authorization: 'Bearer pgbouncer-test-token' };
      const daemons: Daemon[] = [];
      try {
        const apiPort = await freePort();
        daemons.push(spawnDaemon(['api', '--host', '127.0.0.1', '--port', String(apiPort)], env));
        for (let i = 0; i < 2; i++) daemons.push(spawnDaemon(['scheduler'], env));
        for (let i = 0; i < 10; i++) daemons.push(spawnDaemon(['worker'], env));
        const api = `http://127.0.0.1:${apiPort}`;
        await waitFor(async () => (await fetch(`${api}/readyz`).catch(() => null))?.status === 200, {
          what: 'the API through PgBouncer',
          timeoutMs: 90_000,
        });

        // a schedule firing every second, added by the CLI through PgBouncer
        const add = await runCli(
          [
            'schedules',
            'add',
            'tick',
            '--cron',
            '* * * * * *',
            '--type',
            'test.sleep',
            '--queue',
            'pgb',
            '--payload',
            '{"ms":1}',
          ],
          env,
        );
        expect(add.code, add.stderr).toBe(0);

        // half the jobs through the API (batches of 500), half through `jobq enqueue --batch`
        for (let b = 0; b < JOBS / 2 / 500; b++) {
          const res = await fetch(`${api}/jobs/batch`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...auth },
            body: JSON.stringify({
              jobs: Array.from({ length: 500 }, (_, i) => ({
                type: 'test.sleep',
                queue: 'pgb',
                payload: { ms: 1, n: b * 500 + i },
              })),
            }),
          });
          expect(res.status).toBe(201);
        }
        const ndjson = Array.from({ length: JOBS / 2 }, (_, i) =>
          JSON.stringify({ type: 'test.sleep', queue: 'pgb', payload: { ms: 1, n: JOBS / 2 + i } }),
        ).join('\n');
        const batch = await runCli(['enqueue', '--batch', '-'], env, ndjson);
        expect(batch.code, batch.stderr).toBe(0);

        const count = async (): Promise<number> => {
          const r = await db.pool.query(
            `SELECT count(*)::int AS n FROM ${db.schema}.jobs WHERE status = 'COMPLETED' AND idempotency_key IS NULL`,
          );
          return (r.rows[0] as { n: number }).n;
        };
        await waitFor(async () => (await count()) === JOBS, {
          what: `${JOBS} jobs to complete`,
          timeoutMs: 180_000,
          intervalMs: 250,
        });
        // let the schedule fire a few more times, then pause it (CLI) and let its last jobs finish
        const fires = async (): Promise<number> =>
          (
            (
              await db.pool.query(
                `SELECT count(*)::int AS n FROM ${db.schema}.jobs WHERE idempotency_key LIKE 'schedule:tick:%'`,
              )
            ).rows[0] as { n: number }
          ).n;
        const before = await fires();
        await waitFor(async () => (await fires()) >= before + 3, {
          what: 'three more fires',
          timeoutMs: 30_000,
        });
        const pause = await runCli(['schedules', 'pause', 'tick'], env);
        expect(pause.code, pause.stderr).toBe(0);
        await waitFor(
          async () =>
            (await statusCounts(db, 'pgb')).PENDING === undefined &&
            (await statusCounts(db, 'pgb')).RUNNING === undefined,
          {
            what: 'the queue to drain',
            timeoutMs: 60_000,
          },
        );

        // every job ran exactly once
        const counts = await statusCounts(db, 'pgb');
        expect(Object.keys(counts)).toEqual(['COMPLETED']);
        const r = await db.pool.query(`SELECT count(*)::int AS n FROM ${db.schema}.jobs WHERE attempts <> 1`);
        expect(r.rows[0]).toEqual({ n: 0 });
        // one job per second of the schedule: fire times consecutive, none twice, none missing
        const f = await db.pool.query(
          `SELECT idempotency_key AS k FROM ${db.schema}.jobs WHERE idempotency_key LIKE 'schedule:tick:%' ORDER BY 1`,
        );
        const times = (f.rows as { k: string }[]).map((x) => Date.parse(x.k.slice('schedule:tick:'.length)));
        expect(times.length).toBeGreaterThanOrEqual(3);
        expect(new Set(times).size).toBe(times.length);
        expect(((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000 + 1).toBe(times.length);

        // the CLI reads through PgBouncer too
        const workers = await runCli(['workers', '--json'], env);
        expect(workers.code).toBe(0);
        expect((JSON.parse(workers.stdout) as unknown[]).length).toBe(10);

        for (const d of daemons) expect(d.child.exitCode).toBeNull();
      } finally {
        const codes = await Promise.all(daemons.map((d) => d.stop()));
        await bouncer.stop();
        expect(
          codes.map((c, i) => (c === 0 ? 0 : `${c}: ${daemons[i]?.output().slice(-1500) ?? ''}`)),
        ).toEqual(codes.map(() => 0));
      }
      // no errors; no warnings but the documented one-time prepared-statement fallback
      for (const d of daemons) {
        const lines = logLines(d.output());
        expect(lines.filter((l) => l.level >= 50).map((l) => JSON.stringify(l))).toEqual([]);
        const warns = lines.filter((l) => l.level === 40);
        const vacuum = warns.filter((l) => AUTOVACUUM_OFF.test(l.msg));
        expect(vacuum).toHaveLength(autovacuumOff ? 1 : 0);
        const others = warns.filter((l) => !AUTOVACUUM_OFF.test(l.msg));
        expect(others.filter((l) => !FALLBACK.test(l.msg)).map((l) => JSON.stringify(l))).toEqual([]);
        expect(others.length).toBeLessThanOrEqual(1);
      }
    },
  );
});
