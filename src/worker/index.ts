// The worker's public entry points: createWorker (library, `import { createWorker } from 'jobq'`) and
// createWorkerService (a Service for daemons: `jobq worker`, `jobq dev`), which reads its settings from
// the validated Config and loads the handlers module named by JOBQ_HANDLERS / --handlers.
import { listenUrl, type Config } from '../config.js';
import type { Database } from '../db/connect.js';
import type { Service } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { loadHandlersModule } from './handlers.js';
import type { WorkerOptions } from './options.js';
import type { HandlerMap } from './types.js';
import { Worker } from './worker.js';

export { Worker };
export { parseQueues, type WorkerOptions } from './options.js';
export { BUILTIN_HANDLERS, sleep } from './builtin.js';
export {
  JobCancelledError,
  JobTimeoutError,
  UnstorableResultError,
  WorkerShutdownError,
} from './active-job.js';
export type { Handler, HandlerContext, HandlerMap, HandlerSpec, JobInfo } from './types.js';

/**
 * Creates a worker (not started): `await worker.start()` registers it and starts claiming;
 * `await worker.stop()` stops claiming, waits up to the grace period, releases what is left.
 */
export function createWorker(opts: WorkerOptions): Worker {
  return new Worker(opts);
}

/** What a daemon hands the worker service (DaemonDeps of src/cli/daemon.ts fits). */
export interface WorkerDeps {
  config: Config;
  db: Database;
  log: Logger;
  metrics: Metrics;
}

export interface WorkerServiceOptions {
  /** Handlers used instead of loading config.handlers (tests, embedding). */
  handlers?: HandlerMap;
  /** Where the process serves metrics (read at start, after the metrics server has bound). */
  metricsUrl?: () => string | null;
}

/** The worker service; workerId() once started (its /readyz checks the registration). */
export interface WorkerService extends Service {
  workerId(): string | undefined;
}

/** The worker as a Service of a daemon process, configured from Config (QUEUE, CONCURRENCY, JOBQ_*). */
export function createWorkerService(deps: WorkerDeps, opts: WorkerServiceOptions = {}): WorkerService {
  let worker: Worker | undefined;
  return {
    name: 'worker',
    workerId: () => worker?.id,
    async start() {
      const c = deps.config;
      const handlers = opts.handlers ?? (c.handlers ? await loadHandlersModule(c.handlers) : undefined);
      const listen = listenUrl(c);
      worker = new Worker({
        database: deps.db,
        queues: c.queues,
        concurrency: c.concurrency,
        ...(handlers ? { handlers } : {}),
        leaseMs: c.leaseMs,
        shutdownGraceMs: c.shutdownGraceMs,
        pollIntervalMs: c.pollIntervalMs,
        starvationMs: c.starvationMs,
        backoff: { baseMs: c.backoffBaseMs, maxMs: c.backoffMaxMs },
        jobTimeoutMs: c.jobTimeoutMs,
        timeoutGraceMs: c.timeoutGraceMs,
        maxRunaways: c.maxRunaways,
        freeReleases: c.freeReleases,
        maxResultBytes: c.maxResultBytes,
        listen: listen ?? false,
        logger: deps.log,
        metrics: deps.metrics,
        metricsUrl: opts.metricsUrl?.() ?? null,
      });
      await worker.start();
    },
    get failure() {
      return worker?.failure;
    },
    async stop() {
      await worker?.stop();
    },
  };
}
