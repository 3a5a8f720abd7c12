// Input PostgreSQL would refuse or mangle is refused before it gets there, over HTTP and in the CLI:
// NUL and unpaired surrogates in payloads and their keys, in idempotency keys and job keys (a key
// "k\uD800" would otherwise be stored as "k\uFFFD" and collide), dates that do not exist, non-JSON and non-UTF-8 bodies, unknown
// methods; long delays work; errors never echo a file or a huge value. Nothing is written on refusal.
import { writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { freshDb } from '../helpers/db.js';
import { expectRefused, request, rowCounts, startApi, type RefusalCase, type RunningApi } from './helpers.js';

const db = await freshDb();
let api: RunningApi;

beforeAll(async () => {
  api = await startApi(db, { auth: 'none' });
});
afterAll(() => api.close());

const cases: RefusalCase[] = [
  {
    name: 'payload string with an unpaired surrogate',
    path: '/jobs',
    body: '{"type":"demo","payload":{"s":"a\\ud800b"}}',
    status: 400,
    code: 'VALIDATION',
    field: 'payload.s',
    says: ['unpaired surrogate'],
  },
  {
    name: 'payload key with NUL',
    path: '/jobs',
    body: '{"type":"demo","payload":{"list":[{"k\\u0000":1}]}}',
    status: 400,
    code: 'VALIDATION',
    field: 'payload.list[0] (a key)',
    says: ['NUL'],
  },
  {
    name: 'idempotency key with NUL',
    path: '/jobs',
    body: '{"type":"demo","idempotencyKey":"k\\u0000"}',
    status: 400,
    code: 'VALIDATION',
    field: 'idempotencyKey',
    says: ['NUL'],
  },
  {
    name: 'idempotency key with a lone low surrogate',
    path: '/jobs',
    body: '{"type":"demo","idempotencyKey":"k\\udbff"}',
    status: 400,
    code: 'VALIDATION',
    field: 'idempotencyKey',
    says: ['unpaired surrogate'],
  },
  {
    name: 'job key (tenant) with NUL',
    path: '/jobs',
    body: '{"type":"demo","key":"tenant\\u0000"}',
    status: 400,
    code: 'VALIDATION',
    field: 'key',
    says: ['NUL'],
  },
  {
    name: 'job key (tenant) with a lone high surrogate',
    path: '/jobs',
    body: '{"type":"demo","key":"tenant\\ud800"}',
    status: 400,
    code: 'VALIDATION',
    field: 'key',
    says: ['unpaired surrogate'],
  },
  {
    name: 'batch entry with a NUL in its job key',
    path: '/jobs/batch',
    body: '{"jobs":[{"type":"ok","key":"a"},{"type":"ok","key":"b\\u0000"}]}',
    status: 400,
    code: 'VALIDATION',
    field: 'jobs[1].key',
    says: ['NUL'],
  },
  {
    name: 'batch entry with an unpaired surrogate',
    path: '/jobs/batch',
    body: '{"jobs":[{"type":"ok"},{"type":"ok","payload":"\\udc00"}]}',
    status: 400,
    code: 'VALIDATION',
    field: 'jobs[1].payload',
    says: ['unpaired surrogate'],
  },
  {
    name: 'schedule payload with an unpaired surrogate',
    method: 'PUT',
    path: '/schedules/nightly',
    body: '{"cron":"0 3 * * *","type":"demo","payload":{"s":"\\ud800"}}',
    status: 400,
    code: 'VALIDATION',
    field: 'payload.s',
    says: ['unpaired surrogate'],
  },
  {
    name: 'runAt on a day that does not exist',
    path: '/jobs',
    body: { type: 'demo', runAt: '2030-02-30' },
    status: 400,
    code: 'VALIDATION',
    field: 'runAt',
    says: ['a date that exists', '2030-02-30'],
  },
  {
    name: 'runAt with a trailing NUL',
    path: '/jobs',
    body: { type: 'demo', runAt: '2030-01-01T00:00:00Z\u0000' },
    status: 400,
    code: 'VALIDATION',
    field: 'runAt',
    says: ['ISO-8601'],
  },
  {
    name: 'runAt at 24:61',
    path: '/jobs',
    body: { type: 'demo', runAt: '2030-01-01T24:61:00Z' },
    status: 400,
    code: 'VALIDATION',
    field: 'runAt',
    says: ['ISO-8601'],
  },
  {
    name: 'delaySeconds beyond ten years',
    path: '/jobs',
    body: { type: 'demo', delaySeconds: 400_000_000 },
    status: 400,
    code: 'VALIDATION',
    field: 'delaySeconds',
    says: ['seconds from 0 to 315360000'],
  },
  {
    name: 'a 10,000-character idempotency key is not echoed whole',
    path: '/jobs',
    body: { type: 'demo', idempotencyKey: 'k'.repeat(10_000) },
    status: 400,
    code: 'VALIDATION',
    field: 'idempotencyKey',
    says: ['10002 characters'],
  },
  {
    name: 'text/plain body',
    path: '/jobs',
    body: '{"type":"demo"}',
    headers: { 'content-type': 'text/plain' },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    field: null,
    says: ['application/json'],
  },
  {
    name: 'JSON in UTF-16',
    path: '/jobs',
    body: '{"type":"demo"}',
    headers: { 'content-type': 'application/json; charset=utf-16' },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    field: null,
    says: ['UTF-8', 'utf-16'],
  },
  {
    name: 'malformed JSON does not quote the body',
    path: '/jobs',
    body: '{"type":"demo","secret":"hunter2hunter2" oops}',
    status: 400,
    code: 'INVALID_JSON',
    field: 'body',
    says: ['position'],
  },
];

describe('refused before PostgreSQL sees it', () => {
  it.each(cases)('$name → $status $code ($field), nothing written', async (c) => {
    const res = await expectRefused(api.url, db.exec, c);
    expect(res.text.length).toBeLessThan(600);
    expect(res.text).not.toContain('hunter2');
  });

  it('charset=utf-8 (any spelling) is accepted', async () => {
    for (const ct of ['application/json; charset=utf-8', 'application/json;charset=UTF8']) {
      const res = await request(`${api.url}/jobs`, {
        body: { type: 'demo' },
        headers: { 'content-type': ct },
      });
      expect(res.status, ct).toBe(201);
    }
  });

  it('an Idempotency-Key header is read as UTF-8 like the body; bytes that are not UTF-8 are refused', async () => {
    // header values travel as bytes: a string of Latin-1 characters, one per byte
    const utf8Bytes = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
    const first = await request(`${api.url}/jobs`, {
      body: { type: 'demo' },
      headers: { 'idempotency-key': utf8Bytes('café-1') },
    });
    expect(first.status, first.text).toBe(201);
    expect(first.body.job.idempotencyKey).toBe('café-1');
    const again = await request(`${api.url}/jobs`, { body: { type: 'demo', idempotencyKey: 'café-1' } });
    expect(again.status, again.text).toBe(200);
    expect(again.body.job.id).toBe(first.body.job.id);
    const both = await request(`${api.url}/jobs`, {
      body: { type: 'demo', idempotencyKey: 'café-1' },
      headers: { 'idempotency-key': utf8Bytes('café-1') },
    });
    expect(both.status, both.text).toBe(200);
    await expectRefused(api.url, db.exec, {
      name: 'a header that is not UTF-8',
      path: '/jobs',
      body: { type: 'demo' },
      headers: { 'idempotency-key': 'k\xff' },
      status: 400,
      code: 'VALIDATION',
      field: 'Idempotency-Key',
      says: ['UTF-8'],
    });
  });

  it('an unknown HTTP method gets the API error shape', async () => {
    const port = new URL(api.url).port;
    const raw = await new Promise<string>((resolve, reject) => {
      const s = netConnect(Number(port), '127.0.0.1', () => s.end('FOO /jobs HTTP/1.1\r\nHost: x\r\n\r\n'));
      let out = '';
      s.on('data', (d: Buffer) => (out += d.toString()));
      s.on('close', () => resolve(out));
      s.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
    expect(body.error.code).toBe('BAD_REQUEST');
  });

  it('delays longer than 24.8 days (beyond a 32-bit millisecond count) work, in the API and the CLI', async () => {
    const res = await request(`${api.url}/jobs`, { body: { type: 'demo', delaySeconds: 30 * 86_400 } });
    expect(res.status, res.text).toBe(201);
    const days = (Date.parse(res.body.job.runAfter) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    const cli = await runCli(['enqueue', 'demo', '--delay', '25d', '--json'], db.env);
    expect(cli.code, cli.stderr).toBe(0);
    const { job } = JSON.parse(cli.stdout) as { job: { runAfter: string } };
    expect((Date.parse(job.runAfter) - Date.now()) / 86_400_000).toBeGreaterThan(24.9);
  });
});

describe('the CLI refuses the same, without echoing files or huge values', () => {
  it('--payload @file that is not JSON names the file, never its contents', async () => {
    const file = path.join(tmpdir(), `jobq-secret-${process.pid}.txt`);
    writeFileSync(file, 'root:$6$supersecrethash:19000:0:99999:7:::\n');
    const before = await rowCounts(db.exec);
    const r = await runCli(['enqueue', 'demo', '--payload', `@${file}`], db.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--payload: expected valid JSON');
    expect(r.stderr).toContain(file);
    expect(r.stderr).not.toMatch(/root|supersecret/);
    const batch = await runCli(['enqueue', '--batch', file], db.env);
    expect(batch.code).toBe(1);
    expect(batch.stderr).not.toMatch(/root|supersecret/);
    expect(await rowCounts(db.exec)).toEqual(before);
  });

  it('a huge idempotency key, a lone surrogate, a NUL (idempotency key, job key) and an impossible date: one short line each', async () => {
    const before = await rowCounts(db.exec);
    const cases: [string[], string | undefined, RegExp][] = [
      [
        ['enqueue', 'demo', '--idempotency-key', 'k'.repeat(10_000)],
        undefined,
        /idempotencyKey.*10002 characters/,
      ],
      [
        ['enqueue', 'demo', '--payload', '{"s":"\\ud800"}'],
        undefined,
        /payload\.s: expected text without unpaired/,
      ],
      [
        ['enqueue', '--batch', '-'],
        '{"type":"demo","idempotencyKey":"k\\u0000"}\n',
        /line 1: idempotencyKey.*NUL/,
      ],
      [
        ['enqueue', '--batch', '-'],
        '{"type":"demo","key":"t"}\n{"type":"demo","key":"t\\u0000"}\n',
        /line 2: key.*NUL/,
      ],
      [['enqueue', '--batch', '-'], '{"type":"demo","key":"t\\udc00"}\n', /line 1: key.*unpaired/],
      [['enqueue', 'demo', '--run-at', '2030-02-30'], undefined, /--run-at|runAt/],
    ];
    for (const [args, stdin, says] of cases) {
      const r = await runCli(args, db.env, stdin);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(says);
      expect(r.stderr.length).toBeLessThan(400);
    }
    expect(await rowCounts(db.exec)).toEqual(before);
  });
});
