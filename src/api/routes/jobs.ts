// Routes for jobs: enqueue (one, or a batch all-or-nothing; idempotent with a key), list with filters and
// keyset paging, read one, retry, cancel. Every operation is the queue library's.
import type { FastifyPluginCallback } from 'fastify';
import { ValidationError } from '../../errors.js';
import {
  cancelJobs,
  enqueue,
  enqueueMany,
  getJob,
  listJobs,
  retryJobs,
  type EnqueueSpec,
  type JobStatus,
} from '../../queue/index.js';
import { actor, type ApiContext } from '../context.js';
import {
  batchSchema,
  emptyBodySchema,
  enqueueSchema,
  idParamsSchema,
  listQuerySchema,
  pageLimit,
} from '../schemas.js';

/** A job as POST /jobs takes it (delaySeconds instead of the library's delayMs). */
export interface EnqueueBody {
  type: string;
  payload?: unknown;
  queue?: string;
  priority?: number;
  runAt?: string;
  delaySeconds?: number;
  maxAttempts?: number;
  idempotencyKey?: string;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The Idempotency-Key header's key. Node hands header bytes over as Latin-1 characters; the key is read
 * as UTF-8 like the body, so "café" is the same key in either place (and bytes that are not UTF-8 are
 * refused, not stored as other characters).
 */
function headerKeyText(value: string): string {
  if (!/[^\u0020-\u007e]/.test(value)) return value; // printable ASCII (the usual key)
  try {
    return UTF8.decode(Buffer.from(value, 'latin1'));
  } catch {
    throw new ValidationError('Idempotency-Key', 'a header of UTF-8 text');
  }
}

/** Maps a request body to the library's EnqueueSpec; the Idempotency-Key header may carry the key. */
export function toSpec(body: EnqueueBody, header?: string): EnqueueSpec {
  const { delaySeconds, idempotencyKey, ...rest } = body;
  const headerKey = header === undefined ? undefined : headerKeyText(header);
  if (headerKey !== undefined && idempotencyKey !== undefined && headerKey !== idempotencyKey) {
    throw new ValidationError(
      'idempotencyKey',
      'the same key in the body and the Idempotency-Key header (or only one of them)',
    );
  }
  const key = idempotencyKey ?? headerKey;
  return {
    ...rest,
    ...(delaySeconds !== undefined ? { delayMs: Math.round(delaySeconds * 1000) } : {}),
    ...(key !== undefined ? { idempotencyKey: key } : {}),
  };
}

const idempotencyHeaderSchema = {
  type: 'object',
  properties: {
    'idempotency-key': {
      ...enqueueSchema.properties.idempotencyKey,
      description: `an Idempotency-Key header of 1-${enqueueSchema.properties.idempotencyKey.maxLength} characters`,
    },
  },
} as const;

interface ListQuery {
  status?: string;
  queue?: string;
  type?: string;
  limit?: string;
  cursor?: string;
}

/** /jobs routes. */
export const jobRoutes: FastifyPluginCallback<ApiContext> = (app, ctx, done) => {
  app.post<{ Body: EnqueueBody; Headers: { 'idempotency-key'?: string } }>(
    '/jobs',
    { schema: { body: enqueueSchema, headers: idempotencyHeaderSchema } },
    async (request, reply) => {
      const spec = toSpec(request.body, request.headers['idempotency-key']);
      const { job, created } = await enqueue(ctx.exec, spec, ctx.limits);
      if (created) ctx.metrics.jobsEnqueued.inc({ queue: job.queue, type: job.type });
      return reply.code(created ? 201 : 200).send({ job, created });
    },
  );

  app.post<{ Body: { jobs: EnqueueBody[] } }>(
    '/jobs/batch',
    { schema: { body: batchSchema } },
    async (request, reply) => {
      const specs = request.body.jobs.map((j) => toSpec(j));
      const results = await enqueueMany(ctx.exec, specs, ctx.limits);
      results.forEach((r, i) => {
        const s = specs[i];
        if (r.created && s) ctx.metrics.jobsEnqueued.inc({ queue: s.queue ?? 'default', type: s.type });
      });
      const created = results.filter((r) => r.created).length;
      return reply
        .code(created > 0 ? 201 : 200)
        .send({ jobs: results, created, existing: results.length - created });
    },
  );

  app.get<{ Querystring: ListQuery }>(
    '/jobs',
    { schema: { querystring: listQuerySchema } },
    async (request) => {
      const q = request.query;
      return listJobs(ctx.exec, {
        status: q.status as JobStatus | undefined,
        queue: q.queue,
        type: q.type,
        limit: pageLimit(q.limit),
        cursor: q.cursor,
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/jobs/:id',
    { schema: { params: idParamsSchema } },
    async (request) => ({
      job: await getJob(ctx.exec, request.params.id),
    }),
  );

  app.post<{ Params: { id: string } }>(
    '/jobs/:id/retry',
    { schema: { params: idParamsSchema, body: emptyBodySchema } },
    async (request) => {
      await retryJobs(ctx.exec, [request.params.id]);
      return { job: await getJob(ctx.exec, request.params.id) };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/jobs/:id/cancel',
    { schema: { params: idParamsSchema, body: emptyBodySchema } },
    async (request) => {
      await cancelJobs(ctx.exec, [request.params.id], actor(request.principal));
      return { job: await getJob(ctx.exec, request.params.id) };
    },
  );
  done();
};
