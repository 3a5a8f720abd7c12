// `jobq worker`: runs jobs from one or more queues until SIGTERM/SIGINT (then finishes or releases
// running jobs within JOBQ_SHUTDOWN_GRACE_SECONDS and exits 0). Waits for a reachable, migrated database
// at start and rides out database restarts.
import type { Command } from 'commander';
import { listenUrl, type Config, type ConfigOverrides } from '../config.js';
import { runUntilSignal, type Service } from '../lifecycle.js';
import { findMetricsServer, metricsServices } from '../metrics/services.js';
import { parseInteger } from '../parse.js';
import { loadHandlersModule } from '../worker/handlers.js';
import { createWorkerService, type WorkerService } from '../worker/index.js';
import { defaultTransactionPoolSize, MAX_SLOTS, parseQueues } from '../worker/options.js';
import { configFrom } from './context.js';
import { daemonDeps, daemonReadiness, databaseService } from './daemon.js';

/** The worker's flags, shared by `jobq worker` and `jobq dev`. */
export interface WorkerFlags {
  queue?: string;
  concurrency?: string;
  handlers?: string;
}

/** Adds --queue, --concurrency and --handlers to a command. */
export function withWorkerFlags(cmd: Command, queueHelp: string): Command {
  return cmd
    .option('--queue <list>', queueHelp)
    .option(
      '--concurrency <n>',
      `slots of a queue that names none (env CONCURRENCY; default 10; 1..${MAX_SLOTS})`,
    )
    .option(
      '--handlers <module>',
      'module exporting job handlers, merged over the demo.* built-ins (env JOBQ_HANDLERS)',
    );
}

/** The configuration the worker flags override (--concurrency checked here). */
export function workerOverrides(
  opts: WorkerFlags,
): Pick<ConfigOverrides, 'queues' | 'concurrency' | 'handlers'> {
  return {
    queues: opts.queue,
    concurrency:
      opts.concurrency === undefined
        ? undefined
        : parseInteger('--concurrency', opts.concurrency, 1, MAX_SLOTS),
    handlers: opts.handlers,
  };
}

/** The queue list, checked before anything touches the database (a typo exits 1 with a clear message). */
export function flagQueues(config: Config, opts: WorkerFlags): Map<string, number> {
  return parseQueues(config.queues, config.concurrency, opts.queue !== undefined ? '--queue' : 'QUEUE');
}

export function register(program: Command): void {
  withWorkerFlags(
    program
      .command('worker')
      .description('run jobs: claim from the given queues, run their handlers, record outcomes (fenced)'),
    'queues and slots, e.g. email:10,default:4 (env QUEUE; default "default")',
  ).action(async (opts: WorkerFlags, cmd: Command) => {
    const config = configFrom(cmd, workerOverrides(opts));
    const queues = flagQueues(config, opts);
    // pool: claims, heartbeats, outcomes (shared); LISTEN: one direct connection; ctx.transaction:
    // connections opened on demand (up to min(slots, 10)) and closed when idle
    const deps = daemonDeps(config, 'worker', 2, {
      listen: listenUrl(config) ? 1 : 0,
      'ctx.transaction on demand': defaultTransactionPoolSize(queues),
    });
    // Handlers load before any port is bound: a bad --handlers is reported as such, whatever the ports.
    const handlers = config.handlers ? await loadHandlersModule(config.handlers) : undefined;
    // (the worker reads the metrics URL at start, after the metrics server has bound)
    const worker: WorkerService = createWorkerService(deps, {
      ...(handlers ? { handlers } : {}),
      metricsUrl: () => findMetricsServer(metrics)?.url() ?? null,
    });
    const metrics = metricsServices(deps, {
      sampler: false,
      server: true,
      readiness: daemonReadiness(deps, () => worker.workerId() ?? ''),
    });
    const services: Service[] = [databaseService(deps), ...metrics, worker];
    await runUntilSignal(services, deps.log);
  });
}
