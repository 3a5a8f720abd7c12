// Authentication over real HTTP: every protected route answers 401 without a token or with a wrong one
// (and writes nothing), 2xx with a valid one; probes and dashboard files are open; tokens never reach the
// log; `jobq api` refuses to start without tokens unless --insecure-no-auth.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchToken, parseTokens } from '../../src/api/auth.js';
import { ValidationError } from '../../src/errors.js';
import { freshDb } from '../helpers/db.js';
import { runCli } from '../helpers/cli.js';
import {
  request,
  rowCounts,
  seedJobs,
  servedRoutes,
  startApi,
  type RunningApi,
  type Seeded,
} from './helpers.js';

const TOKEN = 'ci-token-5f0c2a9e';
const db = await freshDb();
let api: RunningApi;
let seeded: Seeded;
const logLines: string[] = [];

beforeAll(async () => {
  seeded = await seedJobs(db.exec);
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(chunk.toString());
      cb();
    },
  });
  api = await startApi(db, {
    auth: 'required',
    // wrong tokens by the hundred from one address: the failed-auth throttle is tested on its own
    env: { JOBQ_API_TOKENS: `ci:${TOKEN}, ops:another-token-77`, JOBQ_AUTH_FAILURE_LIMIT: '0' },
    log: pino({ level: 'trace' }, sink),
  });
});
afterAll(() => api.close());

/** A concrete URL for a route pattern. */
function concrete(url: string): string {
  return url.replace(':id', seeded.pending).replace(':name', 'default');
}

/** The routes anyone may call: probes and the dashboard's static files. Everything else needs a token. */
const PUBLIC_ROUTES = new Set([
  'GET /',
  'GET /healthz',
  'GET /readyz',
  'GET /index.html',
  'GET /app.js',
  'GET /style.css',
]);
const isPublic = (r: { method: string; url: string }): boolean =>
  PUBLIC_ROUTES.has(`${r.method} ${r.url}`) || (r.method === 'GET' && /^\/js\/[\w/-]+\.js$/.test(r.url));

describe('authentication', () => {
  it('answers 401 on every route the server serves, except the public ones, without a token or with a wrong one, and writes nothing', async () => {
    const served = servedRoutes(api.app);
    const routes = served.filter((r) => !isPublic(r));
    expect(routes.length).toBeGreaterThanOrEqual(20);
    // the sweep reads fastify's table, so it sees more than the application's own list
    for (const r of api.app.protectedRoutes) expect(routes).toContainEqual(r);
    for (const p of PUBLIC_ROUTES) expect(served.map((r) => `${r.method} ${r.url}`)).toContain(p);
    const before = await rowCounts(db.exec);
    for (const r of routes) {
      for (const auth of [undefined, 'Bearer wrong-token', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, 'Bearer ']) {
        const res = await request(`${api.url}${concrete(r.url)}`, {
          method: r.method,
          headers: auth === undefined ? {} : { authorization: auth },
          ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { body: { type: 'demo.echo' } }),
        });
        expect(res.status, `${r.method} ${r.url} with ${auth ?? 'no header'}`).toBe(401);
        expect(res.body.error.code).toBe('UNAUTHORIZED');
        expect(res.headers.get('www-authenticate')).toContain('Bearer');
      }
    }
    expect(await rowCounts(db.exec)).toEqual(before);
  });

  it('answers 2xx on every protected route with a valid token', async () => {
    const calls: [string, string, unknown?][] = [
      ['GET', '/jobs'],
      ['GET', `/jobs/${seeded.pending}`],
      ['POST', '/jobs', { type: 'demo.echo' }],
      ['POST', '/jobs/batch', { jobs: [{ type: 'demo.echo' }] }],
      ['POST', `/jobs/${seeded.dead}/retry`],
      ['POST', `/jobs/${seeded.pending}/cancel`],
      ['GET', '/queues'],
      ['GET', '/overview'],
      ['POST', '/queues/default/pause'],
      ['POST', '/queues/default/resume'],
      ['GET', '/limits'],
      ['GET', '/queues/default/limits'],
      ['PUT', '/queues/default/limits', { concurrency: 5 }],
      ['DELETE', '/queues/default/limits'],
      ['GET', '/dead'],
      ['POST', '/dead/retry', {}],
      ['GET', '/workers'],
      ['GET', '/metrics'],
      ['GET', '/schedules'],
      ['GET', `/jobs/${seeded.pending}/explain`],
    ];
    const covered = new Set(calls.map(([m, u]) => `${m} ${u}`));
    for (const r of servedRoutes(api.app).filter((x) => !isPublic(x) && !x.url.includes('schedules/'))) {
      const url = r.url
        .replace(':id', r.url.includes('retry') ? seeded.dead : seeded.pending)
        .replace(':name', 'default');
      expect(covered.has(`${r.method} ${url}`), `${r.method} ${r.url} is exercised with a token`).toBe(true);
    }
    for (const [method, url, body] of calls) {
      const token = method === 'GET' ? TOKEN : 'another-token-77';
      const res = await request(`${api.url}${url}`, {
        method,
        token,
        ...(body === undefined ? {} : { body }),
      });
      expect(res.status, `${method} ${url}: ${res.text.slice(0, 200)}`).toBeGreaterThanOrEqual(200);
      expect(res.status, `${method} ${url}: ${res.text.slice(0, 300)}`).toBeLessThan(300);
    }
    const cancelled = await request(`${api.url}/jobs/${seeded.pending}`, { token: TOKEN });
    expect(cancelled.body.job.cancelledBy).toBe('api:ops');
  });

  it('serves /healthz, /readyz and the dashboard files without a token', async () => {
    expect((await request(`${api.url}/healthz`)).status).toBe(200);
    const ready = await request(`${api.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', database: 'reachable' });
    for (const path of ['/', '/app.js', '/style.css', '/js/api.js']) {
      const res = await fetch(`${api.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      await res.text();
    }
  });

  it('never writes a token to the log', async () => {
    await request(`${api.url}/jobs/not-a-uuid`, { token: TOKEN });
    await request(`${api.url}/jobs`, { method: 'POST', token: TOKEN, body: '{bad json' });
    await request(`${api.url}/jobs`, { token: 'wrong-secret-token-3c1d' });
    const all = logLines.join('');
    expect(all).toContain('"route":"/jobs/:id"');
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain('wrong-secret-token-3c1d');
    expect(all).not.toContain('another-token-77');
  });
});

describe('token configuration', () => {
  it('parses name:token pairs and matches in constant time by digest', () => {
    const tokens = parseTokens(' a:one , b:two:with-colon ');
    expect(tokens.map((t) => t.name)).toEqual(['a', 'b']);
    expect(matchToken(tokens, 'two:with-colon')).toBe('b');
    expect(matchToken(tokens, 'one')).toBe('a');
    expect(matchToken(tokens, 'on')).toBeNull();
    expect(matchToken(tokens, '')).toBeNull();
  });

  it('rejects malformed JOBQ_API_TOKENS without echoing a token', () => {
    for (const bad of ['zq9secret', ':zq9secret', 'a:', 'a:x,a:zq9secret', ',', 'bad name:zq9secret']) {
      let err: unknown;
      try {
        parseTokens(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toContain('JOBQ_API_TOKENS');
      expect((err as Error).message).not.toContain('zq9secret');
    }
  });

  it('jobq api refuses to start without tokens (exit 2) unless --insecure-no-auth', async () => {
    const r = await runCli(['api', '--port', '0'], { ...db.env, JOBQ_API_TOKENS: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no API tokens configured');
    expect(r.stderr).toContain('--insecure-no-auth');
  });
});
