// Statements on the workers table (the registry behind `jobq workers`).
import { sql } from 'kysely';
import type { Executor } from '../db/connect.js';

export interface WorkerRow {
  id: string;
  host: string;
  pid: number;
  queues: Record<string, number>;
  types: string[];
  running: number;
  /** Queue → slots held by handlers past their timeout (in their grace; their jobs no longer RUNNING). */
  overtime: Record<string, number>;
  /** Handlers still running after their timeout and grace (their slots were given back). */
  runaways: number;
  version: string;
  /** Where the worker serves /metrics, /healthz, /readyz (http://host:port), or null when it serves none. */
  metricsUrl: string | null;
  startedAt: Date;
  lastHeartbeatAt: Date;
}

/** What a worker registers: who it is, what it serves (queue → slots) and which job types it knows. */
export interface WorkerRegistration {
  id: string;
  host: string;
  pid: number;
  queues: Record<string, number>;
  types: string[];
  version: string;
  metricsUrl?: string | null;
}

/** Registers (or re-registers) a worker. */
export async function workerRegister(exec: Executor, w: WorkerRegistration): Promise<void> {
  await sql`INSERT INTO ${exec.t.workers} (id, host, pid, queues, types, version, metrics_url)
    VALUES (${w.id}, ${w.host}, ${w.pid}, ${JSON.stringify(w.queues)}::jsonb, ${w.types}::text[], ${w.version},
      ${w.metricsUrl ?? null})
    ON CONFLICT (id) DO UPDATE SET last_heartbeat_at = now(), queues = excluded.queues, types = excluded.types,
      metrics_url = excluded.metrics_url`.execute(exec.raw);
}

/** Records a worker's heartbeat and load. Returns false when the row is gone (pruned as stale). */
export async function workerHeartbeat(exec: Executor, id: string, running: number): Promise<boolean> {
  const r =
    await sql`UPDATE ${exec.t.workers} SET last_heartbeat_at = now(), running = ${running} WHERE id = ${id}`.execute(
      exec.raw,
    );
  return Number(r.numAffectedRows ?? 0) === 1;
}

/** Records an event-loop stall the worker noticed (explain cites it for leases that expired then). */
export async function workerRecordStall(exec: Executor, id: string, stalledMs: number): Promise<void> {
  await sql`UPDATE ${exec.t.workers} SET stalled_ms = ${Math.round(stalledMs)}, stalled_at = now()
    WHERE id = ${id}`.execute(exec.raw);
}

/**
 * Records the slots the worker's handlers hold past their timeout, per queue, and its runaways (written
 * when they change; `jobq explain` adds the held slots to the RUNNING jobs, `jobq workers` shows both).
 */
export async function workerRecordOvertime(
  exec: Executor,
  id: string,
  overtime: Record<string, number>,
  runaways: number,
): Promise<void> {
  await sql`UPDATE ${exec.t.workers} SET overtime = ${JSON.stringify(overtime)}::jsonb, runaways = ${runaways}
    WHERE id = ${id}`.execute(exec.raw);
}

/** The last event-loop stall a worker reported, if any. */
export async function workerStall(
  exec: Executor,
  id: string,
): Promise<{ stalledMs: number; stalledAt: Date } | undefined> {
  const r = await sql<{ stalled_ms: number; stalled_at: Date }>`SELECT stalled_ms, stalled_at
    FROM ${exec.t.workers} WHERE id = ${id} AND stalled_at IS NOT NULL`.execute(exec.raw);
  const x = r.rows[0];
  return x ? { stalledMs: x.stalled_ms, stalledAt: x.stalled_at } : undefined;
}

/** Removes a worker's registration (clean shutdown). */
export async function workerUnregister(exec: Executor, id: string): Promise<void> {
  await exec.db.deleteFrom('workers').where('id', '=', id).execute();
}

/** Workers whose last heartbeat is newer than the bound ("online"). */
export async function workerListOnline(exec: Executor, freshWithinMs: number): Promise<WorkerRow[]> {
  const r = await sql<Record<string, unknown>>`SELECT * FROM ${exec.t.workers}
    WHERE last_heartbeat_at > now() - make_interval(secs => ${freshWithinMs / 1000}) ORDER BY started_at`.execute(
    exec.raw,
  );
  return r.rows.map((x) => ({
    id: x.id as string,
    host: x.host as string,
    pid: x.pid as number,
    queues: x.queues as Record<string, number>,
    types: x.types as string[],
    running: x.running as number,
    overtime: (x.overtime as Record<string, number> | null) ?? {},
    runaways: (x.runaways as number | null) ?? 0,
    version: x.version as string,
    metricsUrl: (x.metrics_url as string | null) ?? null,
    startedAt: x.started_at as Date,
    lastHeartbeatAt: x.last_heartbeat_at as Date,
  }));
}

/** Deletes registrations silent for longer than the bound; returns how many. */
export async function workerDeleteStale(exec: Executor, silentForMs: number): Promise<number> {
  const r = await sql`DELETE FROM ${exec.t.workers}
    WHERE last_heartbeat_at < now() - make_interval(secs => ${silentForMs / 1000})`.execute(exec.raw);
  return Number(r.numAffectedRows ?? 0);
}

/** True when the worker's registration row exists (its /readyz). */
export async function workerExists(exec: Executor, id: string): Promise<boolean> {
  const r = await sql`SELECT 1 FROM ${exec.t.workers} WHERE id = ${id}`.execute(exec.raw);
  return r.rows.length > 0;
}
