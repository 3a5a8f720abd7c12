// Protection for a browser's view of the API. Without authentication (jobq dev, --insecure-no-auth) any
// web page the operator visits could otherwise drive the API: a cross-origin POST needs no CORS
// permission to take effect, and DNS rebinding makes another site's name resolve to 127.0.0.1. So:
// - every request that changes something must come from this origin (or from no browser at all: curl
//   sends no Origin), in every mode;
// - without authentication, the Host header must be an IP address or a localhost name, which a
//   rebinding attacker's domain never is.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** The host name of a Host header value ("[::1]:8000" → "::1", "localhost:8000" → "localhost"). */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  return h.replace(/:\d*$/, '');
}

/** True for names DNS rebinding cannot take over: IP literals, localhost and *.localhost. */
export function isLoopbackOrIpHost(host: string): boolean {
  const name = hostName(host).replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || IPV4.test(name) || name.includes(':');
}

/** onRequest hook (no-auth mode): 403 unless the Host header names an IP address or localhost. */
export function hostCheckHook(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  const host = request.headers.host ?? '';
  if (isLoopbackOrIpHost(host)) return Promise.resolve();
  return Promise.reject(
    new HttpError(
      403,
      'FORBIDDEN_HOST',
      `host ${JSON.stringify(host.slice(0, 100))} refused: without authentication the API answers only to an IP address or localhost (set JOBQ_API_TOKENS to serve other names)`,
    ),
  );
}

/** onRequest hook: 403 for a state-changing request sent by a page of another origin. */
export function sameOriginHook(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  if (SAFE_METHODS.has(request.method)) return Promise.resolve();
  const origin = request.headers.origin;
  const site = request.headers['sec-fetch-site'];
  const host = request.headers.host ?? '';
  let sameOrigin = true;
  if (typeof origin === 'string') {
    try {
      sameOrigin = origin !== 'null' && new URL(origin).host === host.toLowerCase();
    } catch {
      sameOrigin = false;
    }
  }
  if (site === 'cross-site' || site === 'same-site') sameOrigin = false;
  if (sameOrigin) return Promise.resolve();
  return Promise.reject(
    new HttpError(
      403,
      'CROSS_ORIGIN',
      'cross-origin request refused: the API changes state only for its own dashboard and for clients outside a browser',
    ),
  );
}
