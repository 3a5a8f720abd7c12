// Routes for queues: live depth by status, oldest ready age, paused and last-minute throughput per
// queue (bounded, index-backed reads: cheap with millions of finished jobs), the dashboard's overview,
// pause/resume, and flow limits (GET/PUT/DELETE /queues/:name/limits).
import type { FastifyPluginCallback } from 'fastify';
import { loadOverview, onlineWindowMs } from '../../queue/overview.js';
import {
  clearQueueLimits,
  listQueueLimits,
  pauseQueue,
  resumeQueue,
  setQueueLimits,
  type QueueLimitsInput,
} from '../../queue/index.js';
import type { ApiContext } from '../context.js';
import { emptyBodySchema, queueLimitsSchema, queueParamsSchema } from '../schemas.js';

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
  app.get('/limits', () => listQueueLimits(ctx.exec));

  app.get<{ Params: { name: string } }>(
    '/queues/:name/limits',
    { schema: { params: queueParamsSchema } },
    async (request) => {
      const [l] = await listQueueLimits(ctx.exec, request.params.name);
      return (
        l ?? {
          queue: request.params.name,
          concurrency: null,
          rate: null,
          burst: null,
          perKeyConcurrency: null,
        }
      );
    },
  );

  app.put<{ Params: { name: string }; Body: QueueLimitsInput }>(
    '/queues/:name/limits',
    { schema: { params: queueParamsSchema, body: queueLimitsSchema } },
    (request) => setQueueLimits(ctx.exec, request.params.name, request.body),
  );

  app.delete<{ Params: { name: string } }>(
    '/queues/:name/limits',
    { schema: { params: queueParamsSchema } },
    (request) => clearQueueLimits(ctx.exec, request.params.name),
  );
  done();
};
