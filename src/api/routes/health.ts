// Probes (public, never rate-limited): /healthz says the process is up; /readyz says the database is
// reachable and migrated to the version this jobq knows (503 with the reason otherwise).
import type { FastifyPluginCallback } from 'fastify';
import { assertMigrated } from '../../db/migrate.js';
import { JobqError } from '../../errors.js';
import type { ApiContext } from '../context.js';

/** /healthz and /readyz. */
export const healthRoutes: FastifyPluginCallback<ApiContext> = (app, ctx, done) => {
  app.get('/healthz', () => Promise.resolve({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    try {
      await assertMigrated(ctx.exec);
      return { status: 'ready' };
    } catch (err) {
      const reason = err instanceof JobqError ? err.message : 'database check failed';
      if (!(err instanceof JobqError)) ctx.log.error({ err }, 'readiness check failed');
      return reply.code(503).send({ status: 'unavailable', reason });
    }
  });
  done();
};
