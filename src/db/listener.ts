// The one LISTEN client (worker wake-ups and cancels, scheduler wake-ups): a direct pg.Client that
// reconnects by itself. Notifications are only hints; callers keep a poll so they stay correct without them.
import pg from 'pg';
import { Backoff } from '../backoff.js';
import type { Logger } from '../log.js';

export interface ListenerOptions {
  url: string;
  channels: string[];
  log: Logger;
  onNotify: (channel: string, payload: string) => void;
  /** Called after every successful (re)connect. */
  onConnected: () => void;
  pingIntervalMs?: number;
  /** application_name of the connection (default jobq-worker-listen). */
  applicationName?: string;
  /** What the log lines call it (default "LISTEN connection"). */
  label?: string;
}

/**
 * One direct pg.Client (never a pooled one: PgBouncer in transaction mode drops notifications) listening
 * on the wake-up and cancel channels. It reconnects with backoff when the connection is lost, pings to
 * notice a silently dead socket, and tells the worker after each (re)connect so it can look for work it
 * may have missed.
 */
export class Listener {
  /** The client being connected or in use; events of any older client are ignored. */
  private current: pg.Client | undefined;
  private ready = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff();

  constructor(private readonly opts: ListenerOptions) {}

  /** Connects in the background; returns at once (a failure is retried, not thrown). */
  start(): void {
    void this.connect();
  }

  private get label(): string {
    return this.opts.label ?? 'LISTEN connection';
  }

  /** True while LISTEN is active. */
  get connected(): boolean {
    return this.ready;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: this.opts.url,
      application_name: this.opts.applicationName ?? 'jobq-worker-listen',
      keepAlive: true,
      connectionTimeoutMillis: 5000,
    });
    this.current = client;
    this.ready = false;
    client.on('error', (err) => this.drop(client, err));
    client.on('end', () => this.drop(client));
    client.on('notification', (n) => {
      if (this.current === client) this.opts.onNotify(n.channel, n.payload ?? '');
    });
    try {
      await client.connect();
      for (const ch of this.opts.channels) await client.query(`LISTEN ${client.escapeIdentifier(ch)}`);
    } catch (err) {
      this.drop(client, err);
      return;
    }
    // stop() clears `current`, so a client that connected after stop() is closed here.
    if (this.current !== client) {
      await client.end().catch(() => undefined);
      return;
    }
    this.ready = true;
    if (this.backoff.failing) this.opts.log.info(`${this.label} re-established`);
    this.backoff.reset();
    this.schedulePing(client);
    this.opts.onConnected();
  }

  /** Forgets a dead client and schedules a reconnect (once per client). */
  private drop(client: pg.Client, err?: unknown): void {
    if (this.current !== client) return;
    this.current = undefined;
    this.ready = false;
    clearTimeout(this.pingTimer);
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    if (this.stopped) return;
    const delay = this.backoff.next();
    this.opts.log.warn(
      { err: err instanceof Error ? err.message : undefined, retryInMs: delay },
      `${this.label} lost or unavailable, reconnecting in ${delay}ms (polling meanwhile)`,
    );
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
  }

  /** A query that does not answer within the interval means the socket is dead: reconnect. */
  private schedulePing(client: pg.Client): void {
    const every = this.opts.pingIntervalMs ?? 15_000;
    this.pingTimer = setTimeout(() => {
      if (this.current !== client) return;
      const deadline = setTimeout(() => this.drop(client, new Error('ping timed out')), every);
      client.query('SELECT 1').then(
        () => {
          clearTimeout(deadline);
          if (this.current === client) this.schedulePing(client);
        },
        (err: unknown) => {
          clearTimeout(deadline);
          this.drop(client, err);
        },
      );
    }, every);
  }

  /** Closes the connection and stops reconnecting. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.pingTimer);
    const c = this.current;
    this.current = undefined;
    this.ready = false;
    if (c) await c.end().catch(() => undefined);
  }
}
