// 30 `jobq worker` processes with default settings, started at once on one host against one PostgreSQL:
// all keep running, 10,000 jobs complete exactly once, none DEAD, and no worker ever holds more than 3
// connections (pg_stat_activity by application_name, and per process from the socket table). Runs its own
// embedded PostgreSQL (max_connections 300) so the suite's other files and the server's limit stay apart.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/db/connect.js';
import { startEmbedded } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { enqueueMany } from '../../src/queue/index.js';
import { waitFor } from '../helpers/wait.js';
import { spawnDaemon, type Daemon } from './helpers.js';

const WORKERS = 30;
const JOBS = 10_000;

const pg = await startEmbedded({
  dataDir: mkdtempSync(path.join(tmpdir(), 'jobq-30-')),
  persistent: false,
  fast: true,
});
const db = connect({ url: pg.url, schema: 'jobq', max: 4 });
await migrate(db.exec);
afterAll(async () => {
  await db.close();
  await pg.stop();
});
const pgPort = new URL(pg.url).port;

/** Connections to the server per client process id, from the socket table (`ss -tnp`). */
function connectionsByPid(): Map<number, number> {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established', `( dport = :${pgPort} )`]).toString();
  const counts = new Map<number, number>();
  for (const m of out.matchAll(/pid=(\d+)/g)) counts.set(Number(m[1]), (counts.get(Number(m[1])) ?? 0) + 1);
  return counts;
}

describe('30 workers with default settings on one host', () => {
  it(
    'all keep running; 10,000 jobs once; 0 DEAD; never more than 3 connections per worker',
    { timeout: 300_000 },
    async () => {
      const daemons: Daemon[] = Array.from({ length: WORKERS }, () =>
        spawnDaemon(['worker'], { DATABASE_URL: pg.url, JOBQ_LOG_LEVEL: 'warn' }, { fixtureHandlers: false }),
      );
      const pids = new Set(daemons.map((d) => d.pid));
      let peakPerWorker = 0;
      let peakByName = 0;
      let stop = false;
      const sampler = (async () => {
        while (!stop) {
          for (const [pid, n] of connectionsByPid())
            if (pids.has(pid)) peakPerWorker = Math.max(peakPerWorker, n);
          const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE application_name LIKE 'jobq-worker%'`.execute(db.exec.raw);
          peakByName = Math.max(peakByName, r.rows[0]?.n ?? 0);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      try {
        await waitFor(
          async () =>
            (await sql<{ n: number }>`SELECT count(*)::int AS n FROM jobq.workers`.execute(db.exec.raw))
              .rows[0]?.n === WORKERS,
          { what: `${WORKERS} workers to register`, timeoutMs: 120_000, intervalMs: 250 },
        );
        for (let i = 0; i < JOBS; i += 2000)
          await enqueueMany(
            db.exec,
            Array.from({ length: 2000 }, (_, k) => ({ type: 'demo.echo', payload: { n: i + k } })),
          );
        await waitFor(
          async () =>
            (
              await sql<{
                n: number;
              }>`SELECT count(*)::int AS n FROM jobq.jobs WHERE status = 'COMPLETED'`.execute(db.exec.raw)
            ).rows[0]?.n === JOBS,
          { what: `${JOBS} jobs to complete`, timeoutMs: 180_000, intervalMs: 250 },
        );
        const r = await sql<{
          status: string;
          attempts: number;
          n: number;
        }>`SELECT status, attempts, count(*)::int AS n
        FROM jobq.jobs GROUP BY 1, 2`.execute(db.exec.raw);
        expect(r.rows).toEqual([{ status: 'COMPLETED', attempts: 1, n: JOBS }]);
        // every worker is still running and took part
        for (const d of daemons) expect(d.child.exitCode, d.output().slice(-500)).toBeNull();
        const ran = await sql<{
          n: number;
        }>`SELECT count(DISTINCT locked_by)::int AS n FROM jobq.jobs`.execute(db.exec.raw);
        expect(ran.rows[0]?.n ?? 0).toBeGreaterThan(1);
      } finally {
        stop = true;
        await sampler;
        const codes = await Promise.all(daemons.map((d) => d.stop()));
        expect(codes.every((c) => c === 0)).toBe(true);
      }
      expect(peakPerWorker).toBeGreaterThan(0);
      expect(peakPerWorker).toBeLessThanOrEqual(3);
      expect(peakByName).toBeLessThanOrEqual(3 * WORKERS);
    },
  );
});
