// Per-client rate limiting of API requests: one token-bucket statement per request against the shared
// rate_limits table (see src/sql/rate-limits.ts). The client is the token's name, or the peer address
// when authentication is off. Over the limit: 429 with Retry-After.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Executor } from '../db/connect.js';
import type { Metrics } from '../metrics/metrics.js';
import { takeRateLimitToken, type RateLimit } from '../queue/rate-limit.js';
import { HttpError } from './errors.js';

/** The bucket key of a request. */
export function clientKey(request: FastifyRequest): string {
  return request.principal === null ? `ip:${request.ip}` : `token:${request.principal}`;
}

/** onRequest hook (after auth): takes a token or answers 429. */
export function rateLimitHook(exec: Executor, limit: RateLimit, metrics: Metrics) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const decision = await takeRateLimitToken(exec, clientKey(request), limit);
    reply.header('x-ratelimit-limit', String(limit.burst));
    if (decision.allowed) {
      reply.header('x-ratelimit-remaining', String(decision.remaining));
      return;
    }
    metrics.rateLimited.inc({ route: request.routeOptions.url ?? 'unmatched' });
    reply.header('x-ratelimit-remaining', '0');
    throw new HttpError(
      429,
      'RATE_LIMITED',
      `rate limit exceeded: at most ${limit.ratePerSec} requests/s (bursts of ${limit.burst}) per client; retry after ${decision.retryAfterSeconds}s`,
      null,
      { 'retry-after': String(decision.retryAfterSeconds) },
    );
  };
}
