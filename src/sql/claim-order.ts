// The claim's predicate and order, in one place: the claim statement (jobs.ts, queue-limits.ts) and
// `jobq explain` (explain.ts) build their SQL from these fragments, so "jobs ahead" is the claim's own order.
import { sql, type RawBuilder } from 'kysely';

/** `alias` is a ready job of `queue`: claimable now (PENDING or RETRY, run_after reached). */
export function claimReady(alias: string, queue: string): RawBuilder<boolean> {
  const a = sql.table(alias);
  return sql<boolean>`${a}.queue = ${queue} AND ${a}.status IN ('PENDING', 'RETRY') AND ${a}.run_after <= now()`;
}

/** `alias` has been ready for longer than the starvation bound: it is claimed ahead of any priority. */
export function claimStarving(alias: string, starvationMs: number): RawBuilder<boolean> {
  return sql<boolean>`${sql.table(alias)}.run_after <= now() - make_interval(secs => ${starvationMs / 1000})`;
}

/** The claim order of ready jobs that are not starving, as jobs_ready_idx holds it (for ORDER BY). */
export function claimIndexOrder(alias?: string): RawBuilder<unknown> {
  if (alias === undefined) return sql`priority DESC, fair_seq, run_after, id`;
  const a = sql.table(alias);
  return sql`${a}.priority DESC, ${a}.fair_seq, ${a}.run_after, ${a}.id`;
}

/**
 * The claim order of a ready job as one comparable row value (smaller is claimed first): jobs past the
 * starvation bound first, oldest first; then priority DESC, fair_seq (round-robin between keys, 0 for
 * jobs without one), run_after, id — the order of jobs_ready_idx. Used to number a claimed batch and to
 * count the jobs ahead of one job.
 */
export function claimRank(alias: string, starvationMs: number): RawBuilder<unknown> {
  const a = sql.table(alias);
  const starving = claimStarving(alias, starvationMs);
  return sql`ROW(CASE WHEN ${starving} THEN 0 ELSE 1 END, CASE WHEN ${starving} THEN 0 ELSE -${a}.priority END,
    CASE WHEN ${starving} THEN 0 ELSE ${a}.fair_seq END, ${a}.run_after, ${a}.id)`;
}
