// Validation over real HTTP: every bad input gets its status and a {error: {code, message, field}} body
// naming the field and what was expected, and nothing is written (row counts unchanged).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toErrorResponse } from '../../src/api/errors.js';
import { connect } from '../../src/db/connect.js';
import { freshDb } from '../helpers/db.js';
import { expectRefused, request, startApi, type RefusalCase, type RunningApi } from './helpers.js';

const db = await freshDb();
let api: RunningApi;
const MAX = 4096;

beforeAll(async () => {
  api = await startApi(db, { auth: 'none', env: { JOBQ_MAX_PAYLOAD_BYTES: String(MAX) } });
});
afterAll(() => api.close());

const id = '01890a5d-ac96-774b-bcce-b302099a8057';
const cases: RefusalCase[] = [
  {
    name: 'malformed JSON',
    path: '/jobs',
    body: '{"type": "demo",',
    status: 400,
    code: 'INVALID_JSON',
    field: 'body',
    says: ['valid JSON'],
  },
  {
    name: 'JSON that is not an object',
    path: '/jobs',
    body: '[1,2]',
    status: 400,
    code: 'VALIDATION',
    field: 'body',
    says: ['JSON object'],
  },
  {
    name: 'prototype poisoning',
    path: '/jobs',
    body: '{"type":"demo","__proto__":{"x":1}}',
    status: 400,
    code: 'INVALID_JSON',
    field: 'body',
    says: ['forbidden key'],
  },
  {
    name: 'missing type',
    path: '/jobs',
    body: { payload: {} },
    status: 400,
    code: 'VALIDATION',
    field: 'type',
    says: ['required', 'a name of 1-64 characters'],
  },
  {
    name: 'type with capitals',
    path: '/jobs',
    body: { type: 'Email.Send' },
    status: 400,
    code: 'VALIDATION',
    field: 'type',
    says: ['[a-z0-9]', '"Email.Send"'],
  },
  {
    name: 'type not a string',
    path: '/jobs',
    body: { type: 42 },
    status: 400,
    code: 'VALIDATION',
    field: 'type',
    says: ['a name'],
  },
  {
    name: 'queue with a space',
    path: '/jobs',
    body: { type: 'demo', queue: 'my queue' },
    status: 400,
    code: 'VALIDATION',
    field: 'queue',
    says: ['a name'],
  },
  {
    name: 'priority out of range',
    path: '/jobs',
    body: { type: 'demo', priority: 5000 },
    status: 400,
    code: 'VALIDATION',
    field: 'priority',
    says: ['a whole number from -1000 to 1000', '5000'],
  },
  {
    name: 'priority not whole',
    path: '/jobs',
    body: { type: 'demo', priority: 1.5 },
    status: 400,
    code: 'VALIDATION',
    field: 'priority',
    says: ['whole number'],
  },
  {
    name: 'priority as a string',
    path: '/jobs',
    body: { type: 'demo', priority: '5' },
    status: 400,
    code: 'VALIDATION',
    field: 'priority',
    says: ['whole number'],
  },
  {
    name: 'negative delay',
    path: '/jobs',
    body: { type: 'demo', delaySeconds: -1 },
    status: 400,
    code: 'VALIDATION',
    field: 'delaySeconds',
    says: ['seconds from 0'],
  },
  {
    name: 'absurd delay',
    path: '/jobs',
    body: { type: 'demo', delaySeconds: 1e12 },
    status: 400,
    code: 'VALIDATION',
    field: 'delaySeconds',
    says: ['seconds from 0'],
  },
  {
    name: 'runAt not a time',
    path: '/jobs',
    body: { type: 'demo', runAt: 'tomorrow' },
    status: 400,
    code: 'VALIDATION',
    field: 'runAt',
    says: ['ISO-8601'],
  },
  {
    name: 'runAt and delay together',
    path: '/jobs',
    body: { type: 'demo', runAt: '2030-01-01T00:00:00Z', delaySeconds: 5 },
    status: 400,
    code: 'VALIDATION',
    field: 'runAt',
    says: ['not both'],
  },
  {
    name: 'maxAttempts zero',
    path: '/jobs',
    body: { type: 'demo', maxAttempts: 0 },
    status: 400,
    code: 'VALIDATION',
    field: 'maxAttempts',
    says: ['from 1 to 1000'],
  },
  {
    name: 'empty idempotency key',
    path: '/jobs',
    body: { type: 'demo', idempotencyKey: '' },
    status: 400,
    code: 'VALIDATION',
    field: 'idempotencyKey',
    says: ['1-255 characters'],
  },
  {
    name: 'conflicting idempotency keys',
    path: '/jobs',
    body: { type: 'demo', idempotencyKey: 'a' },
    headers: { 'idempotency-key': 'b' },
    status: 400,
    code: 'VALIDATION',
    field: 'idempotencyKey',
    says: ['same key'],
  },
  {
    name: 'unknown field',
    path: '/jobs',
    body: { type: 'demo', delay: 5 },
    status: 400,
    code: 'VALIDATION',
    field: 'delay',
    says: ['unknown field', 'delaySeconds'],
  },
  {
    name: 'payload with NUL',
    path: '/jobs',
    body: { type: 'demo', payload: { s: 'a\u0000b' } },
    status: 400,
    code: 'VALIDATION',
    field: 'payload.s',
    says: ['NUL'],
  },
  {
    name: 'oversize body',
    path: '/jobs',
    body: { type: 'demo', payload: 'x'.repeat(MAX) },
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    field: 'body',
    says: [`${MAX} bytes`, 'JOBQ_MAX_PAYLOAD_BYTES'],
  },
  {
    name: 'not JSON at all',
    path: '/jobs',
    body: 'type=demo',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    field: null,
    says: ['application/json'],
  },
  {
    name: 'batch: one bad entry (all or nothing)',
    path: '/jobs/batch',
    body: { jobs: [{ type: 'ok' }, { type: 'ok', queue: 'BAD' }] },
    status: 400,
    code: 'VALIDATION',
    field: 'jobs[1].queue',
    says: ['a name'],
  },
  {
    name: 'batch: bad delay in an entry',
    path: '/jobs/batch',
    body: { jobs: [{ type: 'ok' }, { type: 'ok' }, { type: 'ok', delaySeconds: 'soon' }] },
    status: 400,
    code: 'VALIDATION',
    field: 'jobs[2].delaySeconds',
    says: ['seconds'],
  },
  {
    name: 'batch: empty',
    path: '/jobs/batch',
    body: { jobs: [] },
    status: 400,
    code: 'VALIDATION',
    field: 'jobs',
    says: ['1-1000 jobs'],
  },
  {
    name: 'batch: missing jobs',
    path: '/jobs/batch',
    body: {},
    status: 400,
    code: 'VALIDATION',
    field: 'jobs',
    says: ['required'],
  },
  {
    name: 'list: bad status',
    method: 'GET',
    path: '/jobs?status=DONE',
    status: 400,
    code: 'VALIDATION',
    field: 'status',
    says: ['one of PENDING'],
  },
  {
    name: 'list: limit zero',
    method: 'GET',
    path: '/jobs?limit=0',
    status: 400,
    code: 'VALIDATION',
    field: 'limit',
    says: ['from 1 to 1000'],
  },
  {
    name: 'list: limit not a number',
    method: 'GET',
    path: '/jobs?limit=ten',
    status: 400,
    code: 'VALIDATION',
    field: 'limit',
    says: ['whole number'],
  },
  {
    name: 'list: bad cursor',
    method: 'GET',
    path: '/jobs?cursor=abc',
    status: 400,
    code: 'VALIDATION',
    field: 'cursor',
    says: ['UUID'],
  },
  {
    name: 'list: unknown filter',
    method: 'GET',
    path: '/jobs?state=DEAD',
    status: 400,
    code: 'VALIDATION',
    field: 'state',
    says: ['unknown field'],
  },
  {
    name: 'malformed id',
    method: 'GET',
    path: '/jobs/12345',
    status: 400,
    code: 'VALIDATION',
    field: 'id',
    says: ['UUID'],
  },
  {
    name: 'malformed id on retry',
    path: '/jobs/nope/retry',
    status: 400,
    code: 'VALIDATION',
    field: 'id',
    says: ['UUID'],
  },
  {
    name: 'unknown id',
    method: 'GET',
    path: `/jobs/${id}`,
    status: 404,
    code: 'NOT_FOUND',
    field: null,
    says: [id],
  },
  {
    name: 'unknown id on retry',
    path: `/jobs/${id}/retry`,
    status: 404,
    code: 'NOT_FOUND',
    field: null,
    says: [id],
  },
  {
    name: 'unknown id on cancel',
    path: `/jobs/${id}/cancel`,
    status: 404,
    code: 'NOT_FOUND',
    field: null,
    says: [id],
  },
  {
    name: 'body on a bodyless action',
    path: `/jobs/${id}/cancel`,
    body: { force: true },
    status: 400,
    code: 'VALIDATION',
    field: 'force',
    says: ['unknown field'],
  },
  {
    name: 'queue name with capitals',
    path: '/queues/Email/pause',
    status: 400,
    code: 'VALIDATION',
    field: 'name',
    says: ['a name'],
  },
  {
    name: 'dead retry: bad filter',
    path: '/dead/retry',
    body: { queue: 'a b' },
    status: 400,
    code: 'VALIDATION',
    field: 'queue',
    says: ['a name'],
  },
  {
    name: 'dead list: bad type',
    method: 'GET',
    path: '/dead?type=A',
    status: 400,
    code: 'VALIDATION',
    field: 'type',
    says: ['a name'],
  },
  {
    name: 'unknown route',
    method: 'GET',
    path: '/jobz',
    status: 404,
    code: 'NOT_FOUND',
    field: null,
    says: ['/jobz'],
  },
];

describe('validation', () => {
  it.each(cases)('$name → $status $code ($field), nothing written', async (c) => {
    const res = await expectRefused(api.url, db.exec, c);
    expect(res.text).not.toMatch(/ at .*\.(ts|js):\d+|SELECT |INSERT |syntax error/);
  });

  it('a conflict (retrying a PENDING job) is a 409 and changes nothing', async () => {
    const created = await request(`${api.url}/jobs`, { body: { type: 'demo' } });
    const res = await request(`${api.url}/jobs/${created.body.job.id}/retry`, { method: 'POST' });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'CONFLICT', field: null });
    expect(res.body.error.message).toContain('PENDING');
    const after = await request(`${api.url}/jobs/${created.body.job.id}`);
    expect(after.body.job.status).toBe('PENDING');
  });

  it('a database that is not migrated or down is a 503 naming the cause; /readyz says why', async () => {
    for (const [url, schema, code, says] of [
      [db.url, 'no_such_schema_x', 'NOT_MIGRATED', 'jobq migrate'],
      ['postgres://postgres@127.0.0.1:1/none', 'jobq', 'DATABASE_UNAVAILABLE', 'cannot reach PostgreSQL'],
    ] as const) {
      const other = connect({ url, schema, max: 2 });
      const broken = await startApi(
        { ...other, env: { DATABASE_URL: url, JOBQ_SCHEMA: schema } },
        { auth: 'none' },
      );
      try {
        const res = await request(`${broken.url}/jobs`);
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(res.body.error.code).toBe(code);
        expect(res.body.error.message).toContain(says);
        const ready = await request(`${broken.url}/readyz`);
        expect(ready.status).toBe(503);
        expect(ready.body.reason).toContain(says);
        expect(ready.headers.get('retry-after')).toMatch(/^\d+$/);
        expect((await request(`${broken.url}/healthz`)).status).toBe(200);
      } finally {
        await broken.close();
        await other.close();
      }
    }
  });

  it('an unexpected error is a generic 500: no stack, no SQL', () => {
    const err = Object.assign(new Error('syntax error at or near "SELECT" in SELECT * FROM jobq.jobs'), {
      code: '42601',
    });
    const r = toErrorResponse(err, 1024);
    expect(r.status).toBe(500);
    expect(r.unexpected).toBe(true);
    expect(r.body.error.code).toBe('INTERNAL');
    expect(JSON.stringify(r.body)).not.toMatch(/SELECT|syntax|\.ts:/);
  });
});
