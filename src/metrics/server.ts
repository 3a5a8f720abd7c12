// A minimal /metrics HTTP server (node:http) for processes without the API: workers and the scheduler
// serve their registry on JOBQ_METRICS_PORT. Only GET/HEAD /metrics; everything else is 404.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Service } from '../lifecycle.js';
import type { Logger } from '../log.js';

export interface MetricsServer extends Service {
  /** The bound port (after start). */
  port(): number;
}

/** Creates the metrics server service; port 0 picks a free port (tests). */
export function createMetricsServer(
  registry: Registry,
  opts: { port: number; host?: string; log: Logger },
): MetricsServer {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        opts.log.error({ err }, 'metrics: collecting failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
      },
    );
  });
  server.keepAliveTimeout = 65_000;
  return {
    name: 'metrics-server',
    port: () => (server.address() as AddressInfo | null)?.port ?? 0,
    start: () =>
      new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void =>
          reject(
            new Error(
              `metrics server cannot listen on port ${opts.port} (JOBQ_METRICS_PORT): ${err.message}`,
            ),
          );
        server.once('error', onError);
        server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
          server.off('error', onError);
          opts.log.info({ port: (server.address() as AddressInfo).port }, 'serving /metrics');
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
