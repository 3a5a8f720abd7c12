// Per-client rate limiting (token buckets kept in PostgreSQL, shared by every API replica).
import type { Executor } from '../db/connect.js';
import { ValidationError } from '../errors.js';
import { rateLimitDeleteIdle, rateLimitTake } from '../sql/rate-limits.js';

export interface RateLimit {
  /** Tokens added per second (> 0). */
  ratePerSec: number;
  /** Bucket size (≥ 1). */
  burst: number;
}

export type RateDecision =
  | { allowed: true; remaining: number }
  | {
      allowed: false;
      /** Whole seconds until a token is certainly available (≥ 1). */ retryAfterSeconds: number;
    };

/** Takes one token from `client`'s bucket (one statement); says whether the request may proceed. */
export async function takeRateLimitToken(
  exec: Executor,
  client: string,
  limit: RateLimit,
): Promise<RateDecision> {
  if (!(limit.ratePerSec > 0)) throw new ValidationError('ratePerSec', 'a number above 0');
  if (!(limit.burst >= 1)) throw new ValidationError('burst', 'a number of at least 1');
  const left = await rateLimitTake(exec, { client, ratePerSec: limit.ratePerSec, burst: limit.burst });
  if (left !== null) return { allowed: true, remaining: Math.floor(left) };
  // A refused take left the bucket holding less than one token: one token's refill time is an upper bound.
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(1 / limit.ratePerSec)) };
}

/**
 * Deletes buckets idle long enough to be full again (a deleted bucket restarts full, so nothing
 * changes for its client); returns how many. Without a known limit, only the minimum idle time applies.
 */
export async function pruneRateLimits(
  exec: Executor,
  limit: RateLimit | undefined,
  minIdleMs = 3_600_000,
): Promise<number> {
  const fullAfterMs = limit ? Math.ceil((limit.burst / limit.ratePerSec) * 1000) : 0;
  return await rateLimitDeleteIdle(exec, Math.max(minIdleMs, fullAfterMs));
}
