// How the worker's loops live through database outages: capped, jittered backoff per loop, one log line
// per failure ("database unavailable, retrying in Xms" for lost connections), and one line when the
// database answers again. No loop ever exits because PostgreSQL went away.
import { isConnectionError } from '../errors.js';
import type { Logger } from '../log.js';

/** Capped exponential backoff with jitter (250 ms doubling to 5 s by default). */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly minMs = 250,
    private readonly maxMs = 5000,
  ) {}

  /** The next delay; grows with each call until reset(). */
  next(): number {
    const base = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.attempt, 16));
    this.attempt++;
    return Math.round(base * (0.75 + Math.random() * 0.5));
  }

  reset(): void {
    this.attempt = 0;
  }

  get failing(): boolean {
    return this.attempt > 0;
  }
}

/** Tracks whether the database is reachable, so an outage and its end are each logged once per loop. */
export class DbHealth {
  private down = false;

  constructor(private readonly log: Logger) {}

  /** Logs a failed database call of `what` and the delay before the loop retries. */
  failed(what: string, err: unknown, retryInMs: number): void {
    const message = err instanceof Error ? err.message : String(err);
    if (isConnectionError(err)) {
      this.down = true;
      this.log.warn({ what, err: message, retryInMs }, `database unavailable, retrying in ${retryInMs}ms`);
    } else {
      this.log.error({ what, err }, `${what} failed, retrying in ${retryInMs}ms`);
    }
  }

  /** Call after any successful database call: logs the recovery once. */
  ok(): void {
    if (this.down) {
      this.down = false;
      this.log.info('database reachable again; resuming');
    }
  }
}
