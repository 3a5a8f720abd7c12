// Bearer-token authentication. Tokens come from JOBQ_API_TOKENS ("name:token,name2:token2"); only their
// SHA-256 digests are kept, and a presented token is compared against every configured digest with
// crypto.timingSafeEqual (equal-length digests, no early exit), so timing reveals neither a token nor
// which one matched. Tokens are never logged.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ValidationError } from '../errors.js';
import { HttpError } from './errors.js';

export interface TokenEntry {
  name: string;
  digest: Buffer;
}

const TOKENS_EXPECTED = 'comma-separated name:token pairs, e.g. ci:s3cret-token,ops:an0ther-token';
const TOKEN_NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Parses JOBQ_API_TOKENS; throws a ValidationError naming the offending entry (never echoing a token). */
export function parseTokens(text: string): TokenEntry[] {
  const out: TokenEntry[] = [];
  const names = new Set<string>();
  text.split(',').forEach((raw, i) => {
    const entry = raw.trim();
    if (entry === '') return;
    const colon = entry.indexOf(':');
    const name = colon < 0 ? '' : entry.slice(0, colon).trim();
    const token = colon < 0 ? '' : entry.slice(colon + 1).trim();
    if (!TOKEN_NAME_RE.test(name) || token === '')
      throw new ValidationError(`JOBQ_API_TOKENS entry ${i + 1}`, TOKENS_EXPECTED);
    if (names.has(name))
      throw new ValidationError(`JOBQ_API_TOKENS entry ${i + 1}`, `a unique name (${name} appears twice)`);
    names.add(name);
    out.push({ name, digest: digest(token) });
  });
  if (out.length === 0) throw new ValidationError('JOBQ_API_TOKENS', TOKENS_EXPECTED);
  return out;
}

/** The name of the token that matches, or null. Looks at every entry whatever the outcome. */
export function matchToken(tokens: TokenEntry[], presented: string): string | null {
  const d = digest(presented);
  let found: string | null = null;
  for (const t of tokens) {
    if (timingSafeEqual(t.digest, d) && found === null) found = t.name;
  }
  return found;
}

/** The bearer token of a request, or null. */
export function bearerToken(request: FastifyRequest): string | null {
  const h = request.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1] ?? null;
}

const THROTTLE_WINDOW_MS = 60_000;
const THROTTLE_MAX_CLIENTS = 10_000;

/**
 * Counts wrong tokens per client address (this process only: enough to make guessing slow) and refuses
 * a client that sent `limit` of them within a minute until that minute is over. 0 turns it off.
 */
export class FailedAuthThrottle {
  private readonly failures = new Map<string, { count: number; until: number }>();

  constructor(
    private readonly limit: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds the client must wait, or 0 when it may try. */
  retryAfterSeconds(client: string): number {
    const f = this.failures.get(client);
    if (!f || this.limit === 0) return 0;
    const left = f.until - this.now();
    if (left <= 0) {
      this.failures.delete(client);
      return 0;
    }
    return f.count >= this.limit ? Math.ceil(left / 1000) : 0;
  }

  /** Records one wrong token from the client. */
  failed(client: string): void {
    if (this.limit === 0) return;
    const now = this.now();
    const f = this.failures.get(client);
    if (f && f.until > now) f.count++;
    else {
      if (this.failures.size >= THROTTLE_MAX_CLIENTS) this.prune(now);
      this.failures.set(client, { count: 1, until: now + THROTTLE_WINDOW_MS });
    }
  }

  private prune(now: number): void {
    for (const [k, f] of this.failures) if (f.until <= now) this.failures.delete(k);
    // Still full (a flood from many addresses): forget the oldest entries rather than grow without bound.
    for (const k of this.failures.keys()) {
      if (this.failures.size < THROTTLE_MAX_CLIENTS) break;
      this.failures.delete(k);
    }
  }
}

/**
 * onRequest hook: 401 unless the request carries a configured token; sets request.principal. A client
 * address that sent too many wrong tokens gets 429 with Retry-After, without its token being checked.
 */
export function authHook(tokens: TokenEntry[], throttle = new FailedAuthThrottle(0)) {
  return (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const wait = throttle.retryAfterSeconds(request.ip);
    if (wait > 0) {
      return Promise.reject(
        new HttpError(
          429,
          'TOO_MANY_FAILED_AUTH',
          `too many wrong tokens from this address; retry after ${wait}s`,
          null,
          { 'retry-after': String(wait) },
        ),
      );
    }
    const presented = bearerToken(request);
    const name = presented === null ? null : matchToken(tokens, presented);
    if (name === null) {
      if (presented !== null) throttle.failed(request.ip);
      return Promise.reject(
        new HttpError(
          401,
          'UNAUTHORIZED',
          presented === null
            ? 'missing bearer token: send Authorization: Bearer <token> (tokens are configured in JOBQ_API_TOKENS)'
            : 'invalid bearer token',
          null,
          { 'www-authenticate': 'Bearer realm="jobq"' },
        ),
      );
    }
    request.principal = name;
    return Promise.resolve();
  };
}
