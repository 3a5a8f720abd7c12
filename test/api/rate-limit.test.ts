// Per-client rate limiting kept in PostgreSQL: one process (burst, 429 + Retry-After, refill, separate
// buckets per token, probes exempt), then TWO real `jobq api` processes sharing one schema and one token,
// flooded together, admit no more than rate × elapsed + burst.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDb } from '../helpers/db.js';
import { JOBQ_BIN } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from '../../src/db/embedded.js';
import { request, startApi, type JsonResponse } from './helpers.js';

const db = await freshDb();

describe('rate limit in one process', () => {
  it('admits the burst, then 429 with Retry-After; tokens refill; buckets are per token; probes are exempt', async () => {
    const api = await startApi(db, {
      auth: 'required',
      env: {
        JOBQ_API_TOKENS: 'a:token-a,b:token-b',
        JOBQ_RATE_LIMIT_PER_SEC: '1',
        JOBQ_RATE_LIMIT_BURST: '3',
      },
    });
    try {
      const statuses: number[] = [];
      let limited: JsonResponse | undefined;
      for (let i = 0; i < 5; i++) {
        const r = await request(`${api.url}/jobs?limit=1`, { token: 'token-a' });
        statuses.push(r.status);
        if (r.status === 429) limited = r;
      }
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses.slice(3)).toEqual([429, 429]);
      expect(limited?.headers.get('retry-after')).toBe('1');
      expect(limited?.body.error.code).toBe('RATE_LIMITED');
      expect(limited?.headers.get('x-ratelimit-remaining')).toBe('0');
      // another client has its own bucket; probes are never limited
      expect((await request(`${api.url}/jobs?limit=1`, { token: 'token-b' })).status).toBe(200);
      for (let i = 0; i < 5; i++) expect((await request(`${api.url}/healthz`)).status).toBe(200);
      // one token per second comes back
      const t0 = Date.now();
      await waitFor(
        async () => (await request(`${api.url}/jobs?limit=1`, { token: 'token-a' })).status === 200,
        {
          timeoutMs: 5000,
          intervalMs: 100,
          what: 'a refilled token',
        },
      );
      expect(Date.now() - t0).toBeLessThan(2500);
    } finally {
      await api.close();
    }
  });

  it('keys unauthenticated clients by address', async () => {
    const api = await startApi(db, {
      auth: 'none',
      env: { JOBQ_RATE_LIMIT_PER_SEC: '1', JOBQ_RATE_LIMIT_BURST: '2' },
    });
    try {
      const codes = [];
      for (let i = 0; i < 3; i++) codes.push((await request(`${api.url}/queues`)).status);
      expect(codes).toEqual([200, 200, 429]);
    } finally {
      await api.close();
    }
  });
});

describe('rate limit across two API processes', () => {
  const children: ChildProcess[] = [];
  afterAll(async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            const force = setTimeout(() => c.kill('SIGKILL'), 15_000);
            c.once('exit', () => {
              clearTimeout(force);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
  });

  it('two processes flooded together admit at most rate × elapsed + burst; every 429 has Retry-After', async () => {
    const RATE = 5;
    const BURST = 10;
    const TOKEN = 'flood-token-9d2e';
    const ports = [await freePort(), await freePort()];
    for (const port of ports) {
      const child = spawn(
        process.execPath,
        [JOBQ_BIN, 'api', '--host', '127.0.0.1', '--port', String(port)],
        {
          env: {
            ...process.env,
            ...db.env,
            JOBQ_API_TOKENS: `flood:${TOKEN}`,
            JOBQ_RATE_LIMIT_PER_SEC: String(RATE),
            JOBQ_RATE_LIMIT_BURST: String(BURST),
            JOBQ_LOG_LEVEL: 'warn',
          },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      children.push(child);
    }
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    for (const url of urls) {
      await waitFor(async () => (await request(`${url}/readyz`)).status === 200, {
        timeoutMs: 20_000,
        what: `${url} ready`,
      });
    }
    const results: { status: number; retryAfter: string | null }[] = [];
    const FLOOD_MS = 2500;
    const t0 = Date.now();
    await Promise.all(
      urls.flatMap((url) =>
        Array.from({ length: 6 }, async () => {
          while (Date.now() - t0 < FLOOD_MS) {
            const r = await request(`${url}/jobs?limit=1`, { token: TOKEN });
            results.push({ status: r.status, retryAfter: r.headers.get('retry-after') });
          }
        }),
      ),
    );
    const elapsedS = (Date.now() - t0) / 1000;
    const admitted = results.filter((r) => r.status === 200).length;
    const limited = results.filter((r) => r.status === 429);
    expect(results.length).toBe(admitted + limited.length);
    expect(limited.length).toBeGreaterThan(50);
    // the full bucket, then refills (about RATE per second) — and never more than that
    expect(admitted).toBeGreaterThan(BURST);
    expect(admitted).toBeLessThanOrEqual(RATE * elapsedS + BURST);
    for (const r of limited) expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    for (const r of limited) expect(Number.isInteger(Number(r.retryAfter))).toBe(true);
  });
});
