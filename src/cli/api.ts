// `jobq api`: the HTTP API, the web dashboard and /metrics in one process. Refuses to start without API
// tokens unless --insecure-no-auth is given. Listens at once (so /healthz answers) and waits for the
// database in the background; /readyz says 503 with the reason until it is reachable and migrated.
import type { Command } from 'commander';
import { createApiService } from '../api/server.js';
import { UsageError } from '../errors.js';
import { runUntilSignal } from '../lifecycle.js';
import { metricsServices } from '../metrics/services.js';
import { parseInteger } from '../parse.js';
import { configFrom } from './context.js';
import { daemonDeps, logBudget, waitForDatabase, warnAboutServer } from './daemon.js';

interface ApiCommandOptions {
  port?: string;
  host?: string;
  insecureNoAuth?: boolean;
}

/** Connections of the API's pool (README: Scaling). */
export const API_POOL_SIZE = 5;

export const NO_TOKENS_MESSAGE =
  'no API tokens configured: set JOBQ_API_TOKENS=name:token[,name2:token2] (e.g. from a Kubernetes Secret), ' +
  'or pass --insecure-no-auth to run without authentication (only where nobody else can reach the port)';

export function register(program: Command): void {
  program
    .command('api')
    .description('serve the HTTP API, the web dashboard (/) and /metrics')
    .option('--port <port>', 'listen port (env PORT, default 8000)')
    .option('--host <address>', 'listen address (env JOBQ_API_HOST, default 0.0.0.0)')
    .option('--insecure-no-auth', 'serve without bearer-token authentication (prints a warning)')
    .action(async (opts: ApiCommandOptions, cmd: Command) => {
      const config = configFrom(cmd, {
        port: opts.port === undefined ? undefined : parseInteger('--port', opts.port, 0, 65_535),
        apiHost: opts.host,
      });
      if (!config.apiTokens && !opts.insecureNoAuth) throw new UsageError(NO_TOKENS_MESSAGE);
      // requests beyond the pool wait up to 5 s for a connection, then get 503 + Retry-After
      const deps = daemonDeps(config, 'api', API_POOL_SIZE);
      if (config.apiTokens && opts.insecureNoAuth)
        deps.log.warn('--insecure-no-auth given: JOBQ_API_TOKENS is ignored');
      const abort = new AbortController();
      const api = createApiService(deps, {
        host: config.apiHost,
        port: config.port,
        auth: opts.insecureNoAuth ? 'none' : 'required',
      });
      await runUntilSignal(
        [
          {
            name: 'database',
            start: () => {
              logBudget(deps);
              return Promise.resolve();
            },
            stop: () => deps.db.close(),
          },
          api,
          // queue-depth sampler (jobs_pending, jobs_queue_depth, …) for this process's /metrics
          ...metricsServices(deps, { sampler: true, server: false }),
          {
            name: 'database-wait',
            start: () => {
              waitForDatabase(deps, abort.signal)
                .then(() => warnAboutServer(deps))
                .catch((err: unknown) => {
                  if (!abort.signal.aborted)
                    deps.log.error({ err }, 'the database cannot be used; /readyz reports why');
                });
              return Promise.resolve();
            },
            stop: () => {
              abort.abort();
              return Promise.resolve();
            },
          },
        ],
        deps.log,
      );
    });
}
