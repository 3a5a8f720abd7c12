// Statements on a queue's flow limits (columns of the queues table, migrations/0004): set, clear, and
// read them with their current use for `jobq queues`, the API, the dashboard and `jobq explain`.
import { sql, type RawBuilder } from 'kysely';
import type { Executor } from '../db/connect.js';
import { channelFor } from './jobs.js';

/** A queue's limits as stored; null: no such limit. */
export interface QueueLimitRow {
  concurrency: number | null;
  rateCount: number | null;
  ratePeriodMs: number | null;
  burst: number | null;
  keyConcurrency: number | null;
}

/** Limits with their current use (read without the flow lock: a snapshot for operators). */
export interface QueueFlowRow extends QueueLimitRow {
  queue: string;
  /** Jobs of the queue RUNNING now. */
  running: number;
  /** Tokens in the bucket now (refilled to this instant), or null without a rate limit. */
  tokens: number | null;
  /** With a per-key limit: keys with jobs RUNNING now, and how many of them are at the limit (else null). */
  keysRunning: number | null;
  keysAtLimit: number | null;
}

/**
 * Writes a queue's limits (upsert; a field left undefined keeps its value, null clears it). A changed rate
 * or burst refills the bucket. Wakes the queue's workers (NOTIFY): their next claim reads the new limits.
 */
export async function queueLimitSet(
  exec: Executor,
  name: string,
  l: { [K in keyof QueueLimitRow]?: number | null },
): Promise<void> {
  const v = (x: number | null | undefined) => (x === undefined ? null : x);
  const keep = (col: string, x: number | null | undefined) =>
    x === undefined ? sql.ref(`q.${col}`) : sql`${x}::int`;
  const rateChanged = l.rateCount !== undefined || l.ratePeriodMs !== undefined || l.burst !== undefined;
  await sql`WITH up AS (
      INSERT INTO ${exec.t.queues} AS q (name, concurrency, rate_count, rate_period_ms, burst, key_concurrency)
      VALUES (${name}, ${v(l.concurrency)}::int, ${v(l.rateCount)}::int, ${v(l.ratePeriodMs)}::int,
        ${v(l.burst)}::int, ${v(l.keyConcurrency)}::int)
      ON CONFLICT (name) DO UPDATE SET
        concurrency = ${keep('concurrency', l.concurrency)}, rate_count = ${keep('rate_count', l.rateCount)},
        rate_period_ms = ${keep('rate_period_ms', l.ratePeriodMs)}, burst = ${keep('burst', l.burst)},
        key_concurrency = ${keep('key_concurrency', l.keyConcurrency)},
        tokens = CASE WHEN ${rateChanged} THEN NULL ELSE q.tokens END,
        tokens_at = CASE WHEN ${rateChanged} THEN NULL ELSE q.tokens_at END,
        updated_at = now()
      RETURNING name)
    SELECT pg_notify(${channelFor(exec)}, name) FROM up`.execute(exec.raw);
}

/**
 * The tokens in queue `alias`'s rate bucket now, refilled since tokens_at (null without a rate limit): as
 * queue_flow() (migrations/0004) refills it for the claim, for the views (jobq queues, explain).
 */
export function refilledTokens(alias: string): RawBuilder<number | null> {
  const q = sql.table(alias);
  return sql<number | null>`CASE WHEN ${q}.rate_count IS NOT NULL THEN least(${q}.burst::float8,
    coalesce(${q}.tokens, ${q}.burst::float8)
      + greatest(0, extract(epoch FROM clock_timestamp() - ${q}.tokens_at)::float8 * 1000)
        * ${q}.rate_count / ${q}.rate_period_ms) END`;
}

/** Every queue that has a limit, with its current use. */
export async function queueFlowList(exec: Executor, name?: string): Promise<QueueFlowRow[]> {
  const t = exec.t;
  const r = await sql<{
    queue: string;
    concurrency: number | null;
    rate_count: number | null;
    rate_period_ms: number | null;
    burst: number | null;
    key_concurrency: number | null;
    running: number;
    tokens: number | null;
    keys_running: number | null;
    keys_at_limit: number | null;
  }>`SELECT q.name AS queue, q.concurrency, q.rate_count, q.rate_period_ms, q.burst, q.key_concurrency,
      (SELECT count(*)::int FROM ${t.jobs} j WHERE j.queue = q.name AND j.status = 'RUNNING') AS running,
      ${refilledTokens('q')} AS tokens, ku.keys_running, ku.keys_at_limit
    FROM ${t.queues} q
    -- running jobs per key (jobs_running_idx), only for a queue with a per-key limit
    LEFT JOIN LATERAL (
      SELECT count(*)::int AS keys_running, (count(*) FILTER (WHERE k.n >= q.key_concurrency))::int AS keys_at_limit
      FROM (SELECT count(*) AS n FROM ${t.jobs} j
        WHERE j.queue = q.name AND j.status = 'RUNNING' AND j.key IS NOT NULL GROUP BY j.key) k
    ) ku ON q.key_concurrency IS NOT NULL
    WHERE (q.concurrency IS NOT NULL OR q.rate_count IS NOT NULL OR q.key_concurrency IS NOT NULL)
      AND (${name ?? null}::text IS NULL OR q.name = ${name ?? null})
    ORDER BY q.name`.execute(exec.raw);
  return r.rows.map((x) => ({
    queue: x.queue,
    concurrency: x.concurrency,
    rateCount: x.rate_count,
    ratePeriodMs: x.rate_period_ms,
    burst: x.burst,
    keyConcurrency: x.key_concurrency,
    running: x.running,
    tokens: x.tokens,
    keysRunning: x.keys_running,
    keysAtLimit: x.keys_at_limit,
  }));
}
