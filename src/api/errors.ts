// The API's one error mapping: JobqError subclasses, request-schema failures, body-parser failures and
// anything unexpected become {error: {code, message, field}} with the right status. Unexpected errors are
// logged server-side and answered with a generic 500: no stack traces or SQL ever reach a client.
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isConnectionError, JobqError, ValidationError } from '../errors.js';

/** The body of every error response. */
export interface ErrorBody {
  error: { code: string; message: string; field: string | null };
}

/** An error raised by the HTTP layer itself (auth, rate limit, bad JSON), with its status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The HTTP status for a JobqError code. */
export function statusForJobqError(err: JobqError): number {
  switch (err.code) {
    case 'VALIDATION':
    case 'USAGE':
      return 400;
    case 'NOT_FOUND':
      return 404;
    case 'CONFLICT':
      return 409;
    case 'NOT_MIGRATED':
    case 'SCHEMA_TOO_NEW':
    case 'DATABASE_UNAVAILABLE':
      return 503;
    default:
      return 500;
  }
}

interface AjvError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
  parentSchema?: { description?: string; properties?: Record<string, { description?: string }> };
  data?: unknown;
}

/** "/jobs/2/type" → "jobs[2].type"; "" → the fallback ("body", "query"). */
export function fieldFromPointer(pointer: string, fallback: string): string {
  const parts = pointer.split('/').slice(1);
  if (parts.length === 0) return fallback;
  let out = '';
  for (const raw of parts) {
    const p = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  }
  return out;
}

function shown(value: unknown): string {
  let s: string;
  try {
    const text = JSON.stringify(value) as string | undefined;
    s = text ?? String(value);
  } catch {
    s = String(value);
  }
  return s; // ValidationError shortens it, saying how long it was
}

/** Turns the first request-schema error into a field-naming ValidationError-shaped HttpError. */
export function fromSchemaError(errors: AjvError[], context: string): HttpError {
  const e = errors[0];
  if (!e) return new HttpError(400, 'VALIDATION', `${context}: invalid`, context);
  const base = fieldFromPointer(e.instancePath, context === 'body' ? 'body' : context);
  const join = (name: string): string => (e.instancePath === '' ? name : `${base}.${name}`);
  if (e.keyword === 'required') {
    const missing = String(e.params.missingProperty);
    const field = join(missing);
    const expected = e.parentSchema?.properties?.[missing]?.description ?? 'a value';
    return new HttpError(400, 'VALIDATION', `${field}: required; expected ${expected}`, field);
  }
  if (e.keyword === 'additionalProperties') {
    const extra = String(e.params.additionalProperty);
    const field = join(extra);
    const known = Object.keys(e.parentSchema?.properties ?? {}).join(', ');
    return new HttpError(400, 'VALIDATION', `${field}: unknown field; expected one of ${known}`, field);
  }
  const expected = e.parentSchema?.description ?? e.message ?? 'a valid value';
  const err = new ValidationError(base, expected, shown(e.data));
  return new HttpError(400, 'VALIDATION', err.message, base);
}

/** Sent with every 503 for an unavailable or busy database: clients retry after this many seconds. */
export const RETRY_AFTER_SECONDS = 2;
const RETRY_LATER: Record<string, string> = { 'retry-after': String(RETRY_AFTER_SECONDS) };

/** Maps any error to a status and body; `unexpected` is true when it must be logged as a server fault. */
export function toErrorResponse(
  err: unknown,
  maxBodyBytes: number,
): { status: number; body: ErrorBody; headers: Record<string, string>; unexpected: boolean } {
  const out = (status: number, code: string, message: string, field: string | null = null) => ({
    status,
    body: { error: { code, message, field } },
    headers: status === 503 ? RETRY_LATER : {},
    unexpected: false,
  });
  if (err instanceof HttpError)
    return { ...out(err.status, err.code, err.message, err.field), headers: err.headers };
  if (err instanceof ValidationError) return out(400, err.code, err.message, err.field);
  if (err instanceof JobqError) {
    const status = statusForJobqError(err);
    if (status !== 500) return out(status, err.code, err.message);
  }
  const fe = err as Partial<FastifyError> & { validation?: AjvError[]; validationContext?: string };
  if (Array.isArray(fe.validation)) {
    const h = fromSchemaError(fe.validation, fe.validationContext ?? 'body');
    return out(h.status, h.code, h.message, h.field);
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return out(
        413,
        'PAYLOAD_TOO_LARGE',
        `request body larger than ${maxBodyBytes} bytes (the limit is JOBQ_MAX_PAYLOAD_BYTES)`,
        'body',
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return out(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as JSON (Content-Type: application/json)');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return out(400, 'BAD_REQUEST', 'the Content-Length header does not match the body');
  }
  if (isConnectionError(err)) return out(503, 'DATABASE_UNAVAILABLE', 'cannot reach PostgreSQL');
  // Fastify's own 4xx errors (bad URL, …) carry safe, fixed messages.
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500)
    return out(fe.statusCode, fe.code ?? 'BAD_REQUEST', fe.message ?? 'bad request');
  return { ...out(500, 'INTERNAL', 'internal error; the server log has the details'), unexpected: true };
}

/** Fastify error handler: maps, logs unexpected errors with the request id, replies. */
export function errorHandler(maxBodyBytes: number) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const r = toErrorResponse(err, maxBodyBytes);
    if (r.unexpected) request.log.error({ err, reqId: request.id }, 'request failed');
    else if (r.status >= 500) request.log.warn({ code: r.body.error.code }, r.body.error.message);
    if (r.status === 500) r.body.error.message += ` (request id ${request.id})`;
    return reply.code(r.status).headers(r.headers).send(r.body);
  };
}

/** Not-found handler for unknown routes. */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const body: ErrorBody = {
    error: {
      code: 'NOT_FOUND',
      message: `no route ${request.method} ${request.url.split('?')[0] ?? ''}`,
      field: null,
    },
  };
  return reply.code(404).send(body);
}

/**
 * Node's HTTP parser refuses some requests before fastify sees them (an unknown method such as FOO,
 * broken framing, oversize headers): answer those in the API's error shape too, then close.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const body: ErrorBody = {
    error: {
      code: tooLarge ? 'HEADERS_TOO_LARGE' : 'BAD_REQUEST',
      message: tooLarge
        ? 'request headers too large'
        : 'malformed HTTP request (unknown method, or broken headers or framing)',
      field: null,
    },
  };
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\n` +
      `connection: close\r\n\r\n${text}`,
  );
}
