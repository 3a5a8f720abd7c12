// GET /jobs/:id/explain: why a job is where it is and what happens next (the queue library's
// explainJob, the same answer as `jobq explain --json`); the dashboard's job page shows it.
import type { FastifyPluginCallback } from 'fastify';
import { explainJob } from '../../queue/explain.js';
import { onlineWindowMs } from '../../queue/overview.js';
import type { ApiContext } from '../context.js';
import { idParamsSchema } from '../schemas.js';

/** /jobs/:id/explain route: 200 {explanation}, 404 unknown id, 400 malformed id. */
export const explainRoutes: FastifyPluginCallback<ApiContext> = (app, ctx, done) => {
  app.get<{ Params: { id: string } }>(
    '/jobs/:id/explain',
    { schema: { params: idParamsSchema } },
    async (request) => ({
      explanation: await explainJob(ctx.exec, request.params.id, {
        onlineWithinMs: onlineWindowMs(ctx.config.leaseMs),
        starvationMs: ctx.config.starvationMs,
      }),
    }),
  );
  done();
};
