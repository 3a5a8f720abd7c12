// Route for the worker registry: workers with a fresh heartbeat.
import type { FastifyPluginCallback } from 'fastify';
import { listWorkers } from '../../queue/index.js';
import type { ApiContext } from '../context.js';

/** /workers route. */
export const workerRoutes: FastifyPluginCallback<ApiContext> = (app, ctx, done) => {
  app.get('/workers', async () => listWorkers(ctx.exec));
  done();
};
