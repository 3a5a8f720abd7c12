// Routes for queues: live depth by status, oldest ready age, paused and last-minute throughput per
// queue (bounded, index-backed reads: cheap with millions of finished jobs), the dashboard's overview,
// and pause/resume.
import type { FastifyPluginCallback } from 'fastify';
import { loadOverview, onlineWindowMs } from '../../queue/overview.js';
import { pauseQueue, resumeQueue } from '../../queue/index.js';
import type { ApiContext } from '../context.js';
import { emptyBodySchema, queueParamsSchema } from '../schemas.js';

/** /queues and /overview routes. */
export const queueRoutes: FastifyPluginCallback<ApiContext> = (app, ctx, done) => {
  const overview = () => loadOverview(ctx.exec, { onlineWithinMs: onlineWindowMs(ctx.config.leaseMs) });

  app.get('/queues', async () => (await overview()).queues);

  app.get('/overview', overview);

  for (const [verb, apply] of [
    ['pause', pauseQueue],
    ['resume', resumeQueue],
  ] as const) {
    app.post<{ Params: { name: string } }>(
      `/queues/:name/${verb}`,
      { schema: { params: queueParamsSchema, body: emptyBodySchema } },
      async (request) => {
        await apply(ctx.exec, request.params.name);
        return { queue: request.params.name, paused: verb === 'pause' };
      },
    );
  }
  done();
};
