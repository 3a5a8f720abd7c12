// Flow limits for operators: `jobq queues limit` (set, show, clear, refusals naming the field),
// `jobq queues` and `jobq enqueue --key`, the API (GET/PUT/DELETE /queues/:name/limits, key on enqueue,
// limits in /overview) and the throttled-claims metric of a worker.
import { afterAll, describe, expect, it } from 'vitest';
import { enqueueMany, getJob, setQueueLimits } from '../../src/queue/index.js';
import { startApi, request, type RunningApi } from '../api/helpers.js';
import { runCli } from '../helpers/cli.js';
import { freshDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { metricValue, startWorker } from '../worker/helpers.js';

const db = await freshDb();
const jobq = (...args: string[]) => runCli(args, db.env);
let api: RunningApi | undefined;
afterAll(() => api?.close());

describe('jobq queues limit', () => {
  it('sets every kind of limit, shows them with their use in jobq queues, and clears them', async () => {
    const set = await jobq(
      'queues',
      'limit',
      'email',
      '--concurrency',
      '5',
      '--rate',
      '10/s',
      '--burst',
      '20',
      '--per-key-concurrency',
      '2',
      '--json',
    );
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({
      queue: 'email',
      concurrency: 5,
      rate: '10/s',
      burst: 20,
      perKeyConcurrency: 2,
      running: 0,
    });
    const human = await jobq('queues');
    expect(human.stdout).toContain(
      'conc 0/5, rate 10/s burst 20 (tokens 20), per key 2 (0 of 0 keys at limit)',
    );
    const json = JSON.parse((await jobq('queues', '--json')).stdout) as { queue: string; limits: unknown }[];
    expect(json.find((q) => q.queue === 'email')?.limits).toMatchObject({ concurrency: 5 });
    const off = await jobq('queues', 'limit', 'email', '--concurrency', 'off');
    expect(off.stdout).toContain('queue email: rate 10/s burst 20');
    expect(off.stdout).not.toContain('conc');
    const cleared = await jobq('queues', 'limit', 'email', '--clear');
    expect(cleared.stdout).toContain('queue email: no limits');
  });

  it('refuses invalid limits, naming the field, and changes nothing', async () => {
    const bad = await jobq('queues', 'limit', 'video', '--concurrency', '0');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--concurrency');
    const rate = await jobq('queues', 'limit', 'video', '--rate', 'fast');
    expect(rate.code).toBe(1);
    expect(rate.stderr).toMatch(/rate: expected job starts per period, such as 10\/s/);
    const burst = await jobq('queues', 'limit', 'video', '--burst', '3');
    expect(burst.code).toBe(1);
    expect(burst.stderr).toMatch(/burst: expected a rate to go with it/);
    expect((await jobq('queues', 'limit', 'video')).stdout).toContain('no limits');
  });

  it('jobq enqueue --key stores the key', async () => {
    const r = await jobq('enqueue', 'demo.echo', '--key', 'customer-42', '--json');
    expect(r.code, r.stderr).toBe(0);
    const { id } = JSON.parse(r.stdout) as { id: string };
    expect((await getJob(db.exec, id)).key).toBe('customer-42');
  });
});

describe('API', () => {
  it('GET/PUT/DELETE /queues/:name/limits, 400 naming the field, key on enqueue, limits in /overview', async () => {
    api = await startApi(db, { auth: 'none' });
    const put = await request(`${api.url}/queues/api-q/limits`, {
      method: 'PUT',
      body: { concurrency: 3, rate: '600/m', perKeyConcurrency: 1 },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ queue: 'api-q', concurrency: 3, rate: '600/m', burst: 600 });
    const got = await request(`${api.url}/queues/api-q/limits`);
    expect(got.body).toMatchObject({ perKeyConcurrency: 1 });
    const bad = await request(`${api.url}/queues/api-q/limits`, { method: 'PUT', body: { rate: 'lots' } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('rate');
    const bad2 = await request(`${api.url}/queues/api-q/limits`, { method: 'PUT', body: { concurrency: 0 } });
    expect(bad2.status).toBe(400);
    expect(JSON.stringify(bad2.body)).toContain('concurrency');
    const job = await request<{ job: { id: string; key: string | null } }>(`${api.url}/jobs`, {
      body: { type: 'demo.echo', queue: 'api-q', key: 'tenant-7' },
    });
    expect(job.status).toBe(201);
    expect(job.body.job.key).toBe('tenant-7');
    expect((await getJob(db.exec, job.body.job.id)).key).toBe('tenant-7');
    const overview = await request<{ queues: { queue: string; limits: { concurrency: number } | null }[] }>(
      `${api.url}/overview`,
    );
    expect(overview.body.queues.find((q) => q.queue === 'api-q')?.limits?.concurrency).toBe(3);
    const del = await request(`${api.url}/queues/api-q/limits`, { method: 'DELETE' });
    expect(del.body).toMatchObject({ concurrency: null, rate: null, perKeyConcurrency: null });
  });
});

describe('metrics', () => {
  it('a worker counts claims held back by each kind of limit, per queue', async () => {
    await setQueueLimits(db.exec, 'm-conc', { concurrency: 1 });
    await setQueueLimits(db.exec, 'm-rate', { rate: '2/s', burst: 1 });
    await enqueueMany(db.exec, [
      ...Array.from({ length: 4 }, () => ({ type: 'x', queue: 'm-conc' })),
      ...Array.from({ length: 4 }, () => ({ type: 'x', queue: 'm-rate' })),
    ]);
    const w = await startWorker(db, {
      queues: { 'm-conc': 4, 'm-rate': 4 },
      handlers: { x: () => new Promise((r) => setTimeout(r, 30)) },
    });
    const counter = w.metrics.claimsThrottled;
    await waitFor(async () => (await metricValue(counter, { queue: 'm-conc', reason: 'concurrency' })) > 0, {
      what: 'a concurrency-throttled claim',
    });
    await waitFor(async () => (await metricValue(counter, { queue: 'm-rate', reason: 'rate' })) > 0, {
      what: 'a rate-throttled claim',
    });
  });
});
