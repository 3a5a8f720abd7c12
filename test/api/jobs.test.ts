// The API's routes over real HTTP against a real PostgreSQL: enqueue (idempotent, also under 20
// concurrent identical requests), batch, keyset listing with filters, retry/cancel, queues, dead
// letters, workers, and the request metrics.
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freshDb, resetDb } from '../helpers/db.js';
import {
  request,
  seedJobs,
  startApi,
  type JsonResponse,
  type ResponseBody,
  type RunningApi,
} from './helpers.js';

const db = await freshDb();
let api: RunningApi;
const TOKEN = 'jobs-test-token';
const call = <T = ResponseBody>(path: string, opts: Parameters<typeof request>[1] = {}) =>
  request<T>(`${api.url}${path}`, { token: TOKEN, ...opts });

interface QueueBody {
  queue: string;
  paused: boolean;
  counts: Record<string, number>;
  scheduled: number;
  oldestReadyAgeSeconds: number | null;
  completedInWindow: number;
}

async function jobCount(where = sql`true`): Promise<number> {
  const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${db.exec.t.jobs} WHERE ${where}`.execute(
    db.exec.raw,
  );
  return r.rows[0]?.n ?? -1;
}

beforeAll(async () => {
  api = await startApi(db, { auth: 'required', env: { JOBQ_API_TOKENS: `test:${TOKEN}` } });
});
afterAll(() => api.close());
beforeEach(() => resetDb(db));

describe('enqueue', () => {
  it('POST /jobs creates a job (201) with the seed body', async () => {
    const res = await call('/jobs', { body: { type: 'demo.sleep', payload: { seconds: 2 } } });
    expect(res.status).toBe(201);
    expect(res.body.created).toBe(true);
    expect(res.body.job).toMatchObject({
      type: 'demo.sleep',
      payload: { seconds: 2 },
      status: 'PENDING',
      queue: 'default',
      priority: 0,
      attempts: 0,
      maxAttempts: 5,
    });
    expect(await jobCount()).toBe(1);
  });

  it('the same idempotency key again answers 200 with the existing job and creates nothing', async () => {
    const first = await call('/jobs', { body: { type: 'email.send', idempotencyKey: 'order-42' } });
    const again = await call('/jobs', {
      body: { type: 'email.send', idempotencyKey: 'order-42', payload: { x: 1 } },
    });
    const viaHeader = await call('/jobs', {
      body: { type: 'email.send' },
      headers: { 'idempotency-key': 'order-42' },
    });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(viaHeader.status).toBe(200);
    expect(again.body.created).toBe(false);
    expect(again.body.job.id).toBe(first.body.job.id);
    expect(viaHeader.body.job.id).toBe(first.body.job.id);
    expect(again.body.job.payload).toEqual({});
    expect(await jobCount()).toBe(1);
  });

  it('20 concurrent identical requests create one job: one 201, nineteen 200 with its id', async () => {
    const body = { type: 'payment.capture', payload: { order: 7 }, idempotencyKey: 'capture-7' };
    const results = await Promise.all(Array.from({ length: 20 }, () => call('/jobs', { body })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(19);
    const ids = new Set(results.map((r) => r.body.job.id));
    expect(ids.size).toBe(1);
    expect(await jobCount()).toBe(1);
  });

  it('delaySeconds and runAt set when the job becomes ready', async () => {
    const delayed = await call('/jobs', { body: { type: 'later', delaySeconds: 90 } });
    const at = await call('/jobs', { body: { type: 'later', runAt: '2030-01-01T09:00:00Z' } });
    const wait =
      new Date(delayed.body.job.runAfter).getTime() - new Date(delayed.body.job.createdAt).getTime();
    expect(wait).toBeGreaterThan(89_000);
    expect(wait).toBeLessThan(91_000);
    expect(at.body.job.runAfter).toBe('2030-01-01T09:00:00.000Z');
  });

  it('POST /jobs/batch creates many at once and reports existing keys', async () => {
    await call('/jobs', { body: { type: 'a', idempotencyKey: 'k-1' } });
    const res = await call('/jobs/batch', {
      body: {
        jobs: [
          { type: 'a', idempotencyKey: 'k-1' },
          { type: 'b', queue: 'email' },
          { type: 'c', priority: 3 },
        ],
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.created).toBe(2);
    expect(res.body.existing).toBe(1);
    expect(res.body.jobs.map((j: { created: boolean }) => j.created)).toEqual([false, true, true]);
    expect(await jobCount()).toBe(3);
  });
});

describe('listing and reading', () => {
  it('GET /jobs pages newest first with a keyset cursor and filters', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++)
      ids.push(
        (await call('/jobs', { body: { type: i % 2 ? 'odd' : 'even', queue: i < 4 ? 'q1' : 'q2' } })).body.job
          .id,
      );
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: JsonResponse = await call(`/jobs?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((j: { id: string }) => j.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
    const q1odd = await call('/jobs?queue=q1&type=odd');
    expect(q1odd.body.items.map((j: { id: string }) => j.id)).toEqual([ids[3], ids[1]]);
    const byStatus = await call('/jobs?status=pending&limit=1000');
    expect(byStatus.body.items).toHaveLength(7);
    expect((await call('/jobs?status=DEAD')).body).toEqual({ items: [], nextCursor: null });
  });

  it('GET /jobs/:id shows payload, attempts with errors, lease holder; retry and cancel move it', async () => {
    const s = await seedJobs(db.exec);
    const dead = await call(`/jobs/${s.dead}`);
    expect(dead.body.job.status).toBe('DEAD');
    expect(dead.body.job.errors.map((e: { attempt: number }) => e.attempt)).toEqual([1, 2]);
    expect(dead.body.job.errors[1]?.message).toContain('SMTP 421');
    expect(dead.body.job.lockedBy).toBe('seed-worker-1');
    const retried = await call(`/jobs/${s.dead}/retry`, { method: 'POST' });
    expect(retried.status).toBe(200);
    expect(retried.body.job).toMatchObject({ status: 'PENDING', attempts: 0 });
    expect(retried.body.job.errors).toHaveLength(2);
    const running = await call(`/jobs/${s.running}/cancel`, { method: 'POST' });
    expect(running.body.job.status).toBe('RUNNING');
    expect(running.body.job.cancelRequestedAt).not.toBeNull();
    expect(running.body.job.cancelledBy).toBe('api:test');
    const again = await call(`/jobs/${s.running}/cancel`, { method: 'POST' });
    expect(again.status).toBe(409);
    const done = await call(`/jobs/${s.completed}/cancel`, { method: 'POST' });
    expect(done.status).toBe(409);
    expect(done.body.error.message).toContain('COMPLETED');
  });
});

describe('queues, dead letters, workers', () => {
  it('GET /queues shows live depth, oldest ready and throughput; pause and resume', async () => {
    await seedJobs(db.exec);
    const queues = async (): Promise<Record<string, QueueBody>> =>
      Object.fromEntries((await call<QueueBody[]>('/queues')).body.map((x) => [x.queue, x]));
    const byName = await queues();
    expect(Object.keys(byName).sort()).toEqual(['default', 'email', 'video']);
    expect(byName.default?.counts.PENDING).toBe(5);
    expect(byName.default?.scheduled).toBe(1);
    expect(byName.default?.oldestReadyAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(byName.email?.counts.DEAD).toBe(1);
    expect(byName.video?.counts.RUNNING).toBe(1);
    expect(byName.video?.completedInWindow).toBe(1);
    expect((await call('/queues/email/pause', { method: 'POST' })).body).toEqual({
      queue: 'email',
      paused: true,
    });
    expect((await queues()).email?.paused).toBe(true);
    await call('/queues/email/resume', { method: 'POST' });
    expect((await queues()).email?.paused).toBe(false);
    const overview = await call<{ failures: { queue: string }[]; workersOnline: number }>('/overview');
    expect(overview.body.failures[0]?.queue).toBe('email');
    expect(overview.body.workersOnline).toBe(1);
  });

  it('GET /dead filters; POST /dead/retry retries only the matching dead jobs', async () => {
    const s = await seedJobs(db.exec);
    await sql`UPDATE ${db.exec.t.jobs} SET status = 'DEAD' WHERE id = ${s.pending}`.execute(db.exec.raw);
    expect((await call('/dead')).body.items).toHaveLength(2);
    const email = await call('/dead?queue=email');
    expect(email.body.items.map((j: { id: string }) => j.id)).toEqual([s.dead]);
    const r = await call('/dead/retry', { body: { queue: 'email' } });
    expect(r.body).toEqual({ retried: 1, ids: [s.dead] });
    expect(await jobCount(sql`status = 'DEAD'`)).toBe(1);
    const all = await call('/dead/retry', { method: 'POST' });
    expect(all.body.retried).toBe(1);
    expect(await jobCount(sql`status = 'DEAD'`)).toBe(0);
  });

  it('GET /workers lists workers with a fresh heartbeat', async () => {
    await seedJobs(db.exec);
    const res = await call<{ id: string }[]>('/workers');
    expect(res.body).toHaveLength(1);
    expect(res.body[0]).toMatchObject({
      id: 'seed-worker-1',
      host: 'worker-7f9c',
      queues: { email: 4, video: 2 },
    });
  });
});

describe('metrics', () => {
  it('counts created jobs and request durations by route pattern, never by id', async () => {
    const key = `m-${Date.now()}`;
    await call('/jobs', { body: { type: 'metric.test', queue: 'mq', idempotencyKey: key } });
    await call('/jobs', { body: { type: 'metric.test', queue: 'mq', idempotencyKey: key } });
    const id = '01890a5d-ac96-774b-bcce-b302099a8057';
    await call(`/jobs/${id}`);
    const text = (await call('/metrics')).text;
    expect(text).toContain('jobs_enqueued_total{queue="mq",type="metric.test"} 1');
    expect(text).toMatch(
      /api_request_duration_seconds_count\{method="GET",route="\/jobs\/:id",status="404"\} \d+/,
    );
    expect(text).toMatch(
      /api_request_duration_seconds_count\{method="POST",route="\/jobs",status="200"\} \d+/,
    );
    expect(text).not.toContain(id);
  });
});
