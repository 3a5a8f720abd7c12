// Routes for the dead-letter queue: list DEAD jobs (filters, keyset paging) and retry them in bulk.
import type { FastifyPluginCallback } from 'fastify';
import { listJobs, retryDead } from '../../queue/index.js';
import type { ApiContext } from '../context.js';
import { deadQuerySchema, deadRetrySchema, pageLimit } from '../schemas.js';

interface DeadQuery {
  queue?: string;
  type?: string;
  limit?: string;
  cursor?: string;
}

/** /dead routes. */
export const deadRoutes: FastifyPluginCallback<ApiContext> = (app, ctx, done) => {
  app.get<{ Querystring: DeadQuery }>(
    '/dead',
    { schema: { querystring: deadQuerySchema } },
    async (request) => {
      const q = request.query;
      return listJobs(ctx.exec, {
        status: 'DEAD',
        queue: q.queue,
        type: q.type,
        limit: pageLimit(q.limit),
        cursor: q.cursor,
      });
    },
  );

  app.post<{ Body: { queue?: string; type?: string } | null | undefined }>(
    '/dead/retry',
    { schema: { body: { ...deadRetrySchema, type: ['object', 'null'] } } },
    async (request) => {
      const ids = await retryDead(ctx.exec, { queue: request.body?.queue, type: request.body?.type });
      return { retried: ids.length, ids };
    },
  );
  done();
};
