// Statements on the maintenance table: the compare-and-set that gives one due maintenance task to
// exactly one process per period, its recorded result, and when the next task falls due.
import { sql } from 'kysely';
import type { Executor } from '../db/connect.js';

/**
 * Claims a task for this period if it is due, in one statement: the row is created on first use, and
 * next_run_at only moves forward for the caller that finds it due. Concurrent callers serialise on the
 * row (ON CONFLICT locks it; the WHERE is re-checked on the committed version), so exactly one of them
 * gets the row back. Returns the claim's database time when the caller should run the task now, else
 * null.
 */
export async function maintenanceClaim(
  exec: Executor,
  p: { task: string; intervalMs: number; runner: string },
): Promise<Date | null> {
  const r = await sql<{
    task: string;
    last_run_at: Date;
  }>`INSERT INTO ${exec.t.maintenance} AS m (task, next_run_at, last_run_at, last_run_by)
    VALUES (${p.task}, now() + make_interval(secs => ${p.intervalMs / 1000}), now(), ${p.runner})
    ON CONFLICT (task) DO UPDATE SET next_run_at = EXCLUDED.next_run_at, last_run_at = EXCLUDED.last_run_at,
      last_run_by = EXCLUDED.last_run_by, last_result = NULL
    WHERE m.next_run_at <= now()
    RETURNING task, last_run_at`.execute(exec.raw);
  return r.rows[0]?.last_run_at ?? null;
}

/** Stores what a run did (counts), if the run is still the latest one of the task. */
export async function maintenanceRecord(
  exec: Executor,
  p: { task: string; runner: string; result: Record<string, number> },
): Promise<void> {
  await sql`UPDATE ${exec.t.maintenance} SET last_result = ${JSON.stringify(p.result)}::jsonb
    WHERE task = ${p.task} AND last_run_by = ${p.runner}`.execute(exec.raw);
}

/** Milliseconds until each known task is due by the database clock (negative: overdue). */
export async function maintenanceDueInMs(exec: Executor, tasks: string[]): Promise<Map<string, number>> {
  const r = await sql<{ task: string; ms: number }>`SELECT task,
      (extract(epoch FROM next_run_at - clock_timestamp()) * 1000)::float8 AS ms
    FROM ${exec.t.maintenance} WHERE task = ANY(${tasks}::text[])`.execute(exec.raw);
  return new Map(r.rows.map((x) => [x.task, x.ms]));
}

export interface MaintenanceRow {
  task: string;
  nextRunAt: Date;
  lastRunAt: Date | null;
  lastRunBy: string | null;
  lastResult: unknown;
}

/** Every task's state (for operators and tests). */
export async function maintenanceList(exec: Executor): Promise<MaintenanceRow[]> {
  const rows = await exec.db.selectFrom('maintenance').selectAll().orderBy('task').execute();
  return rows.map((x) => ({
    task: x.task,
    nextRunAt: x.next_run_at,
    lastRunAt: x.last_run_at,
    lastRunBy: x.last_run_by,
    lastResult: x.last_result,
  }));
}
