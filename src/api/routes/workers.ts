// Route for the worker registry: workers with a fresh heartbeat (the window `jobq workers` and `jobq top`
// use too).
import type { FastifyPluginCallback } from 'fastify';
import { listWorkers } from '../../queue/index.js';
import { onlineWindowMs } from '../../queue/overview.js';
import type { ApiContext } from '../context.js';

/** /workers route. */
export const workerRoutes: FastifyPluginCallback<ApiContext> = (app, ctx, done) => {
  app.get('/workers', async () => listWorkers(ctx.exec, onlineWindowMs(ctx.config.leaseMs)));
  done();
};
