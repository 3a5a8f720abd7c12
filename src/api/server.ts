// The HTTP API server (fastify): probes and dashboard in the open; every other route behind bearer-token
// auth and the per-client rate limit; one error mapping; request metrics by route pattern (never ids).
// buildApp() makes the app (tests use it directly); createApiService() wraps it as a lifecycle Service.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { PortInUseError } from '../errors.js';
import type { Executor } from '../db/connect.js';
import type { Service } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { authHook, FailedAuthThrottle, parseTokens } from './auth.js';
import type { ApiContext } from './context.js';
import { registerDashboard } from './dashboard.js';
import { jsonErrorDetail } from '../parse.js';
import { clientErrorHandler, errorHandler, HttpError, notFoundHandler } from './errors.js';
import { hostCheckHook, sameOriginHook } from './origin.js';
import { rateLimitHook } from './rate-limit.js';
import { healthRoutes } from './routes/health.js';
import { PROTECTED_ROUTES } from './routes/index.js';

/** What the API needs from its process (DaemonDeps of src/cli/daemon.ts fits). */
export interface ApiDeps {
  config: Config;
  db: { exec: Executor };
  log: Logger;
  metrics: Metrics;
}

export type AuthMode = 'required' | 'none';

export interface ApiOptions {
  host: string;
  port: number;
  auth: AuthMode;
}

/** Header paths pino must never write (tokens, cookies). */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'authorization',
];

/** Builds the fastify app (not listening). With auth 'required', JOBQ_API_TOKENS must hold tokens. */
export async function buildApp(deps: ApiDeps, opts: { auth: AuthMode }): Promise<FastifyInstance> {
  const { config } = deps;
  const tokens = opts.auth === 'required' ? parseTokens(config.apiTokens ?? '') : null;
  const log = deps.log.child(
    { component: 'api' },
    { redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
  );
  const fastifyLog: FastifyBaseLogger = log;
  const app = Fastify({
    loggerInstance: fastifyLog,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxPayloadBytes,
    return503OnClosing: true,
    clientErrorHandler,
    ajv: {
      // Bodies are JSON: no type coercion, unknown fields are errors (not silently dropped), and
      // verbose errors carry the failing schema, whose description says what was expected.
      customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, verbose: true },
    },
  });
  app.decorateRequest('principal', null);
  const ctx: ApiContext = {
    exec: deps.db.exec,
    config,
    metrics: deps.metrics,
    log,
    limits: { maxPayloadBytes: config.maxPayloadBytes, defaultMaxAttempts: config.defaultMaxAttempts },
  };

  // JSON bodies: an empty body counts as none (curl -X POST …/retry -H 'Content-Type: application/json'),
  // malformed JSON is a 400 that says where it broke. Prototype-poisoning keys are refused.
  const strictJson = app.getDefaultJsonParser('error', 'error');
  // Only JSON is accepted (text/plain and forms are a 415, as documented), and only as UTF-8.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '')?.[1];
    if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
      done(
        new HttpError(
          415,
          'UNSUPPORTED_MEDIA_TYPE',
          `send the body as UTF-8 JSON (Content-Type: application/json; charset=utf-8), not ${charset.slice(0, 40)}`,
        ),
        undefined,
      );
      return;
    }
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    void strictJson(request, text, (err, value) => {
      if (!err) {
        done(null, value);
        return;
      }
      let detail: string;
      try {
        JSON.parse(text);
        detail = 'forbidden key (__proto__ or constructor.prototype)';
      } catch (e) {
        detail = jsonErrorDetail(e);
      }
      done(new HttpError(400, 'INVALID_JSON', `body: expected valid JSON, ${detail}`, 'body'), undefined);
    });
  });

  app.setErrorHandler(errorHandler(config.maxPayloadBytes));
  app.setNotFoundHandler(notFoundHandler);
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    await Promise.resolve();
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    deps.metrics.apiRequestDuration.observe(
      { method: request.method, route, status: String(status) },
      reply.elapsedTime / 1000,
    );
    const line = { method: request.method, route, status, ms: Math.round(reply.elapsedTime) };
    if (request.method !== 'GET' && request.method !== 'HEAD') request.log.info(line, 'request');
    else request.log.debug(line, 'request');
    await Promise.resolve();
  });

  // Before any route: refuse other sites' pages (and, without auth, foreign Host names): src/api/origin.ts.
  if (opts.auth === 'none') app.addHook('onRequest', hostCheckHook);
  app.addHook('onRequest', sameOriginHook);

  await app.register(healthRoutes, ctx);
  await registerDashboard(app);
  const protectedRoutes: { method: string; url: string }[] = [];
  app.decorate('protectedRoutes', protectedRoutes);
  await app.register(async (api) => {
    api.addHook('onRoute', (r) => {
      for (const method of [r.method].flat())
        if (method !== 'HEAD') protectedRoutes.push({ method, url: r.url });
    });
    if (tokens) api.addHook('onRequest', authHook(tokens, new FailedAuthThrottle(config.authFailureLimit)));
    if (config.rateLimitPerSec !== undefined) {
      const limit = {
        ratePerSec: config.rateLimitPerSec,
        burst: config.rateLimitBurst ?? config.rateLimitPerSec,
      };
      api.addHook('onRequest', rateLimitHook(ctx.exec, limit, deps.metrics));
    }
    for (const routes of PROTECTED_ROUTES) await api.register(routes, ctx);
  });
  return app;
}

export interface ApiService extends Service {
  /** The base URL once started (e.g. http://127.0.0.1:8000). */
  url(): string;
}

/** The API as a lifecycle service: listens on start, drains in-flight requests on stop. */
export function createApiService(deps: ApiDeps, opts: ApiOptions): ApiService {
  let app: FastifyInstance | undefined;
  let url = '';
  return {
    name: 'api',
    url: () => url,
    async start() {
      if (opts.auth === 'none') {
        deps.log.warn(
          { host: opts.host },
          'API authentication is OFF: anyone who can reach this address can enqueue, retry and cancel jobs',
        );
      }
      app = await buildApp(deps, { auth: opts.auth });
      try {
        await app.listen({ host: opts.host, port: opts.port });
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'EADDRINUSE') throw err;
        throw new PortInUseError(
          'the API',
          opts.host,
          opts.port,
          'stop the process that holds it, or choose another port (--port or PORT)',
        );
      }
      const addr = app.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : opts.port;
      const host = opts.host === '0.0.0.0' || opts.host === '::' ? 'localhost' : opts.host;
      url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      deps.log.info(
        { url, auth: opts.auth, rateLimitPerSec: deps.config.rateLimitPerSec ?? null },
        `API and dashboard on ${url}/`,
      );
    },
    async stop() {
      await app?.close();
    },
  };
}
