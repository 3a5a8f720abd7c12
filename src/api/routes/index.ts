// The API's route modules, one file per resource. Each is a fastify plugin taking the ApiContext; the
// ones in PROTECTED_ROUTES sit behind bearer-token auth and the rate limit. Adding a resource is one
// import and one entry below.
import type { FastifyPluginAsync, FastifyPluginCallback } from 'fastify';
import type { ApiContext } from '../context.js';
import { deadRoutes } from './dead.js';
import { jobRoutes } from './jobs.js';
import { metricsRoutes } from './metrics.js';
import { queueRoutes } from './queues.js';
import { workerRoutes } from './workers.js';
// ── schedules (scheduler issue): src/api/routes/schedules.ts exports `scheduleRoutes` ──────────────
import { scheduleRoutes } from './schedules.js';
// ── explain (observability issue): GET /jobs/:id/explain ──────────────────────────────────────────
import { explainRoutes } from './explain.js';

export type RoutePlugin = FastifyPluginCallback<ApiContext> | FastifyPluginAsync<ApiContext>;

/** Routes that need a bearer token (when auth is on) and are rate-limited per client. */
export const PROTECTED_ROUTES: RoutePlugin[] = [
  jobRoutes,
  queueRoutes,
  deadRoutes,
  workerRoutes,
  metricsRoutes,
  scheduleRoutes, // GET /schedules is what the dashboard's schedules view reads
  explainRoutes, // GET /jobs/:id/explain (the dashboard's "why" panel)
];
