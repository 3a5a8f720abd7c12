// Services with start()/stop(), and the one place that owns signals: SIGTERM/SIGINT stop services in
// reverse start order, then the process exits 0. A second signal forces exit.
import type { Logger } from './log.js';

export interface Service {
  name: string;
  start(): Promise<void>;
  /** Stops gracefully; must resolve even if start() failed part-way. */
  stop(): Promise<void>;
}

/** Starts services in order and stops them in reverse on SIGTERM/SIGINT; resolves when all stopped. */
export async function runUntilSignal(services: Service[], log: Logger): Promise<void> {
  const started: Service[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      for (const s of [...started].reverse()) {
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
  const done = new Promise<void>((resolve) => {
    let signals = 0;
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
  try {
    for (const s of services) {
      await s.start();
      started.push(s);
      log.info({ service: s.name }, 'started');
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  await done;
}
