// GET /metrics: the process's Prometheus registry as exposition text (bearer token required).
import type { FastifyPluginCallback } from 'fastify';
import type { ApiContext } from '../context.js';

/** /metrics route. */
export const metricsRoutes: FastifyPluginCallback<ApiContext> = (app, ctx, done) => {
  app.get('/metrics', async (_request, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });
  done();
};
