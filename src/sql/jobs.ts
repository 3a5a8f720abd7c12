// Every statement on the jobs table. One function per statement, each taking (exec, params) so it can
// run on the pool or inside a caller's transaction. Time comes from the database clock.
// Index notes refer to migrations/0001_init.sql.
import { sql, type RawBuilder, type Selectable } from 'kysely';
import type { Executor } from '../db/connect.js';
import type { JobsTable } from '../db/schema.js';
import { fencedItems } from './job-outcomes.js';
import { jobKeysReserve, type KeyGroup } from './job-keys.js';
import { toJob, type EnqueueResult, type Job, type JobInsert, type ListFilter } from './job-rows.js';

/**
 * Inserts many jobs in one round trip (one array parameter per column, unnest on the server), and sends
 * one NOTIFY for the whole batch when any job is ready now. Jobs whose idempotency key exists already are
 * not inserted; the existing job's id is returned with created=false. Results are in input order.
 */
export async function jobInsertMany(exec: Executor, rows: JobInsert[]): Promise<EnqueueResult[]> {
  if (rows.length === 0) return [];
  const channel = channelFor(exec);
  const readyQueues = [
    ...new Set(rows.filter((r) => r.runAfter === null && r.delayMs === 0).map((r) => r.queue)),
  ];
  const notify = readyQueues.length > 0 ? readyQueues.join(',') : null;
  const hasKeys = rows.some((r) => r.idempotencyKey !== null);
  const tags = await fairTags(exec, rows);
  const t = exec.t;
  // Columns whose value is the same in every row are sent once as a scalar, the rest as one array each
  // (unnest): serialising 100,000-element arrays of identical values cost ~15 % of a bulk enqueue.
  const unnested: RawBuilder<unknown>[] = [];
  const names: string[] = [];
  const col = (
    name: string,
    type: string,
    value: (r: JobInsert) => unknown,
    alwaysArray = false,
  ): RawBuilder<unknown> => {
    const values = rows.map(value);
    const first = values[0];
    if (!alwaysArray && values.every((v) => v === first)) return sql`${first}::${sql.raw(type)}`;
    unnested.push(sql`${values}::${sql.raw(type)}[]`);
    names.push(name);
    return sql.ref(`i.${name}`);
  };
  // One row (the latency-sensitive single enqueue) needs no unnest at all: plain scalars, no FROM.
  // Otherwise ids always differ, and the id array gives the statement its row count.
  const single = rows.length === 1;
  const id = col('id', 'uuid', (r) => r.id, !single);
  const type = col('type', 'text', (r) => r.type);
  const payload = col('payload', 'jsonb', (r) => r.payloadJson);
  const queue = col('queue', 'text', (r) => r.queue);
  const priority = col('priority', 'int', (r) => r.priority);
  const maxAttempts = col('max_attempts', 'int', (r) => r.maxAttempts);
  const at = col('run_after', 'timestamptz', (r) => r.runAfter);
  // bigint: the longest delay (ten years) is 3.15e11 ms, beyond int's 2.1e9 (24.8 days).
  const delay = col('delay_ms', 'bigint', (r) => r.delayMs);
  const key = col('idempotency_key', 'text', (r) => r.idempotencyKey);
  // keyed jobs (tenants) carry their key and fair-share tag; without keys the columns keep their defaults
  const keyed = tags
    ? {
        names: sql`, key, fair_seq`,
        values: sql`, ${col('key', 'text', (r) => r.key ?? null)}, ${col('fair_seq', 'bigint', (r) => tags.get(r) ?? 0)}`,
      }
    : { names: sql``, values: sql`` };
  const readyNow = rows.every((r) => r.runAfter === null && r.delayMs === 0);
  const runAfter = readyNow
    ? sql`now()`
    : sql`coalesce(${at}, now() + make_interval(secs => ${delay} / 1000.0))`;
  const source = single
    ? sql``
    : sql`FROM unnest(${sql.join(unnested)}) AS i(${sql.join(names.map((n) => sql.id(n)))})`;
  const values = sql`${id}, ${type}, ${payload}, ${queue}, ${priority}, ${maxAttempts}, ${runAfter}${keyed.values}`;
  if (!hasKeys) {
    // Fast path (bulk enqueue): ids come from the client, nothing to look up afterwards.
    await sql`WITH ins AS (
        INSERT INTO ${t.jobs} (id, type, payload, queue, priority, max_attempts, run_after${keyed.names})
        SELECT ${values} ${source}
        RETURNING 1)
      SELECT count(*) AS n, CASE WHEN ${notify}::text IS NOT NULL THEN pg_notify(${channel}, ${notify}) END FROM ins`.execute(
      exec.raw,
    );
    return rows.map((r) => ({ id: r.id, created: true }));
  }
  // ON CONFLICT waits for a concurrent inserter of the same key to commit, then skips: N identical
  // concurrent requests create one row (jobs_idempotency_key_idx).
  const inserted = await sql<{ id: string }>`WITH ins AS (
      INSERT INTO ${t.jobs} (id, type, payload, queue, priority, max_attempts, run_after${keyed.names}, idempotency_key)
      SELECT ${values}, ${key} ${source}
      ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
      RETURNING id)
    SELECT id, CASE WHEN ${notify}::text IS NOT NULL THEN pg_notify(${channel}, ${notify}) END AS n FROM ins`.execute(
    exec.raw,
  );
  const created = new Set(inserted.rows.map((r) => r.id));
  const missingKeys = rows
    .filter((r) => !created.has(r.id) && r.idempotencyKey !== null)
    .map((r) => r.idempotencyKey);
  const existing = new Map<string, string>();
  if (missingKeys.length > 0) {
    const found = await sql<{ id: string; idempotency_key: string }>`SELECT id, idempotency_key FROM ${t.jobs}
      WHERE idempotency_key = ANY(${missingKeys}::text[])`.execute(exec.raw);
    for (const f of found.rows) existing.set(f.idempotency_key, f.id);
  }
  return rows.map((r) => {
    if (created.has(r.id)) return { id: r.id, created: true };
    const id = r.idempotencyKey === null ? undefined : existing.get(r.idempotencyKey);
    if (id === undefined)
      throw new Error(`job with idempotency key ${r.idempotencyKey ?? ''} vanished during enqueue`);
    return { id, created: false };
  });
}

/** Fair-share tags of the keyed rows (job-keys.ts), consecutive per key in input order; null without keys. */
async function fairTags(exec: Executor, rows: JobInsert[]): Promise<Map<JobInsert, number> | null> {
  if (!rows.some((r) => r.key)) return null;
  const groups = new Map<string, { g: KeyGroup; rows: JobInsert[] }>();
  for (const r of rows) {
    if (!r.key) continue;
    const k = JSON.stringify([r.queue, r.key]);
    const e = groups.get(k) ?? { g: { queue: r.queue, key: r.key, priority: r.priority, n: 0 }, rows: [] };
    e.g.n++;
    e.rows.push(r);
    groups.set(k, e);
  }
  const list = [...groups.values()];
  const firsts = await jobKeysReserve(
    exec,
    list.map((e) => e.g),
  );
  const tags = new Map<JobInsert, number>();
  list.forEach((e, i) => e.rows.forEach((r, j) => tags.set(r, (firsts[i] ?? 1) + j)));
  return tags;
}

/** Reads one job. */
export async function jobGet(exec: Executor, id: string): Promise<Job | undefined> {
  const r = await sql<Selectable<JobsTable>>`SELECT * FROM ${exec.t.jobs} WHERE id = ${id}`.execute(exec.raw);
  return r.rows[0] ? toJob(r.rows[0]) : undefined;
}

/** Reads many jobs by id (any order). */
export async function jobGetMany(exec: Executor, ids: string[]): Promise<Job[]> {
  const r = await sql<
    Selectable<JobsTable>
  >`SELECT * FROM ${exec.t.jobs} WHERE id = ANY(${ids}::uuid[])`.execute(exec.raw);
  return r.rows.map(toJob);
}

/**
 * Lists jobs newest first with keyset pagination on id (UUIDv7 ids are time-ordered, so the primary key
 * serves the order; DEAD uses jobs_dead_idx).
 */
export async function jobList(exec: Executor, f: ListFilter & { limit: number }): Promise<Job[]> {
  let q = exec.db.selectFrom('jobs').selectAll();
  if (f.status) q = q.where('status', '=', f.status);
  if (f.queue) q = q.where('queue', '=', f.queue);
  if (f.type) q = q.where('type', '=', f.type);
  if (f.cursor) q = q.where('id', '<', f.cursor);
  const rows = await q.orderBy('id', 'desc').limit(f.limit).execute();
  return rows.map(toJob);
}

export interface Fence {
  id: string;
  attempt: number;
}

/**
 * Extends the leases of a worker's running jobs in one statement. Returns, for each job still held,
 * whether cancellation was requested; an id missing from the result has lost its lease.
 */
export async function jobHeartbeat(
  exec: Executor,
  workerId: string,
  ids: string[],
  leaseMs: number,
): Promise<{ id: string; cancelRequested: boolean }[]> {
  if (ids.length === 0) return [];
  // The fence travels with the ids as in the outcome statements (fencedItems): rows are found by primary
  // key. As a filter with statistics that saw no running job, the planner scanned jobs_running_idx
  // instead: 10,500 rows read to extend 500 leases beside another worker's 10,000 (PostgreSQL 15).
  const r = await sql<{ id: string; cancel: boolean }>`UPDATE ${exec.t.jobs} j
    SET lease_expires_at = now() + make_interval(secs => ${leaseMs / 1000})
    FROM ${fencedItems(workerId, sql`unnest(${ids}::uuid[]) AS u(id)`)} v
    WHERE j.id = v.id AND j.status = v.fence_status AND j.locked_by = v.fence_worker
    RETURNING j.id, j.cancel_requested_at IS NOT NULL AS cancel`.execute(exec.raw);
  return r.rows.map((x) => ({ id: x.id, cancelRequested: x.cancel }));
}

/** The NOTIFY channel of a schema: payload is a comma list of queues with new ready jobs. */
export function channelFor(exec: Executor): string {
  return `jobq_${exec.schema}`;
}
