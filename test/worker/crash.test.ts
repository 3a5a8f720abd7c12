// Crash recovery with real `jobq worker` processes killed with SIGKILL: every job still completes, expired
// leases are reclaimed within about one lease, a late replay of the dead worker's claim is refused, and
// effects written through ctx.transaction happen exactly once. Needs `npm run build` (bin/jobq.js → dist).
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { complete, enqueueMany, getJob } from '../../src/queue/index.js';
import { freshDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { spawnWorker, statusCounts, workerIdOf, type WorkerProcess } from './helpers.js';

const db = await freshDb();
const exec = db.exec;
const LEASE_MS = 2000;
const env = {
  ...db.env,
  JOBQ_LEASE_SECONDS: String(LEASE_MS / 1000),
  JOBQ_POLL_INTERVAL_MS: '200',
  JOBQ_BACKOFF_BASE_MS: '10',
  JOBQ_BACKOFF_MAX_MS: '100',
  JOBQ_LOG_LEVEL: 'warn',
};

beforeAll(async () => {
  await sql`CREATE TABLE ${sql.table(`${db.schema}.ledger`)} (job_id uuid NOT NULL, pid int NOT NULL)`.execute(
    exec.raw,
  );
});

async function runningOf(workerId: string): Promise<{ id: string; attempts: number }[]> {
  const r = await sql<{ id: string; attempts: number }>`SELECT id, attempts FROM ${exec.t.jobs}
    WHERE status = 'RUNNING' AND locked_by = ${workerId}`.execute(exec.raw);
  return r.rows;
}

async function started(p: WorkerProcess): Promise<string> {
  return waitFor(() => workerIdOf(db, p.pid), {
    what: `worker ${p.pid} to register`,
    timeoutMs: 60_000,
  }).catch((err: unknown) => {
    throw new Error(
      `${(err as Error).message}; exit ${p.child.exitCode}; output: ${p.output().slice(-2000)}`,
    );
  });
}

async function stopAll(procs: WorkerProcess[]): Promise<void> {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
  const codes = await Promise.all(procs.map((p) => p.exited));
  expect(codes.every((c) => c === 0 || c === null)).toBe(true);
}

describe('crash recovery (real processes, kill -9)', () => {
  it(
    '3 workers, 300 jobs, one killed mid-job: every job COMPLETED, reclaimed within about one lease, the late replay is refused',
    { timeout: 180_000 },
    async () => {
      const procs = [spawnWorker({ ...env, QUEUE: 'crash:5' }), spawnWorker({ ...env, QUEUE: 'crash:5' })];
      const victim = spawnWorker({ ...env, QUEUE: 'crash:5' });
      const [, , victimId] = await Promise.all([...procs, victim].map(started));
      if (!victimId) throw new Error('no victim id');
      await enqueueMany(
        exec,
        Array.from({ length: 300 }, () => ({ type: 'test.sleep', queue: 'crash', payload: { ms: 100 } })),
      );
      await waitFor(async () => (await runningOf(victimId)).length >= 3, {
        what: 'the victim to be mid-job',
      });
      victim.child.kill('SIGKILL');
      const killedAt = Date.now();
      await victim.exited;
      const orphans = await runningOf(victimId);
      expect(orphans.length).toBeGreaterThan(0);

      // Reclaimed by the live workers' reapers once the lease expired: within 3 leases of the kill.
      await waitFor(async () => (await runningOf(victimId)).length === 0, {
        what: 'the orphans to be reclaimed',
        timeoutMs: 3 * LEASE_MS,
        intervalMs: 100,
      });
      const reclaimedAfterMs = Date.now() - killedAt;
      expect(reclaimedAfterMs).toBeLessThan(3 * LEASE_MS);

      await waitFor(async () => (await statusCounts(db, 'crash')).COMPLETED === 300, {
        what: 'all 300 jobs to complete',
        timeoutMs: 60_000,
      });
      for (const o of orphans) {
        // the dead worker's claim, replayed late, cannot complete (or fail) the reclaimed job
        expect(await complete(exec, victimId, { id: o.id, attempt: o.attempts }, 'stale')).toBe(false);
        const j = await getJob(exec, o.id);
        expect(j.status).toBe('COMPLETED');
        expect(j.lockedBy).not.toBe(victimId);
        expect(j.attempts).toBe(o.attempts + 1);
        expect(j.result).toEqual({ pid: expect.any(Number) as unknown });
        expect((j.result as { pid: number }).pid).not.toBe(victim.pid);
        expect(j.errors[0]?.message).toMatch(/lease expired/);
      }
      await stopAll(procs);
    },
  );

  it(
    'exactly-once effects: 1,000 jobs writing a ledger row via ctx.transaction, workers killed (-9) at random and restarted',
    { timeout: 180_000 },
    async () => {
      const ledger = sql.table(`${db.schema}.ledger`);
      await enqueueMany(
        exec,
        Array.from({ length: 1000 }, () => ({
          type: 'ledger.write',
          queue: 'ledger',
          maxAttempts: 50,
          payload: { ms: 40 + Math.floor(Math.random() * 40) },
        })),
      );
      const spawnOne = () => spawnWorker({ ...env, QUEUE: 'ledger:5' });
      const live = [spawnOne(), spawnOne(), spawnOne()];
      const ids = new Map<WorkerProcess, string>();
      let kills = 0;
      const done = async () => (await statusCounts(db, 'ledger')).COMPLETED === 1000;
      while (kills < 6 && !(await done())) {
        // wait until some worker is mid-job (inside its transaction), then kill it at a random moment
        await new Promise((r) => setTimeout(r, 200 + Math.random() * 500));
        const busy: WorkerProcess[] = [];
        for (const p of live) {
          const id = ids.get(p) ?? (await workerIdOf(db, p.pid));
          if (id) ids.set(p, id);
          if (id && (await runningOf(id)).length > 0) busy.push(p);
        }
        const victim = busy[Math.floor(Math.random() * busy.length)];
        if (!victim) continue;
        victim.child.kill('SIGKILL');
        await victim.exited;
        kills++;
        live.splice(live.indexOf(victim), 1, spawnOne());
      }
      expect(kills).toBeGreaterThan(2);
      await waitFor(done, { what: 'all 1,000 ledger jobs to complete', timeoutMs: 90_000, intervalMs: 200 });

      const counts = await sql<{ job_id: string; n: number }>`SELECT job_id, count(*)::int AS n FROM ${ledger}
      WHERE job_id IN (SELECT id FROM ${exec.t.jobs} WHERE queue = 'ledger') GROUP BY job_id`.execute(
        exec.raw,
      );
      expect(counts.rows).toHaveLength(1000);
      expect(counts.rows.filter((r) => r.n !== 1)).toEqual([]);
      const retried = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${exec.t.jobs}
      WHERE queue = 'ledger' AND attempts > 1`.execute(exec.raw);
      // the kills did land mid-job: some jobs ran more than once, yet wrote exactly once
      expect(retried.rows[0]?.n).toBeGreaterThan(0);
      expect((await statusCounts(db, 'ledger')).DEAD).toBeUndefined();
      await stopAll(live);
    },
  );
});
