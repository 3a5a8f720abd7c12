// Many daemons on one host: two workers and a scheduler with default settings all run (the default
// metrics port goes to the first, the others warn once and serve none, and `jobq workers` says which);
// a port the user set and cannot have is a clean exit 2 naming the variable; a missing --handlers module
// is reported as such even when the port is taken too (handlers load before any port is bound); a
// worker's metrics port also serves /healthz and /readyz. Needs `npm run build`.
import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { enqueueMany } from '../../src/queue/index.js';
import { runCli } from '../helpers/cli.js';
import { freshDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { statusCounts } from '../worker/helpers.js';
import { logLines, plainLines, spawnDaemon } from './helpers.js';

const db = await freshDb();

/** Holds a TCP port on all interfaces until closed. */
async function holdPort(): Promise<{ port: number; close(): Promise<void> }> {
  const s: Server = createServer();
  await new Promise<void>((resolve) => s.listen(0, '0.0.0.0', resolve));
  const a = s.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return { port, close: () => new Promise((r) => s.close(() => r())) };
}

const started = (out: string, service: string): boolean =>
  logLines(out).some((l) => l.service === service && l.msg === 'started');

describe('many daemons on one host', () => {
  it(
    'two workers and a scheduler with default settings all run; one serves the default metrics port',
    { timeout: 180_000 },
    async () => {
      const env = { ...db.env, QUEUE: 'multi' };
      const daemons = [
        spawnDaemon(['worker'], env),
        spawnDaemon(['worker'], env),
        spawnDaemon(['scheduler'], env),
      ];
      try {
        for (const [i, d] of daemons.entries())
          await waitFor(() => started(d.output(), i < 2 ? 'worker' : 'scheduler'), {
            what: `daemon ${i} to start; output: ${d.output().slice(-1500)}`,
            timeoutMs: 60_000,
          });
        await enqueueMany(
          db.exec,
          Array.from({ length: 200 }, (_, i) => ({
            type: 'test.sleep',
            queue: 'multi',
            payload: { ms: 1, i },
          })),
        );
        await waitFor(async () => (await statusCounts(db, 'multi')).COMPLETED === 200, {
          what: 'all jobs to complete',
          timeoutMs: 60_000,
        });
        for (const d of daemons) expect(d.child.exitCode).toBeNull();
        // at most one holds 9464 (another process on the machine may hold it: then all three warn)
        const serving = daemons.filter((d) =>
          logLines(d.output()).some((l) => /^serving \/metrics/.test(l.msg)),
        );
        expect(serving.length).toBeLessThanOrEqual(1);
        for (const d of daemons.filter((x) => !serving.includes(x))) {
          const warnings = logLines(d.output()).filter(
            (l) => l.level === 40 && /JOBQ_METRICS_PORT/.test(l.msg),
          );
          expect(warnings).toHaveLength(1);
          expect(warnings[0]?.msg).toMatch(/default metrics port 9464/);
        }
        // `jobq workers` shows where each worker serves metrics, or none
        const listed = await runCli(['workers', '--json'], db.env);
        expect(listed.code).toBe(0);
        const workers = JSON.parse(listed.stdout) as { pid: number; metricsUrl: string | null }[];
        const mine = workers.filter((w) => daemons.slice(0, 2).some((d) => d.pid === w.pid));
        expect(mine).toHaveLength(2);
        for (const w of mine) {
          const d = daemons.find((x) => x.pid === w.pid);
          if (d && serving.includes(d)) expect(w.metricsUrl).toMatch(/:9464$/);
          else expect(w.metricsUrl).toBeNull();
        }
        const table = await runCli(['workers'], db.env);
        expect(table.stdout).toMatch(/metrics/);
        expect(table.stdout).toMatch(/none|:9464/);
      } finally {
        for (const d of daemons) expect(await d.stop()).toBe(0);
      }
    },
  );

  it(
    'a worker serves /healthz and /readyz (database, migration, registration) on its metrics port',
    { timeout: 120_000 },
    async () => {
      const port = await holdPort();
      await port.close(); // a free port to hand over
      const w = spawnDaemon(['worker'], { ...db.env, QUEUE: 'probe', JOBQ_METRICS_PORT: String(port.port) });
      try {
        const base = `http://127.0.0.1:${port.port}`;
        await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => null))?.status === 200, {
          what: `worker /readyz; output: ${w.output().slice(-1500)}`,
          timeoutMs: 60_000,
        });
        expect((await fetch(`${base}/healthz`)).status).toBe(200);
        const body = (await (await fetch(`${base}/readyz`)).json()) as Record<string, unknown>;
        expect(body).toMatchObject({ status: 'ready', database: 'reachable' });
        expect((await fetch(`${base}/metrics`)).status).toBe(200);
      } finally {
        expect(await w.stop()).toBe(0);
      }
    },
  );

  it(
    'an explicitly set port that is taken: exit 2, one line naming the variable, no stack',
    { timeout: 120_000 },
    async () => {
      const held = await holdPort();
      try {
        const worker = spawnDaemon(['worker'], { ...db.env, JOBQ_METRICS_PORT: String(held.port) });
        expect(await worker.exited).toBe(2);
        const wl = plainLines(worker.output());
        expect(wl).toEqual([expect.stringMatching(/^jobq: JOBQ_METRICS_PORT: .*port \d+: already in use/)]);
        expect(worker.output()).not.toMatch(/\n\s+at /);

        const sched = spawnDaemon(['scheduler'], { ...db.env, JOBQ_METRICS_PORT: String(held.port) });
        expect(await sched.exited).toBe(2);
        expect(sched.output()).toMatch(/jobq: JOBQ_METRICS_PORT: /);

        const api = spawnDaemon(['api', '--insecure-no-auth', '--host', '127.0.0.1'], {
          ...db.env,
          PORT: String(held.port),
        });
        expect(await api.exited).toBe(2);
        const al = plainLines(api.output());
        expect(al).toEqual([expect.stringMatching(/^jobq: the API cannot listen on .*in use.*PORT/)]);
      } finally {
        await held.close();
      }
    },
  );

  it(
    'a missing --handlers module is reported as such, even when the metrics port is taken too',
    { timeout: 120_000 },
    async () => {
      const held = await holdPort();
      try {
        const w = spawnDaemon(['worker', '--handlers', './no/such/handlers.js'], {
          ...db.env,
          JOBQ_METRICS_PORT: String(held.port),
        });
        expect(await w.exited).toBe(1);
        expect(w.output()).toMatch(/--handlers \/ JOBQ_HANDLERS: expected a loadable ES module/);
        expect(w.output()).not.toMatch(/JOBQ_METRICS_PORT|\n\s+at /);
      } finally {
        await held.close();
      }
    },
  );
});
