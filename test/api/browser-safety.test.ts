// The API as a browser and an attacker see it: without authentication, a page of another origin cannot
// change anything (checked in Chromium) and a foreign Host name (DNS rebinding) gets nothing, while the
// dashboard and curl keep working; with authentication, wrong tokens from one address are throttled.
import { request as httpRequest, createServer, type Server } from 'node:http';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailedAuthThrottle } from '../../src/api/auth.js';
import { freshDb } from '../helpers/db.js';
import { request, rowCounts, startApi, type RunningApi } from './helpers.js';
import { hasChromium, launchChromium } from '../helpers/browser.js';

const db = await freshDb();
let open: RunningApi;

beforeAll(async () => {
  open = await startApi(db, { auth: 'none' });
});
afterAll(() => open.close());

async function paused(queue: string): Promise<boolean> {
  const r = await sql<{
    paused: boolean;
  }>`SELECT paused FROM ${db.exec.t.queues} WHERE name = ${queue}`.execute(db.exec.raw);
  return r.rows[0]?.paused ?? false;
}

/** A raw HTTP request with a Host header of our choosing (fetch does not let us set it). */
function withHost(url: string, host: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('no-auth mode', () => {
  it('refuses a Host name that is not an IP address or localhost (DNS rebinding), for reads and writes', async () => {
    const before = await rowCounts(db.exec);
    for (const [method, path] of [
      ['GET', '/jobs'],
      ['GET', '/'],
      ['POST', '/queues/rebound/pause'],
    ] as const) {
      const r = await withHost(`${open.url}${path}`, 'attacker.example:8000', method);
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.body).toContain('FORBIDDEN_HOST');
    }
    expect(await paused('rebound')).toBe(false);
    expect(await rowCounts(db.exec)).toEqual(before);
    const port = new URL(open.url).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `app.localhost:${port}`, `[::1]:${port}`])
      expect((await withHost(`${open.url}/jobs`, host)).status, host).toBe(200);
  });

  it('refuses a state-changing request from another origin; same-origin and curl-like requests work', async () => {
    const before = await rowCounts(db.exec);
    const foreign: Record<string, string>[] = [
      { origin: 'http://attacker.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
    ];
    for (const headers of foreign) {
      const r = await request(`${open.url}/jobs`, { body: { type: 'demo' }, headers });
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(r.body.error.code).toBe('CROSS_ORIGIN');
    }
    expect(await rowCounts(db.exec)).toEqual(before);
    const same = await request(`${open.url}/jobs`, {
      body: { type: 'demo' },
      headers: { origin: open.url, 'sec-fetch-site': 'same-origin' },
    });
    expect(same.status).toBe(201);
    expect((await request(`${open.url}/jobs`, { body: { type: 'demo' } })).status).toBe(201);
  });

  it.skipIf(!hasChromium && !process.env.CI)(
    'in Chromium: a page of another site cannot pause a queue; the dashboard on the API origin can',
    async () => {
      const apiPort = new URL(open.url).port;
      const evil: Server = createServer((_req, res) => {
        res.setHeader('content-type', 'text/html');
        res.end('<!doctype html><title>evil</title><p>hi</p>');
      });
      await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
      const addr = evil.address();
      const evilPort = typeof addr === 'object' && addr ? addr.port : 0;
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        // another site (localhost vs 127.0.0.1 are different sites), as in the reported attack
        await page.goto(`http://localhost:${evilPort}/`);
        await page.evaluate(async (url) => {
          await fetch(url, { method: 'POST', mode: 'no-cors' }).catch(() => undefined);
        }, `http://127.0.0.1:${apiPort}/queues/victim/pause`);
        // the same from a page on the same host but another port (same site, another origin)
        await page.goto(`http://127.0.0.1:${evilPort}/`);
        await page.evaluate(async (url) => {
          await fetch(url, { method: 'POST', mode: 'no-cors' }).catch(() => undefined);
        }, `http://127.0.0.1:${apiPort}/queues/victim/pause`);
        expect(await paused('victim')).toBe(false);
        // the dashboard's own origin may
        await page.goto(`${open.url}/`);
        const status = await page.evaluate(async (url) => {
          const r = await fetch(url, { method: 'POST' });
          return r.status;
        }, `${open.url}/queues/victim/pause`);
        expect(status).toBe(200);
        expect(await paused('victim')).toBe(true);
      } finally {
        await browser.close();
        evil.close();
      }
    },
  );
});

describe('failed authentication', () => {
  it('50 wrong-token requests from one address get 429 after 10 (with Retry-After); other clients are not affected', async () => {
    const api = await startApi(db, { auth: 'required', env: { JOBQ_API_TOKENS: 'ci:right-token-9f1e' } });
    try {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 50; i++) {
        const r = await request(`${api.url}/jobs`, { token: `wrong-${i}` });
        statuses.push(r.status);
        if (r.status === 429) retryAfter = r.headers.get('retry-after');
      }
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
      expect(statuses.slice(10)).toEqual(Array(40).fill(429));
      expect(Number(retryAfter)).toBeGreaterThan(0);
      expect(Number(retryAfter)).toBeLessThanOrEqual(60);
      // while blocked, even a right token from that address waits: guesses are not checked at all
      expect((await request(`${api.url}/jobs`, { token: 'right-token-9f1e' })).status).toBe(429);
      // a request without a token is not a guess, and probes stay open
      expect((await request(`${api.url}/healthz`)).status).toBe(200);
    } finally {
      await api.close();
    }
  });

  it('the throttle forgets an address after its minute, and holds a bounded number of addresses', () => {
    let now = 0;
    const t = new FailedAuthThrottle(3, () => now);
    for (let i = 0; i < 3; i++) t.failed('a');
    expect(t.retryAfterSeconds('a')).toBe(60);
    expect(t.retryAfterSeconds('b')).toBe(0);
    now = 59_500;
    expect(t.retryAfterSeconds('a')).toBe(1);
    now = 60_000;
    expect(t.retryAfterSeconds('a')).toBe(0);
    for (let i = 0; i < 20_000; i++) t.failed(`ip-${i}`);
    expect((t as unknown as { failures: Map<string, unknown> }).failures.size).toBeLessThanOrEqual(10_000);
    expect(new FailedAuthThrottle(0).retryAfterSeconds('a')).toBe(0);
  });
});
