// Fair-share tags for keyed jobs (the job_keys table, migrations/0004). A key's jobs get consecutive
// tags starting at the queue's head (the lowest tag still queued at that priority), or right after the
// key's own last tag while that job is still queued; claims order by tag within a priority, so keys take
// turns — round-robin — however deep one key's backlog is. Costs one statement per enqueue of keyed
// jobs; jobs without a key never come here.
import { sql } from 'kysely';
import type { Executor } from '../db/connect.js';

export interface KeyGroup {
  queue: string;
  key: string;
  priority: number;
  /** How many tags to reserve. */
  n: number;
}

/**
 * Reserves `n` consecutive tags per (queue, key); returns the first tag of each group, in input order.
 * The head probe and the "is the key's last job still queued" probe read jobs_ready_idx (queue,
 * priority, fair_seq) by equality, never the key's backlog. Concurrent reservations of one key
 * serialise on its job_keys row and get disjoint ranges.
 */
export async function jobKeysReserve(exec: Executor, groups: KeyGroup[]): Promise<number[]> {
  if (groups.length === 0) return [];
  const t = exec.t;
  const ready = sql`status IN ('PENDING', 'RETRY')`;
  const r = await sql<{ ord: number; first: string }>`WITH w AS (
      SELECT * FROM unnest(${groups.map((g) => g.queue)}::text[], ${groups.map((g) => g.key)}::text[],
        ${groups.map((g) => g.priority)}::int[], ${groups.map((g) => g.n)}::int[])
        WITH ORDINALITY AS w(queue, key, priority, n, ord)
    ), h AS (
      SELECT w.*, k.last_seq AS seen,
        coalesce((SELECT j.fair_seq FROM ${t.jobs} j WHERE j.queue = w.queue AND j.priority = w.priority
          AND ${ready} AND j.fair_seq > 0 ORDER BY j.fair_seq LIMIT 1), 1) AS head,
        EXISTS (SELECT 1 FROM ${t.jobs} j WHERE j.queue = w.queue AND j.priority = w.priority
          AND ${ready} AND j.fair_seq = k.last_seq) AS backlogged
      FROM w LEFT JOIN ${t.job_keys} k ON k.queue = w.queue AND k.key = w.key
    ), ins AS (
      INSERT INTO ${t.job_keys} AS k (queue, key, last_seq, last_n, seen_seq)
      SELECT queue, key,
        CASE WHEN backlogged THEN greatest(seen, head - 1) ELSE head - 1 END + n, n, seen FROM h
      ON CONFLICT (queue, key) DO UPDATE SET
        -- our read is still the latest: use the base computed from it (which may restart an idle key at
        -- the head); otherwise a concurrent reservation came first: continue after it
        last_seq = CASE WHEN k.last_seq IS NOT DISTINCT FROM excluded.seen_seq
          THEN excluded.last_seq ELSE greatest(k.last_seq, excluded.last_seq - excluded.last_n) + excluded.last_n END,
        last_n = excluded.last_n, seen_seq = excluded.seen_seq, updated_at = now()
      RETURNING k.queue, k.key, k.last_seq, k.last_n)
    SELECT h.ord, (ins.last_seq - ins.last_n + 1)::text AS first
    FROM h JOIN ins ON ins.queue = h.queue AND ins.key = h.key ORDER BY h.ord`.execute(exec.raw);
  return r.rows.map((x) => Number(x.first));
}
