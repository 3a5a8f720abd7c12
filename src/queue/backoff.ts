// Retry backoff: exponential with full jitter, capped. delay = random(0, min(cap, base * 2^(attempt-1))).

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/** The delay before the attempt after `attempt` (1-based) failed. `random` is injectable for tests. */
export function backoffDelayMs(
  attempt: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 52));
  return Math.floor(random() * exp);
}
