// What every route module receives: the database, configuration, metrics and logger of the API process,
// and the per-request identity (the token's name) that the auth hook sets.
import type { Config } from '../config.js';
import type { Executor } from '../db/connect.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Limits } from '../queue/index.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route behind auth and the rate limit (method and URL pattern), for tests and docs. */
    protectedRoutes: { method: string; url: string }[];
  }
  interface FastifyRequest {
    /** Name of the API token that authenticated the request; null when auth is off. */
    principal: string | null;
  }
}

export interface ApiContext {
  exec: Executor;
  config: Config;
  metrics: Metrics;
  log: Logger;
  /** Payload and attempt limits the queue library validates against. */
  limits: Limits;
}

/** Who did it, for cancelled_by and logs: "api:<token name>" or "api" when auth is off. */
export function actor(principal: string | null): string {
  return principal === null ? 'api' : `api:${principal}`;
}
