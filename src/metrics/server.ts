// A minimal HTTP listener (node:http) for processes without the API: workers and the scheduler serve
// /metrics (their registry), /healthz (the process and its event loop answer) and /readyz (database
// reachable and migrated, worker registered) on JOBQ_METRICS_PORT. Everything else is 404.
// A port the user set and cannot have is a usage error (exit 2); the default port taken by another
// daemon on the same host is one warning, and this process serves none.
import http from 'node:http';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { UsageError } from '../errors.js';
import type { Service } from '../lifecycle.js';
import type { Logger } from '../log.js';

/** What /readyz reports; `ready: false` answers 503. */
export interface Readiness {
  ready: boolean;
  [detail: string]: unknown;
}

export interface MetricsServer extends Service {
  /** The bound port (after start; 0 when not serving). */
  port(): number;
  /** Where this process serves /metrics (http://host:port), or null when it serves none. */
  url(): string | null;
}

export interface MetricsServerOptions {
  port: number;
  host?: string;
  log: Logger;
  /** True when the port came from JOBQ_METRICS_PORT (taken → error); false for the default (taken → warning). */
  explicit?: boolean;
  /** The /readyz check (default: always ready). */
  readiness?: () => Promise<Readiness>;
}

const PATHS = '/metrics, /healthz and /readyz';

/** Creates the metrics/health server service; port 0 picks a free port (tests). */
export function createMetricsServer(registry: Registry, opts: MetricsServerOptions): MetricsServer {
  const send = (res: http.ServerResponse, status: number, body: unknown, head: boolean): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(head ? undefined : `${JSON.stringify(body)}\n`);
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: this port serves ${PATHS}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const head = req.method === 'HEAD';
    // answering at all shows the process and its event loop are alive
    if (path === '/healthz') return send(res, 200, { status: 'ok' }, head);
    if (path === '/readyz') {
      (opts.readiness ?? (() => Promise.resolve({ ready: true })))().then(
        (r) => send(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'unavailable', ...r }, head),
        (err: unknown) => {
          opts.log.error({ err }, 'readiness check failed');
          send(res, 503, { status: 'unavailable', ready: false, reason: 'readiness check failed' }, head);
        },
      );
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(head ? undefined : text);
      },
      (err: unknown) => {
        opts.log.error({ err }, 'metrics: collecting failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
      },
    );
  });
  server.keepAliveTimeout = 65_000;
  const bound = (): number => (server.listening ? (server.address() as AddressInfo).port : 0);
  return {
    name: 'metrics-server',
    port: bound,
    url: () => {
      if (!server.listening) return null;
      const host = opts.host && opts.host !== '0.0.0.0' && opts.host !== '::' ? opts.host : hostname();
      return `http://${host}:${bound()}`;
    },
    start: () =>
      new Promise<void>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException): void => {
          const why = err.code === 'EADDRINUSE' ? 'already in use on this host' : err.message;
          if (opts.explicit === false && err.code === 'EADDRINUSE') {
            opts.log.warn(
              { port: opts.port },
              `the default metrics port ${opts.port} is ${why} (another jobq daemon?): this process serves no ${PATHS}; ` +
                'set JOBQ_METRICS_PORT to a free port for each daemon on a host, or 0 for none',
            );
            resolve();
            return;
          }
          reject(
            new UsageError(
              `JOBQ_METRICS_PORT: cannot serve ${PATHS} on port ${opts.port}: ${why}; choose a free port, or 0 to serve none`,
            ),
          );
        };
        server.once('error', onError);
        server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
          server.off('error', onError);
          opts.log.info({ port: bound() }, `serving ${PATHS}`);
          resolve();
        });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
