// Maintenance against a real PostgreSQL: exactly one claimant per period (compare-and-set in the
// maintenance table), what one pass does (reclaim, prune, stale workers) and what it reports, and
// pruning 100,000 rows in bounded batches without blocking live work.
import { sql } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/db/connect.js';
import { silentLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { claim, enqueue } from '../../src/queue/index.js';
import { claimMaintenance, PRUNE_BATCH, pruneFinished } from '../../src/queue/maintenance.js';
import { maintenanceStep } from '../../src/scheduler/maintenance.js';
import { maintenanceList } from '../../src/sql/maintenance.js';
import { freshDb, resetDb } from '../helpers/db.js';
import { must } from './helpers.js';

const db = await freshDb();
const exec = db.exec;
const DAY = 86_400_000;

beforeEach(() => resetDb(db));

async function counterValue(
  c: { get(): Promise<{ values: { value: number; labels: Record<string, string | number> }[] }> },
  labels: Record<string, string>,
): Promise<number> {
  const v = (await c.get()).values.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l));
  return v?.value ?? 0;
}

describe('maintenance exactly once', () => {
  it('20 connections racing for the same due task: exactly one claims it per period', async () => {
    const conns = Array.from({ length: 20 }, () => connect({ url: db.url, schema: db.schema, max: 1 }));
    try {
      // First period: the row does not exist yet (insert race); later periods: it is due again.
      for (let period = 0; period < 4; period++) {
        if (period > 0)
          await sql`UPDATE ${exec.t.maintenance} SET next_run_at = now() - interval '1 second' WHERE task = 'prune'`.execute(
            exec.raw,
          );
        const won = await Promise.all(
          conns.map((c, i) => claimMaintenance(c.exec, 'prune', 60_000, `runner-${i}`)),
        );
        expect(won.filter((w) => w !== null)).toHaveLength(1);
        // Within the period nobody else gets it.
        expect(await claimMaintenance(exec, 'prune', 60_000, 'late')).toBeNull();
        const [row] = await maintenanceList(exec);
        expect(row?.lastRunBy).toBe(`runner-${won.findIndex((w) => w !== null)}`);
        expect(must(row).nextRunAt.getTime()).toBeGreaterThan(Date.now() + 50_000);
      }
    } finally {
      await Promise.all(conns.map((c) => c.close()));
    }
  });
});

describe('one maintenance pass', () => {
  it('reclaims expired leases, prunes past retention, drops stale workers; counts go to metrics and the table', async () => {
    const t = exec.t;
    await sql`INSERT INTO ${t.jobs} (type, status, attempts, max_attempts, locked_by, locked_at, lease_expires_at, started_at)
      VALUES ('crashed', 'RUNNING', 1, 5, 'gone-worker', now() - interval '2 minutes', now() - interval '1 minute', now() - interval '2 minutes'),
             ('alive', 'RUNNING', 1, 5, 'live-worker', now(), now() + interval '1 minute', now())`.execute(
      exec.raw,
    );
    await sql`INSERT INTO ${t.jobs} (type, status, finished_at) VALUES
      ('old', 'COMPLETED', now() - interval '8 days'), ('recent', 'COMPLETED', now() - interval '1 day'),
      ('old-dead', 'DEAD', now() - interval '31 days'), ('young-dead', 'DEAD', now() - interval '8 days')`.execute(
      exec.raw,
    );
    await sql`INSERT INTO ${t.workers} (id, host, pid, queues, types, version, last_heartbeat_at) VALUES
      ('stale', 'h', 1, '{}'::jsonb, '{}', 'v', now() - interval '2 hours'),
      ('fresh', 'h', 2, '{}'::jsonb, '{}', 'v', now())`.execute(exec.raw);
    await sql`INSERT INTO ${t.rate_limits} (client, tokens, updated_at) VALUES
      ('idle-client', 1, now() - interval '2 hours'), ('busy-client', 1, now())`.execute(exec.raw);
    const metrics = createMetrics();
    const deps = {
      exec,
      log: silentLogger,
      metrics,
      runner: 'test-runner',
      options: {
        reclaimIntervalMs: 10_000,
        intervalMs: 60_000,
        retentionCompletedMs: 7 * DAY,
        retentionDeadMs: 30 * DAY,
        staleWorkerMs: 3600_000,
      },
    };
    const delay = await maintenanceStep(deps, 30_000);
    expect(delay).toBeGreaterThan(9_000);
    expect(delay).toBeLessThanOrEqual(10_010);

    const jobs = await sql<{
      type: string;
      status: string;
    }>`SELECT type, status FROM ${t.jobs} ORDER BY type`.execute(exec.raw);
    expect(jobs.rows).toEqual([
      { type: 'alive', status: 'RUNNING' },
      { type: 'crashed', status: 'RETRY' },
      { type: 'recent', status: 'COMPLETED' },
      { type: 'young-dead', status: 'DEAD' },
    ]);
    const workers = await sql<{ id: string }>`SELECT id FROM ${t.workers}`.execute(exec.raw);
    expect(workers.rows.map((w) => w.id)).toEqual(['fresh']);
    const buckets = await sql<{ client: string }>`SELECT client FROM ${t.rate_limits}`.execute(exec.raw);
    expect(buckets.rows.map((b) => b.client)).toEqual(['busy-client']);

    expect(await counterValue(metrics.maintenanceRows, { task: 'reclaim' })).toBe(1);
    expect(await counterValue(metrics.maintenanceRows, { task: 'prune' })).toBe(2);
    expect(await counterValue(metrics.maintenanceRows, { task: 'workers' })).toBe(1);
    expect(await counterValue(metrics.jobsReclaimed, { queue: 'default', status: 'RETRY' })).toBe(1);
    const rows = await maintenanceList(exec);
    expect(rows.map((r) => [r.task, r.lastRunBy])).toEqual([
      ['prune', 'test-runner'],
      ['reclaim', 'test-runner'],
      ['workers', 'test-runner'],
    ]);
    expect(rows.find((r) => r.task === 'prune')?.lastResult).toMatchObject({ completed: 1, dead: 1 });
    expect(rows.find((r) => r.task === 'reclaim')?.lastResult).toMatchObject({ reclaimed: 1 });
    expect(rows.find((r) => r.task === 'workers')?.lastResult).toMatchObject({
      deleted: 1,
      rateLimitBuckets: 1,
    });

    // Nothing is due any more: a second pass claims nothing.
    await maintenanceStep({ ...deps, runner: 'second' }, 30_000);
    expect((await maintenanceList(exec)).every((r) => r.lastRunBy === 'test-runner')).toBe(true);
  });
});

describe('pruning', () => {
  it('removes exactly the finished jobs past retention from 100,000 rows, in batches of at most 1,000 that never block live work', async () => {
    const N = 100_000;
    const STATUSES = ['PENDING', 'RUNNING', 'RETRY', 'COMPLETED', 'DEAD', 'CANCELLED'] as const;
    // Row i: status i % 6; age (i % 40) days + 1 hour; finished statuses have finished_at = that age.
    await sql`INSERT INTO ${exec.t.jobs} (type, status, finished_at, created_at, updated_at)
      SELECT 'prune.t', (${STATUSES}::text[])[i % 6 + 1],
        CASE WHEN i % 6 >= 3 THEN now() - make_interval(days => i % 40, hours => 1) END,
        now() - make_interval(days => i % 40, hours => 1), now()
      FROM generate_series(0, ${N - 1}) AS i`.execute(exec.raw);
    await sql`ANALYZE ${exec.t.jobs}`.execute(exec.raw);

    // The expectation, computed here from the generating rule (not by asking the database).
    const expectedLeft: Record<string, number> = {};
    let expectedDeleted = 0;
    for (let i = 0; i < N; i++) {
      const status = must(STATUSES[i % 6]);
      const days = i % 40;
      const gone =
        ((status === 'COMPLETED' || status === 'CANCELLED') && days >= 7) ||
        (status === 'DEAD' && days >= 30);
      if (gone) expectedDeleted++;
      else expectedLeft[status] = (expectedLeft[status] ?? 0) + 1;
    }

    // Live work on another connection while pruning runs: enqueue + claim, timing each round trip.
    const live = connect({ url: db.url, schema: db.schema, max: 1 });
    let pruning = true;
    const liveLatencies: number[] = [];
    const liveLoop = (async () => {
      while (pruning) {
        const t0 = performance.now();
        await enqueue(live.exec, { type: 'live', queue: 'live' });
        await claim(live.exec, {
          queue: 'live',
          workerId: 'w',
          limit: 1,
          leaseMs: 30_000,
          starvationMs: 60_000,
        });
        liveLatencies.push(performance.now() - t0);
      }
    })();
    const batchMs: number[] = [];
    const started = performance.now();
    let result;
    try {
      result = await pruneFinished(exec, {
        retentionCompletedMs: 7 * DAY,
        retentionDeadMs: 30 * DAY,
        onBatch: (_n, ms) => batchMs.push(ms),
      });
    } finally {
      pruning = false;
      await liveLoop;
      await live.close();
    }
    const totalMs = performance.now() - started;

    expect(result.completed + result.dead).toBe(expectedDeleted);
    expect(Math.max(...result.batches)).toBeLessThanOrEqual(PRUNE_BATCH);
    expect(result.batches.filter((n) => n === PRUNE_BATCH).length).toBeGreaterThanOrEqual(
      Math.floor(expectedDeleted / PRUNE_BATCH) - 1,
    );
    const left = await sql<{ status: string; n: number }>`SELECT status, count(*) AS n FROM ${exec.t.jobs}
      WHERE type = 'prune.t' GROUP BY status`.execute(exec.raw);
    expect(Object.fromEntries(left.rows.map((r) => [r.status, r.n]))).toEqual(expectedLeft);
    // Short statements, live work never stuck behind them.
    const maxBatch = Math.max(...batchMs);
    const maxLive = Math.max(...liveLatencies);
    console.log(
      `pruned ${expectedDeleted} of ${N} rows in ${result.batches.length} batches, ${Math.round(totalMs)} ms; ` +
        `batch max ${maxBatch.toFixed(1)} ms; live enqueue+claim during pruning: ${liveLatencies.length} rounds, max ${maxLive.toFixed(1)} ms`,
    );
    expect(maxBatch).toBeLessThan(2000);
    expect(liveLatencies.length).toBeGreaterThan(0);
    expect(maxLive).toBeLessThan(2000);

    // A second run finds nothing.
    const again = await pruneFinished(exec, { retentionCompletedMs: 7 * DAY, retentionDeadMs: 30 * DAY });
    expect(again.completed + again.dead).toBe(0);
  });
});
