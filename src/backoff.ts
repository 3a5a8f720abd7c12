// The one backoff: capped exponential delays with jitter, for job retries (full jitter, per attempt) and
// for waiting out a database outage (Backoff: a per-loop counter, jittered so processes do not retry in step).

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/**
 * The delay after the `attempt`-th (1-based) failure: min(maxMs, baseMs * 2^(attempt-1)), jittered.
 * 'full' jitter draws from [0, cap) (job retries: spreads a burst of failures over the whole window);
 * 'equal' draws from [cap/2, cap) (outage retries: never hammers, never waits much longer than cap).
 */
export function backoffDelayMs(
  attempt: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
  jitter: 'full' | 'equal' = 'full',
): number {
  const cap = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 52));
  return Math.floor(jitter === 'full' ? random() * cap : cap / 2 + (random() * cap) / 2);
}

/** Retries of one loop while the database is unavailable: 250 ms doubling to 5 s by default, jittered. */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly opts: BackoffOptions = { baseMs: 250, maxMs: 5000 },
    private readonly random: () => number = Math.random,
  ) {}

  /** The next delay; grows with each call until reset(). */
  next(): number {
    this.failures++;
    return backoffDelayMs(this.failures, this.opts, this.random, 'equal');
  }

  reset(): void {
    this.failures = 0;
  }

  /** True after a failure not yet followed by reset(). */
  get failing(): boolean {
    return this.failures > 0;
  }
}

/** Job retry backoff when nothing else is configured (JOBQ_BACKOFF_BASE_MS / JOBQ_BACKOFF_MAX_MS). */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 3_600_000 };
