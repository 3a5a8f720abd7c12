// A background loop: run a step, sleep for the delay it returns (interruptible by wake() and stop()),
// repeat. A failing step is logged and retried with capped exponential backoff; the loop never exits
// on its own, so a daemon survives a lost database connection.
import { isConnectionError, DatabaseUnavailableError } from '../errors.js';
import type { Logger } from '../log.js';

export interface Loop {
  /** Cuts the current (or next) sleep short. */
  wake(): void;
  /** Stops after the current step; resolves when it has finished. */
  stop(): Promise<void>;
}

export interface LoopOptions {
  name: string;
  log: Logger;
  /** One iteration; returns how long to sleep before the next, in milliseconds. */
  step: () => Promise<number>;
  maxBackoffMs?: number;
}

/** True when an error means the database is unreachable (not a bug to report with a stack). */
export function isUnavailable(err: unknown): boolean {
  return err instanceof DatabaseUnavailableError || isConnectionError(err);
}

/** Starts a loop at once. */
export function startLoop(opts: LoopOptions): Loop {
  let stopped = false;
  let woken = false;
  let interrupt: (() => void) | null = null;
  let failures = 0;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (woken || stopped) {
        woken = false;
        resolve();
        return;
      }
      const done = (): void => {
        clearTimeout(timer);
        interrupt = null;
        woken = false;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      interrupt = done;
    });

  const running = (async () => {
    while (!stopped) {
      let delay: number;
      try {
        delay = await opts.step();
        if (failures > 0)
          opts.log.info({ loop: opts.name, failures }, `${opts.name}: database reachable again, resuming`);
        failures = 0;
      } catch (err) {
        failures++;
        delay = Math.min(250 * 2 ** Math.min(failures - 1, 10), opts.maxBackoffMs ?? 10_000);
        if (isUnavailable(err)) {
          opts.log.warn(
            { loop: opts.name, attempt: failures, retryInMs: delay, err: (err as Error).message },
            `${opts.name}: database unreachable, retrying`,
          );
        } else {
          opts.log.error(
            { loop: opts.name, attempt: failures, retryInMs: delay, err },
            `${opts.name} failed`,
          );
        }
      }
      await sleep(delay); // returns at once when stopped
    }
  })();

  return {
    wake() {
      woken = true;
      interrupt?.();
    },
    async stop() {
      stopped = true;
      interrupt?.();
      await running;
    },
  };
}
