// The one background-loop helper of every daemon (worker heartbeat, reaper and poll; scheduler fire and
// maintenance loops), and DbHealth, which logs a database outage and its end once per loop. A failing step
// is retried with the shared Backoff; a loop never exits because PostgreSQL went away.
import { Backoff } from './backoff.js';
import { classifyDbError } from './errors.js';
import type { Logger } from './log.js';

/** Logs failed database calls of one loop: an outage as a warning per retry, its end once. */
export class DbHealth {
  private down = false;

  constructor(
    private readonly log: Logger,
    /** Prefix of the messages ("scheduler: …"); none for the worker's own loops. */
    private readonly name = '',
  ) {}

  /** Logs a failed database call of `what` and the delay before it is retried. */
  failed(what: string, err: unknown, retryInMs: number): void {
    const p = this.name ? `${this.name}: ` : '';
    const kind = classifyDbError(err);
    if (kind === 'unavailable' || kind === 'timeout') {
      // Unavailable is an outage (its end is logged once); a lock or statement timeout is a busy server.
      if (kind === 'unavailable') this.down = true;
      const message = err instanceof Error ? err.message : String(err);
      const state = kind === 'unavailable' ? 'unavailable' : 'busy (lock or statement timeout)';
      this.log.warn({ what, err: message, retryInMs }, `${p}database ${state}, retrying in ${retryInMs}ms`);
    } else {
      this.log.error({ what, err, retryInMs }, `${p}${what} failed, retrying in ${retryInMs}ms`);
    }
  }

  /** Call after any successful database call: logs the recovery once. */
  ok(): void {
    if (this.down) {
      this.down = false;
      this.log.info(`${this.name ? `${this.name}: ` : ''}database reachable again, resuming`);
    }
  }
}

export interface LoopOptions {
  name: string;
  /** One iteration; resolves to the delay before the next, in milliseconds. */
  step: () => Promise<number>;
  /**
   * Logs failures and recoveries (a shared one, or one per loop). Omit it for a step that makes no
   * database call and cannot fail (the poll): its success says nothing about the database, and reporting
   * it would log "database reachable again" in the middle of an outage.
   */
  health?: DbHealth;
  /** Delay before the first step (default 0). */
  firstDelayMs?: number;
  /** Longest retry delay after failures (default 5 s). */
  maxBackoffMs?: number;
}

export interface Loop {
  /** Cuts the current sleep short (the step runs now). */
  wake(): void;
  /** Stops after the current step; resolves when it has finished. */
  stop(): Promise<void>;
}

/** Starts a loop: step, sleep for the delay it returned (or the backoff after a failure), repeat. */
export function startLoop(o: LoopOptions): Loop {
  const backoff = new Backoff({ baseMs: 250, maxMs: o.maxBackoffMs ?? 5000 });
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;
  let woken = false;
  // (read through a function: TypeScript would narrow the flag across the await in tick)
  const wokenDuringStep = (): boolean => woken;

  const tick = async (): Promise<void> => {
    timer = undefined;
    woken = false;
    let delay: number;
    try {
      delay = await o.step();
      backoff.reset();
      o.health?.ok();
    } catch (err) {
      delay = backoff.next();
      o.health?.failed(o.name, err, delay);
    }
    schedule(wokenDuringStep() ? 0 : delay);
  };
  const schedule = (ms: number): void => {
    if (stopped) return;
    timer = setTimeout(
      () => {
        current = tick();
      },
      Math.max(0, ms),
    );
  };
  schedule(o.firstDelayMs ?? 0);

  return {
    wake() {
      if (stopped) return;
      woken = true;
      if (!timer) return; // a step is running: it goes again as soon as it ends
      clearTimeout(timer);
      timer = undefined;
      current = tick();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
