// What a daemon command adds for metrics: process metrics in its registry, the queue-state sampler
// (API and scheduler only, so the depth query runs once per interval per such process, never per
// scrape or per worker) and the /metrics, /healthz, /readyz server on JOBQ_METRICS_PORT (workers and
// scheduler; 0 = off).
import type { Config } from '../config.js';
import type { Executor } from '../db/connect.js';
import type { Service } from '../lifecycle.js';
import type { Logger } from '../log.js';
import { onlineWindowMs } from '../queue/overview.js';
import type { Metrics } from './metrics.js';
import { registerProcessMetrics } from './process.js';
import { createSampler } from './sampler.js';
import { createMetricsServer, type MetricsServer, type Readiness } from './server.js';

/** The parts of DaemonDeps (src/cli/daemon.ts) this needs. */
export interface MetricsDeps {
  config: Pick<Config, 'metricsPort' | 'leaseMs'> & Partial<Pick<Config, 'metricsPortExplicit'>>;
  db: { exec: Executor };
  log: Logger;
  metrics: Metrics;
}

export interface MetricsServicesOptions {
  /** Run the depth sampler in this process (API, scheduler, dev: yes; workers: no). */
  sampler: boolean;
  /** Serve /metrics on config.metricsPort (workers, scheduler: yes; the API serves its own). */
  server: boolean;
  /** Sampler interval (default 5 s). */
  sampleIntervalMs?: number;
  /** The server's /readyz check. */
  readiness?: () => Promise<Readiness>;
}

/**
 * Returns the metrics services for a daemon, in start order: [sampler?, server?]. Also registers the
 * process metrics (CPU, memory, event loop, GC) in deps.metrics.registry.
 */
export function metricsServices(deps: MetricsDeps, opts: MetricsServicesOptions): Service[] {
  registerProcessMetrics(deps.metrics.registry);
  const services: Service[] = [];
  if (opts.sampler)
    services.push(
      createSampler(deps.db.exec, deps.metrics, {
        onlineWithinMs: onlineWindowMs(deps.config.leaseMs),
        log: deps.log,
        ...(opts.sampleIntervalMs !== undefined ? { intervalMs: opts.sampleIntervalMs } : {}),
      }),
    );
  if (opts.server && deps.config.metricsPort !== 0)
    services.push(
      createMetricsServer(deps.metrics.registry, {
        port: deps.config.metricsPort,
        explicit: deps.config.metricsPortExplicit ?? true,
        log: deps.log,
        ...(opts.readiness ? { readiness: opts.readiness } : {}),
      }),
    );
  return services;
}

/** The metrics server among a daemon's services, if it has one. */
export function findMetricsServer(services: Service[]): MetricsServer | undefined {
  return services.find((s): s is MetricsServer => s.name === 'metrics-server');
}
