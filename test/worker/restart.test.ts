// PostgreSQL restarted under two busy `jobq worker` processes: both stay up, log the outage, reconnect by
// themselves (pool and LISTEN connection), and every job completes; none goes DEAD. Uses its own embedded
// PostgreSQL (same port and data directory across the restart). Needs `npm run build`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/db/connect.js';
import { freePort, startEmbedded, type EmbeddedServer } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { enqueueMany } from '../../src/queue/index.js';
import { waitFor } from '../helpers/wait.js';
import { spawnWorker, statusCounts } from './helpers.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'jobq-restart-'));
const port = await freePort();
const boot = (): Promise<EmbeddedServer> => startEmbedded({ dataDir, persistent: true, fast: true, port });
let server = await boot();
const schema = 'restart_test';
const db = connect({ url: server.url, schema, max: 4 });
// An idle pool client dying with the server must not fail the test process either.
await migrate(db.exec);

afterAll(async () => {
  await db.close().catch(() => undefined);
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('database restart', () => {
  it(
    'PostgreSQL restarted under two busy workers: both stay up, reconnect by themselves, every job completes, none DEAD',
    { timeout: 180_000 },
    async () => {
      const env = {
        DATABASE_URL: server.url,
        JOBQ_SCHEMA: schema,
        JOBQ_LEASE_SECONDS: '5',
        JOBQ_POLL_INTERVAL_MS: '200',
        QUEUE: 'default:5',
        JOBQ_LOG_LEVEL: 'info',
      };
      const workers = [spawnWorker(env), spawnWorker(env)];
      await enqueueMany(
        db.exec,
        Array.from({ length: 600 }, () => ({ type: 'test.sleep', payload: { ms: 30 } })),
      );
      // both busy
      await waitFor(
        async () => {
          const c = await statusCounts(db);
          return (c.COMPLETED ?? 0) >= 50 && workers.every((w) => w.output().includes('worker started'));
        },
        { what: 'both workers busy', timeoutMs: 60_000 },
      );
      await server.stop();
      await waitFor(() => workers.every((w) => w.output().includes('database unavailable, retrying in')), {
        what: 'both workers to log the outage',
        timeoutMs: 20_000,
      }).catch((err: unknown) => {
        const tails = workers.map((w) => `exit ${w.child.exitCode}: ${w.output().slice(-2000)}`);
        throw new Error(`${(err as Error).message}\n${tails.join('\n---\n')}`);
      });
      // While the server is down, nothing may claim it is back (the poll's wake-ups make no database call).
      // Counted from here, after the server has stopped and both workers have noticed: while it was still
      // shutting down, a statement on a surviving connection could rightly succeed after the first failure.
      const down = workers.map((w) => w.output().length);
      await new Promise((r) => setTimeout(r, 1500));
      workers.forEach((w, i) => expect(w.output().slice(down[i])).not.toMatch(/reachable again/));
      server = await boot();
      await waitFor(async () => (await statusCounts(db)).COMPLETED === 600, {
        what: 'all 600 jobs to complete after the restart',
        timeoutMs: 60_000,
        intervalMs: 200,
      });
      const counts = await statusCounts(db);
      expect(counts.DEAD).toBeUndefined();
      for (const w of workers) {
        expect(w.child.exitCode).toBeNull(); // still up
        expect(w.output()).toMatch(/database reachable again/);
        expect(w.output()).toMatch(/LISTEN connection re-established/);
      }
      for (const w of workers) w.child.kill('SIGTERM');
      expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0]);
    },
  );
});
