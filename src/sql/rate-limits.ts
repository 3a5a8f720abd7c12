// Statements on the rate_limits table: the API's per-client token buckets, shared by every API replica.
// Time comes from the database clock, so replicas with skewed clocks still agree.
import { sql } from 'kysely';
import type { Executor } from '../db/connect.js';

export interface BucketParams {
  client: string;
  /** Tokens added per second. */
  ratePerSec: number;
  /** Bucket size: the most requests a rested client may make at once. */
  burst: number;
}

/**
 * Takes one token from a client's bucket in one round trip; returns the tokens left, or null when the
 * bucket had less than one token (nothing is changed then, so refill keeps accruing from the last take).
 *
 * A new client starts with a full bucket. An existing one is refilled by rate × seconds since
 * updated_at (capped at burst) and charged one token, all under the row lock that ON CONFLICT DO UPDATE
 * takes on the primary key, so concurrent requests from any number of replicas serialise on the row and
 * each sees the previous one's result. A transaction whose now() is older than the stored updated_at
 * (it started before a concurrent taker committed) gets no refill and never moves updated_at back, so no
 * interval is counted twice: admitted requests ≤ burst + rate × elapsed.
 */
export async function rateLimitTake(exec: Executor, p: BucketParams): Promise<number | null> {
  const t = exec.t;
  const refilled = sql`least(${p.burst}::float8,
    b.tokens + greatest(0, extract(epoch FROM now() - b.updated_at)::float8) * ${p.ratePerSec}::float8)`;
  const r = await sql<{ tokens: number }>`INSERT INTO ${t.rate_limits} AS b (client, tokens, updated_at)
    VALUES (${p.client}, ${p.burst}::float8 - 1, now())
    ON CONFLICT (client) DO UPDATE SET tokens = ${refilled} - 1, updated_at = greatest(b.updated_at, now())
      WHERE ${refilled} >= 1
    RETURNING tokens`.execute(exec.raw);
  return r.rows[0]?.tokens ?? null;
}

/** Deletes buckets untouched for longer than the bound (they would be full again anyway); returns how many. */
export async function rateLimitDeleteIdle(exec: Executor, idleForMs: number): Promise<number> {
  const r = await sql`DELETE FROM ${exec.t.rate_limits}
    WHERE updated_at < now() - make_interval(secs => ${idleForMs / 1000})`.execute(exec.raw);
  return Number(r.numAffectedRows ?? 0);
}
