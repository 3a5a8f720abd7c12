// Probes (public, never rate-limited): /healthz says the process is up; /readyz says the database is
// reachable, migrated to the version this jobq knows and its jobs table not locked (503 with the reason
// otherwise). The check opens a connection of its own with a short timeout, so an exhausted pool cannot
// delay it, and it tells "unreachable" from "reachable but refusing, slow or locked"; one check at a time,
// its answer shared for a second, so a flood of /readyz opens one connection, not one per request.
import type { FastifyPluginCallback } from 'fastify';
import { assertMigrated } from '../../db/migrate.js';
import { JobqError } from '../../errors.js';
import { probeDatabase, sharedProbe, type DatabaseProbe } from '../../queue/health.js';
import type { ApiContext } from '../context.js';
import { RETRY_AFTER_SECONDS } from '../errors.js';

/** /healthz and /readyz. */
export const healthRoutes: FastifyPluginCallback<ApiContext> = (app, ctx, done) => {
  app.get('/healthz', () => Promise.resolve({ status: 'ok' }));

  const probe = sharedProbe(async (): Promise<DatabaseProbe> => {
    const url = ctx.config.databaseUrl;
    if (url) return probeDatabase({ url, schema: ctx.config.schema });
    // embedded use without a URL in the configuration: check on the shared pool
    try {
      await assertMigrated(ctx.exec);
      return { ready: true, database: 'reachable' };
    } catch (err) {
      const reason = err instanceof JobqError ? err.message : 'database check failed';
      return { ready: false, database: 'unreachable', reason };
    }
  });

  app.get('/readyz', async (_request, reply) => {
    const p = await probe();
    if (p.ready) return { status: 'ready', database: p.database };
    return reply
      .code(503)
      .header('retry-after', String(RETRY_AFTER_SECONDS))
      .send({ status: 'unavailable', database: p.database, reason: p.reason });
  });
  done();
};
