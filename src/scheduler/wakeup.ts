// LISTEN for schedule changes on a dedicated direct connection (never a pooled one: LISTEN is session
// state). Reconnects with backoff when the connection drops; callers keep a bounded sleep as fallback.
import pg from 'pg';
import type { Logger } from '../log.js';

export interface Wakeup {
  start(): void;
  stop(): Promise<void>;
}

export interface WakeupOptions {
  url: string;
  channel: string;
  log: Logger;
  /** Called on every notification, and after (re)connecting (changes may have been missed meanwhile). */
  onWake: () => void;
  applicationName?: string;
}

/** A self-healing LISTEN connection. start() returns at once; connecting happens in the background. */
export function createWakeup(opts: WakeupOptions): Wakeup {
  let stopped = false;
  let client: pg.Client | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  let failures = 0;
  const isStopped = (): boolean => stopped;

  const scheduleReconnect = (): void => {
    if (stopped || retryTimer) return;
    const delay = Math.min(500 * 2 ** Math.min(failures, 5), 10_000);
    failures++;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void connectOnce();
    }, delay);
  };

  const connectOnce = async (): Promise<void> => {
    if (stopped) return;
    const c = new pg.Client({
      connectionString: opts.url,
      application_name: opts.applicationName ?? 'jobq-scheduler-listen',
      keepAlive: true,
      connectionTimeoutMillis: 5000,
    });
    let lost = false;
    const onLost = (err?: Error): void => {
      if (lost) return;
      lost = true;
      if (client === c) client = null;
      if (!stopped) {
        opts.log.warn({ err: err?.message }, 'schedule LISTEN connection lost; polling until it is back');
        scheduleReconnect();
      }
      c.end().catch(() => undefined);
    };
    c.on('error', onLost);
    c.on('end', () => onLost());
    c.on('notification', () => opts.onWake());
    try {
      await c.connect();
      await c.query(`LISTEN ${c.escapeIdentifier(opts.channel)}`);
    } catch (err) {
      onLost(err as Error);
      return;
    }
    // stop() may have run while we were connecting (the closure sees its update).
    if (isStopped()) {
      await c.end().catch(() => undefined);
      return;
    }
    client = c;
    if (failures > 0) opts.log.info('schedule LISTEN connection restored');
    failures = 0;
    opts.onWake();
  };

  return {
    start() {
      void connectOnce();
    },
    async stop() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      const c = client;
      client = null;
      await c?.end().catch(() => undefined);
    },
  };
}
