// The claim statements: one for queues without limits (no lock, nothing counted) and one for queues with
// flow limits (concurrency, rate, per-key concurrency), which counts under the queue's flow lock. Both
// take their predicate and order from claim-order.ts and return jobs in claim order.
import { sql, type RawBuilder } from 'kysely';
import type { Executor } from '../db/connect.js';
import type { ClaimedJob } from './job-rows.js';
import { claimIndexOrder, claimLifting, claimRank, claimReady, claimStarving } from './claim-order.js';

export interface ClaimParams {
  queue: string;
  workerId: string;
  limit: number;
  leaseMs: number;
  /** A job ready for longer than this is claimed ahead of higher priorities. */
  starvationMs: number;
  /**
   * The claiming worker's retry policy per job type, as JSON {"type": {"a": maxAttempts?, "b": baseMs,
   * "m": maxMs}}, recorded on each claimed row so a reclaim anywhere decides as a failure would.
   */
  retry?: string | null;
}

/** Which limit stopped a claim short while ready jobs were left. */
export type ThrottleReason = 'concurrency' | 'rate' | 'key_concurrency';

export interface ClaimOutcome {
  jobs: ClaimedJob[];
  /** The queue has flow limits: claim it with jobClaimLimited. */
  limited: boolean;
  /** Set when a limit held back ready jobs. */
  throttled: ThrottleReason | null;
  /** For a rate limit: milliseconds until the bucket holds a token again. */
  retryMs: number | null;
}

interface Row {
  id: string | null;
  type: string;
  payload: unknown;
  queue: string;
  priority: number;
  attempts: number;
  max_attempts: number;
  run_after: Date;
  created_at: Date;
  key: string | null;
  ord: number | null;
  limited: boolean | null;
  throttled: ThrottleReason | null;
  retry_ms: number | null;
}

function outcome(rows: Row[]): ClaimOutcome {
  const jobs: ClaimedJob[] = [];
  let meta: Row | undefined;
  for (const row of rows) {
    if (row.id === null) {
      meta = row;
      continue;
    }
    jobs.push({
      id: row.id,
      type: row.type,
      payload: row.payload,
      queue: row.queue,
      priority: row.priority,
      attempt: row.attempts,
      maxAttempts: row.max_attempts,
      runAfter: row.run_after,
      createdAt: row.created_at,
      key: row.key,
    });
  }
  return {
    jobs,
    limited: meta?.limited === true,
    throttled: meta?.throttled ?? null,
    retryMs: meta?.retry_ms === null || meta?.retry_ms === undefined ? null : Math.ceil(meta.retry_ms),
  };
}

/** The job columns every claim returns, numbered by `picked.ord`. */
function claimUpdate(exec: Executor, p: ClaimParams): RawBuilder<unknown> {
  return sql`UPDATE ${exec.t.jobs} j SET
        status = 'RUNNING', attempts = j.attempts + 1, locked_by = ${p.workerId}, locked_at = now(),
        lease_expires_at = now() + make_interval(secs => ${p.leaseMs / 1000}), started_at = now(), updated_at = now(),
        max_attempts = coalesce((policy.p -> j.type ->> 'a')::int, j.max_attempts),
        backoff_base_ms = coalesce((policy.p -> j.type ->> 'b')::int, j.backoff_base_ms),
        backoff_max_ms = coalesce((policy.p -> j.type ->> 'm')::int, j.backoff_max_ms)
      -- the worker's retry policy by type, parsed once per claim (not once per row and column)
      FROM picked, async_commit, (SELECT ${p.retry ?? null}::jsonb AS p) policy
      -- id = ANY(the picked ids) lets the planner find the rows by primary key: with the join alone it
      -- hashed a sequential scan of every job (13–26 ms per claim of 500 on a 50,000-job table; the drain
      -- benchmark fell from 0.86× to 0.56× of its ceiling)
      WHERE j.id = picked.id AND j.id = ANY (ARRAY(SELECT id FROM picked))
      RETURNING j.id, j.type, j.payload, j.queue, j.priority, j.attempts, j.max_attempts, j.run_after,
        j.created_at, j.key, picked.ord`;
}

/**
 * Claims up to `limit` ready jobs of a queue without flow limits, in one statement, and returns them in
 * claim order (claim-order.ts: the only place the order is defined): while the queue's oldest ready job
 * is past the starvation bound and higher-priority jobs are ready (claimLifting), jobs past the bound
 * first (oldest first, via jobs_ready_age_idx); then priority DESC, fair_seq, run_after, id
 * (jobs_ready_idx, read in index order). FOR UPDATE SKIP LOCKED makes concurrent claimers take
 * disjoint rows. Nothing is claimed from a paused queue, nor from a queue that has limits: it answers
 * `limited` instead (one extra row), so a worker whose idea of the limits is stale never bypasses them.
 *
 * The claim commits without waiting for its WAL flush (synchronous_commit off for this transaction only;
 * a per-statement setting, so it holds through PgBouncer too). Safe: if PostgreSQL crashes before the
 * flush, the claim is lost and the job is simply claimed again — at-least-once, as always — and any later
 * completion (a durable commit) flushes the claim with it. It takes the flush's tail (p99 1.5–1.9 ms
 * here) off enqueue-to-start latency.
 */
export async function jobClaim(exec: Executor, p: ClaimParams): Promise<ClaimOutcome> {
  const t = exec.t;
  const lifting = sql<boolean>`(SELECT lifting FROM lift)`;
  const r = await sql<Row>`WITH qs AS (
      SELECT paused, (concurrency IS NOT NULL OR rate_count IS NOT NULL OR key_concurrency IS NOT NULL) AS limited
      FROM ${t.queues} WHERE name = ${p.queue}
    ), active AS (
      SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM qs WHERE paused OR limited)
    ), lift AS (
      SELECT ${claimLifting(t.jobs, p.queue, p.starvationMs)} AS lifting
    ), starving AS (
      SELECT id, priority, fair_seq, run_after FROM ${t.jobs} s
      WHERE ${claimReady('s', p.queue)} AND ${claimStarving('s', p.starvationMs)}
        AND EXISTS (SELECT 1 FROM active) AND ${lifting}
      ORDER BY run_after LIMIT ${p.limit}
      FOR UPDATE SKIP LOCKED
    ), normal AS (
      SELECT id, priority, fair_seq, run_after FROM ${t.jobs} n
      WHERE ${claimReady('n', p.queue)} AND EXISTS (SELECT 1 FROM active)
      ORDER BY ${claimIndexOrder()}
      -- only what the starving jobs left: a backlog older than the bound must not lock two batches
      LIMIT greatest(0, ${p.limit} - (SELECT count(*) FROM starving))
      FOR UPDATE SKIP LOCKED
    ), picked AS (
      -- the claim order, numbered: UPDATE … RETURNING keeps no order of its own. The constant LIMIT (the
      -- union holds at most that many) gives the planner the row count: without it, it guessed 10 % of the
      -- table and joined the UPDATE by hashing a sequential scan of every job.
      SELECT id, row_number() OVER (ORDER BY ${claimRank('c', p.starvationMs, lifting)}) AS ord FROM (
        SELECT * FROM starving UNION SELECT * FROM normal) c
      LIMIT ${p.limit}
    ), async_commit AS (
      SELECT set_config('synchronous_commit', 'off', true)
    ), claimed AS (${claimUpdate(exec, p)})
    SELECT *, NULL::boolean AS limited, NULL::text AS throttled, NULL::float8 AS retry_ms FROM claimed
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, true, NULL, NULL
    FROM qs WHERE limited AND NOT paused
    ORDER BY ord NULLS LAST`.execute(exec.raw);
  return outcome(r.rows);
}

/**
 * Claims from a queue with flow limits. First, queue_flow() (migrations/0004) takes the queue's flow lock
 * and reads, in a fresh snapshot, the limits, the jobs running in the queue (and per key when there is a
 * per-key limit; jobs_running_idx) and the refilled token bucket. Then at most
 * min(limit, concurrency − running, ⌊tokens⌋) jobs are taken in claim order, skipping a key's jobs beyond
 * its per-key room, and the bucket is charged for what was taken. Claims of one limited queue therefore
 * run one at a time; completions never wait (they only lower the counts), and queues without limits
 * never take this path.
 *
 * Per-key limits look at a window of candidates (4 × the room + 64) rather than every ready job: with
 * fair tags the keys interleave at the head, so a key at its limit hides few others' jobs.
 * The extra row says whether a limit held back ready jobs, and for the rate limit when a token returns.
 */
export async function jobClaimLimited(exec: Executor, p: ClaimParams): Promise<ClaimOutcome> {
  const t = exec.t;
  const lifting = sql<boolean>`(SELECT lifting FROM lift)`;
  const flow = sql`${sql.id(exec.schema, 'queue_flow')}(${p.queue})`;
  const r = await sql<Row>`WITH f AS MATERIALIZED (
      SELECT x.* FROM (SELECT 1) one LEFT JOIN ${flow} x ON true
    ), allow AS (
      SELECT CASE WHEN f.paused THEN 0 ELSE least(${p.limit}::int, coalesce(f.concurrency - f.running, ${p.limit}),
          coalesce(floor(f.tokens)::int, ${p.limit})) END AS n,
        f.key_concurrency IS NOT NULL AS per_key
      FROM f
    ), scan AS (
      SELECT greatest(0, CASE WHEN per_key THEN n * 4 + 64 ELSE n END) AS w FROM allow
    ), lift AS (
      SELECT ${claimLifting(t.jobs, p.queue, p.starvationMs)} AS lifting
    ), starving AS (
      SELECT id, priority, fair_seq, run_after, key FROM ${t.jobs} s
      WHERE ${claimReady('s', p.queue)} AND ${claimStarving('s', p.starvationMs)} AND ${lifting}
      ORDER BY run_after LIMIT (SELECT w FROM scan)
      FOR UPDATE SKIP LOCKED
    ), normal AS (
      SELECT id, priority, fair_seq, run_after, key FROM ${t.jobs} n
      WHERE ${claimReady('n', p.queue)}
      ORDER BY ${claimIndexOrder()}
      LIMIT greatest(0, (SELECT w FROM scan) - (SELECT count(*) FROM starving))
      FOR UPDATE SKIP LOCKED
    ), cand AS (
      SELECT c.id, c.key, ${claimRank('c', p.starvationMs, lifting)} AS r
      FROM (SELECT * FROM starving UNION SELECT * FROM normal) c
    ), keyed AS (
      -- each keyed candidate's place among its key's, only with a per-key limit: without one, this
      -- second sort of the batch made a limited claim of 500 cost 1.4× a plain one
      SELECT k.id, row_number() OVER (PARTITION BY k.key ORDER BY k.r) AS krank
      FROM cand k WHERE k.key IS NOT NULL AND (SELECT per_key FROM allow)
    ), picked AS (
      SELECT c.id, row_number() OVER (ORDER BY c.r) AS ord FROM cand c CROSS JOIN f LEFT JOIN keyed k ON k.id = c.id
      WHERE f.key_concurrency IS NULL OR c.key IS NULL
        OR coalesce((f.key_running ->> c.key)::int, 0) + k.krank <= f.key_concurrency
      ORDER BY c.r LIMIT (SELECT n FROM allow)
    ), async_commit AS (
      SELECT set_config('synchronous_commit', 'off', true)
    ), claimed AS (${claimUpdate(exec, p)}
    ), bucket AS (
      UPDATE ${t.queues} b SET tokens = f.tokens - (SELECT count(*) FROM claimed), tokens_at = f.at
      FROM f WHERE b.name = ${p.queue} AND f.rate_count IS NOT NULL
      RETURNING b.tokens
    ), m AS (
      SELECT f.*, (SELECT count(*)::int FROM claimed) AS got,
        (f.concurrency IS NOT NULL OR f.rate_count IS NOT NULL OR f.key_concurrency IS NOT NULL) AS limited
      FROM f
    )
    SELECT *, NULL::boolean AS limited, NULL::text AS throttled, NULL::float8 AS retry_ms FROM claimed
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, coalesce(m.limited, false),
      CASE
        WHEN m.got >= ${p.limit} OR m.paused IS NOT FALSE THEN NULL
        -- a ready job beyond what was taken: read in index order, at most limit + 1 entries
        WHEN NOT EXISTS (SELECT 1 FROM (SELECT x.id FROM ${t.jobs} x WHERE ${claimReady('x', p.queue)}
            ORDER BY ${claimIndexOrder('x')} LIMIT ${p.limit + 1}) h
          WHERE h.id NOT IN (SELECT id FROM picked)) THEN NULL
        WHEN m.concurrency IS NOT NULL AND m.running + m.got >= m.concurrency THEN 'concurrency'
        WHEN m.rate_count IS NOT NULL AND m.tokens - m.got < 1 THEN 'rate'
        WHEN m.key_concurrency IS NOT NULL THEN 'key_concurrency'
      END,
      CASE WHEN m.rate_count IS NOT NULL
        THEN greatest(0, 1 - (m.tokens - m.got)) * m.rate_period_ms / m.rate_count END
    FROM m
    ORDER BY ord NULLS LAST`.execute(exec.raw);
  return outcome(r.rows);
}
