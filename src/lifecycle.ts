// Services with start()/stop(), and the one place that owns signals: SIGTERM/SIGINT stop services in
// reverse start order, then the process exits 0. A signal during start-up (say, while a daemon waits for
// the database) stops what has started, including the service still starting. A second signal forces exit.
import type { Logger } from './log.js';

export interface Service {
  name: string;
  start(): Promise<void>;
  /** Stops gracefully; must resolve even if start() failed part-way or is still running. */
  stop(): Promise<void>;
  /** Rejects when the running service gives up (e.g. a worker with too many runaway handlers). */
  readonly failure?: Promise<never> | undefined;
}

/** Starts services in order and stops them in reverse on SIGTERM/SIGINT; resolves when all stopped. */
export async function runUntilSignal(services: Service[], log: Logger): Promise<void> {
  const started: Service[] = [];
  let starting: Service | undefined;
  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      const toStop = starting ? [...started, starting] : [...started];
      for (const s of toStop.reverse()) {
        try {
          await s.stop();
          log.info({ service: s.name }, 'stopped');
        } catch (err) {
          log.error({ service: s.name, err }, 'stop failed');
        }
      }
    })();
    return stopping;
  };
  let signals = 0;
  let failure: Error | undefined;
  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
    const onSignal = (sig: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        log.warn({ signal: sig }, 'second signal: exiting now');
        process.exit(1);
      }
      log.info({ signal: sig }, 'shutting down');
      void stopAll().then(resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  // Run until a signal even if no service holds the event loop open (e.g. all waiting on a database).
  const keepAlive = setInterval(() => undefined, 1 << 30);
  void stopped.then(() => clearInterval(keepAlive));
  const isStopping = (): boolean => stopping !== undefined;
  try {
    for (const s of services) {
      if (isStopping()) break;
      starting = s;
      await Promise.race([s.start(), stopped]);
      if (isStopping()) break;
      started.push(s);
      starting = undefined;
      log.info({ service: s.name }, 'started');
      // A service that gives up stops the process like a signal, then its error is the exit status.
      s.failure?.catch((err: unknown) => {
        failure ??= err as Error;
        log.error({ service: s.name, err: (err as Error).message }, 'service failed; stopping');
        void stopAll().then(resolveStopped);
      });
    }
  } catch (err) {
    await stopAll();
    clearInterval(keepAlive);
    throw err;
  }
  await stopped;
  if (failure !== undefined) throw failure;
}
