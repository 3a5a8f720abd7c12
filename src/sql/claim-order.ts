// The claim's predicate and order, in one place: the claim statements (jobs-claim.ts) and `jobq explain`
// (explain.ts) build their SQL from these fragments, so "jobs ahead" is the claim's own order.
import { sql, type RawBuilder } from 'kysely';

/** `alias` is a ready job of `queue`: claimable now (PENDING or RETRY, run_after reached). */
export function claimReady(alias: string, queue: string): RawBuilder<boolean> {
  const a = sql.table(alias);
  return sql<boolean>`${a}.queue = ${queue} AND ${a}.status IN ('PENDING', 'RETRY') AND ${a}.run_after <= now()`;
}

/** `alias` has been ready for longer than the starvation bound. */
export function claimStarving(alias: string, starvationMs: number): RawBuilder<boolean> {
  return sql<boolean>`${sql.table(alias)}.run_after <= now() - make_interval(secs => ${starvationMs / 1000})`;
}

/**
 * Whether the claim order lifts jobs past the starvation bound ahead of every priority now: the queue's
 * oldest ready job has waited longer than the bound while higher-priority jobs are ready. Starvation is
 * about priority: a backlog of one priority that is older than the bound is not lifted over its own
 * priority, so fair shares between its keys hold however old it is. Two index probes (jobs_ready_age_idx
 * for the oldest, jobs_ready_idx for a higher priority); `jobs` is the jobs table.
 */
export function claimLifting(
  jobs: RawBuilder<unknown>,
  queue: string,
  starvationMs: number,
): RawBuilder<boolean> {
  return sql<boolean>`EXISTS (SELECT 1 FROM (
      SELECT o.priority, o.run_after FROM ${jobs} o WHERE ${claimReady('o', queue)} ORDER BY o.run_after LIMIT 1) o
    WHERE ${claimStarving('o', starvationMs)}
      AND EXISTS (SELECT 1 FROM ${jobs} h WHERE ${claimReady('h', queue)} AND h.priority > o.priority))`;
}

/** The claim order of ready jobs when none is lifted, as jobs_ready_idx holds it (for ORDER BY). */
export function claimIndexOrder(alias?: string): RawBuilder<unknown> {
  if (alias === undefined) return sql`priority DESC, fair_seq, run_after, id`;
  const a = sql.table(alias);
  return sql`${a}.priority DESC, ${a}.fair_seq, ${a}.run_after, ${a}.id`;
}

/**
 * The claim order of a ready job as one comparable row value (smaller is claimed first). While `lifting`
 * (claimLifting) holds, jobs past the starvation bound come first, oldest first; then, and otherwise
 * for every job, priority DESC, fair_seq (round-robin between keys, 0 for jobs without one), run_after,
 * id — the order of jobs_ready_idx. Used to number a claimed batch and to count the jobs ahead of one job.
 */
export function claimRank(
  alias: string,
  starvationMs: number,
  lifting: RawBuilder<boolean>,
): RawBuilder<unknown> {
  const a = sql.table(alias);
  const lifted = sql`(${lifting} AND ${claimStarving(alias, starvationMs)})`;
  return sql`ROW(CASE WHEN ${lifted} THEN 0 ELSE 1 END, CASE WHEN ${lifted} THEN 0 ELSE -${a}.priority END,
    CASE WHEN ${lifted} THEN 0 ELSE ${a}.fair_seq END, ${a}.run_after, ${a}.id)`;
}
