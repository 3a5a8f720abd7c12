// Metrics against a real PostgreSQL and real HTTP: the sampler fills the depth gauges with one query per
// interval (scrapes never touch the database), keeps emptied queues at 0, drops its series while the
// database is unreachable and recovers; the /metrics server; promtool check metrics on the full output.
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { connect } from '../../src/db/connect.js';
import { createMetrics, type Metrics } from '../../src/metrics/metrics.js';
import { registerProcessMetrics } from '../../src/metrics/process.js';
import { createSampler } from '../../src/metrics/sampler.js';
import { createMetricsServer } from '../../src/metrics/server.js';
import { metricsServices } from '../../src/metrics/services.js';
import { claim, enqueue, enqueueMany, pauseQueue } from '../../src/queue/index.js';
import { workerRegister } from '../../src/sql/workers.js';
import { silentLogger } from '../../src/log.js';
import { freshDb, resetDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { startProxy } from '../tui/proxy.js';

const db = await freshDb();
const exec = db.exec;
let cleanups: (() => unknown)[] = [];
beforeEach(() => resetDb(db));
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** The value of one series in the exposition text, or undefined when the series is absent. */
async function value(
  m: Metrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const json = await m.registry.getSingleMetric(name)?.get();
  const v = json?.values.find((x) =>
    Object.entries(labels).every(([k, l]) => (x.labels as Record<string, unknown>)[k] === l),
  );
  return v?.value;
}

function captureLog() {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as { level: number; msg: string });
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

describe('metrics sampler', () => {
  it('fills jobs_pending, jobs_queue_depth, jobs_oldest_ready_age_seconds and jobq_workers_online from one query', async () => {
    await enqueueMany(exec, [
      ...Array.from({ length: 5 }, () => ({ type: 'a' })),
      { type: 'a', delayMs: 3_600_000 },
      ...Array.from({ length: 2 }, () => ({ type: 'm', queue: 'email' })),
    ]);
    await claim(exec, {
      queue: 'default',
      workerId: 'w1',
      limit: 2,
      leaseMs: 30_000,
      starvationMs: 3_600_000,
    });
    await pauseQueue(exec, 'email');
    await workerRegister(exec, {
      id: 'w1',
      host: 'h',
      pid: 1,
      queues: { default: 2 },
      types: ['a'],
      version: 't',
    });
    await workerRegister(exec, {
      id: 'w2',
      host: 'h',
      pid: 2,
      queues: { email: 2 },
      types: ['m'],
      version: 't',
    });

    const m = createMetrics();
    const sampler = createSampler(exec, m, { onlineWithinMs: 30_000, log: silentLogger });
    let acquired = 0;
    const onAcquire = () => acquired++;
    db.pool.on('acquire', onAcquire);
    cleanups.push(() => db.pool.off('acquire', onAcquire));
    expect(await sampler.sampleOnce()).toBe(true);
    expect(acquired).toBe(1); // one statement per sample

    expect(await value(m, 'jobs_pending', { queue: 'default' })).toBe(4); // 3 ready + 1 scheduled
    expect(await value(m, 'jobs_pending', { queue: 'email' })).toBe(2);
    expect(await value(m, 'jobs_queue_depth', { queue: 'default', status: 'RUNNING' })).toBe(2);
    expect(await value(m, 'jobs_queue_depth', { queue: 'default', status: 'PENDING' })).toBe(4);
    expect(await value(m, 'jobs_queue_depth', { queue: 'default', status: 'DEAD' })).toBe(0);
    expect(await value(m, 'jobq_workers_online')).toBe(2);
    const age = await value(m, 'jobs_oldest_ready_age_seconds', { queue: 'default' });
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(60);

    // scrapes read the registry only: no database round trip
    for (let i = 0; i < 5; i++) await m.registry.metrics();
    expect(acquired).toBe(1);

    // a drained queue reads 0 instead of vanishing or keeping its old value
    await resetDb(db);
    expect(await sampler.sampleOnce()).toBe(true);
    expect(await value(m, 'jobs_pending', { queue: 'default' })).toBe(0);
    expect(await value(m, 'jobs_queue_depth', { queue: 'email', status: 'PENDING' })).toBe(0);
    expect(await value(m, 'jobq_workers_online')).toBe(0);
  });

  it('samples once per interval as a service, not per scrape', async () => {
    await enqueue(exec, { type: 'a', queue: 'tick' });
    const m = createMetrics();
    const sampler = createSampler(exec, m, { intervalMs: 100, onlineWithinMs: 30_000, log: silentLogger });
    let acquired = 0;
    const onAcquire = () => acquired++;
    db.pool.on('acquire', onAcquire);
    cleanups.push(() => db.pool.off('acquire', onAcquire));
    const started = Date.now();
    await sampler.start();
    await waitFor(async () => (await value(m, 'jobs_pending', { queue: 'tick' })) === 1, {
      what: 'first sample',
    });
    await enqueue(exec, { type: 'a', queue: 'tick' });
    await waitFor(async () => (await value(m, 'jobs_pending', { queue: 'tick' })) === 2, {
      what: 'next sample',
    });
    await sampler.stop();
    const elapsed = Date.now() - started;
    const enqueueAcquires = 2; // the enqueue above: insert + read back
    expect(acquired - enqueueAcquires).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 1);
    const after = acquired;
    await new Promise((r) => setTimeout(r, 250)); // stopped: no more samples
    expect(acquired).toBe(after);
  });

  it('logs once and drops the sampled series while the database is unreachable, then recovers', async () => {
    await enqueue(exec, { type: 'a', queue: 'flaky' });
    const proxy = await startProxy(db.url);
    const conn = connect({ url: proxy.url, schema: db.schema, max: 1, connectionTimeoutMs: 1000 });
    // as jobq top and the daemons must: a connection dying under a checked-out client is an error event
    conn.pool.on('connect', (client) => client.on('error', () => undefined));
    cleanups.push(
      () => proxy.close(),
      () => conn.close(),
    );
    const m = createMetrics();
    const { log, lines } = captureLog();
    const sampler = createSampler(conn.exec, m, { onlineWithinMs: 30_000, log });
    expect(await sampler.sampleOnce()).toBe(true);
    expect(await value(m, 'jobs_pending', { queue: 'flaky' })).toBe(1);
    await proxy.cut();
    expect(await sampler.sampleOnce()).toBe(false);
    expect(await sampler.sampleOnce()).toBe(false);
    expect(await value(m, 'jobs_pending', { queue: 'flaky' })).toBeUndefined();
    expect(await value(m, 'jobq_workers_online')).toBeUndefined();
    const warns = lines.filter((l) => l.level === 40);
    expect(warns).toHaveLength(1);
    expect(warns[0]?.msg).toContain('cannot read queue state');
    await proxy.restore();
    await waitFor(() => sampler.sampleOnce(), { what: 'a good sample after the database came back' });
    expect(await value(m, 'jobs_pending', { queue: 'flaky' })).toBe(1);
    expect(lines.some((l) => l.level === 30 && l.msg.includes('readable again'))).toBe(true);
  });
});

describe('metrics server and metricsServices', () => {
  it('serves GET/HEAD /metrics with the exposition content type; 404 and 405 otherwise', async () => {
    const m = createMetrics();
    m.workerJobsCompleted.inc({ queue: 'default', type: 'demo.echo', status: 'COMPLETED' }, 3);
    const server = createMetricsServer(m.registry, { port: 0, host: '127.0.0.1', log: silentLogger });
    await server.start();
    cleanups.push(() => server.stop());
    const base = `http://127.0.0.1:${server.port()}`;
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    expect(await res.text()).toContain(
      'worker_jobs_completed_total{queue="default",type="demo.echo",status="COMPLETED"} 3',
    );
    expect((await fetch(`${base}/metrics`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('a port in use is a clear start-up error naming JOBQ_METRICS_PORT', async () => {
    const a = createMetricsServer(createMetrics().registry, {
      port: 0,
      host: '127.0.0.1',
      log: silentLogger,
    });
    await a.start();
    cleanups.push(() => a.stop());
    const b = createMetricsServer(createMetrics().registry, {
      port: a.port(),
      host: '127.0.0.1',
      log: silentLogger,
    });
    await expect(b.start()).rejects.toThrow(
      `JOBQ_METRICS_PORT: cannot serve /metrics, /healthz and /readyz on port ${a.port()}: already in use`,
    );
    await expect(b.start()).rejects.toMatchObject({ code: 'USAGE' });
    // the default port (not set by the user) taken: one warning, no server, no error
    const lines: { level: number; msg: string }[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l) as never) });
    const c = createMetricsServer(createMetrics().registry, {
      port: a.port(),
      host: '127.0.0.1',
      log,
      explicit: false,
    });
    await c.start();
    expect(c.url()).toBeNull();
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
    expect(lines[0]?.msg).toMatch(/JOBQ_METRICS_PORT/);
  });

  it('/healthz answers while the process lives; /readyz reports the readiness check (503 when not ready)', async () => {
    let ready = false;
    const server = createMetricsServer(createMetrics().registry, {
      port: 0,
      host: '127.0.0.1',
      log: silentLogger,
      readiness: () => Promise.resolve(ready ? { ready } : { ready, reason: 'not registered' }),
    });
    await server.start();
    cleanups.push(() => server.stop());
    const base = `http://127.0.0.1:${server.port()}`;
    expect(server.url()).toBe(base);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const no = await fetch(`${base}/readyz`);
    expect(no.status).toBe(503);
    expect(await no.json()).toMatchObject({ status: 'unavailable', reason: 'not registered' });
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('metricsServices: sampler and server as asked; JOBQ_METRICS_PORT=0 turns the server off', () => {
    const deps = (port: string) => ({
      config: loadConfig({}, { JOBQ_METRICS_PORT: port }),
      db: { exec },
      log: silentLogger,
      metrics: createMetrics(),
    });
    expect(metricsServices(deps('9464'), { sampler: false, server: true }).map((s) => s.name)).toEqual([
      'metrics-server',
    ]);
    expect(metricsServices(deps('9464'), { sampler: true, server: true }).map((s) => s.name)).toEqual([
      'metrics-sampler',
      'metrics-server',
    ]);
    expect(metricsServices(deps('0'), { sampler: true, server: true }).map((s) => s.name)).toEqual([
      'metrics-sampler',
    ]);
    const d = deps('0');
    metricsServices(d, { sampler: false, server: false });
    metricsServices(d, { sampler: false, server: false }); // registering process metrics twice is harmless
    expect(d.metrics.registry.getSingleMetric('process_cpu_seconds_total')).toBeDefined();
  });
});

const hasPromtool = spawnSync('promtool', ['--version']).status === 0;
if (!hasPromtool && process.env.CI === 'true')
  throw new Error('promtool is required in CI (apt-get install prometheus)');

describe.skipIf(!hasPromtool)('promtool check metrics', () => {
  it('passes on the full /metrics output: every jobq metric with samples, plus process metrics', async () => {
    const m = createMetrics();
    // give every jobq metric a sample so the lint sees real series, not only HELP/TYPE lines
    const values: Record<string, string> = {
      queue: 'default',
      type: 'demo.echo',
      status: 'COMPLETED',
      method: 'GET',
      route: '/jobs',
      outcome: 'enqueued',
      task: 'reaper',
    };
    for (const metric of await m.registry.getMetricsAsJSON()) {
      const one = m.registry.getSingleMetric(metric.name) as unknown as {
        labelNames: string[];
        inc?: (l: object, n: number) => void;
        set?: (l: object, n: number) => void;
        observe?: (l: object, n: number) => void;
      };
      const l = Object.fromEntries(one.labelNames.map((n) => [n, values[n] ?? 'x']));
      if (one.observe) one.observe(l, 0.2);
      else if (one.set) one.set(l, 1);
      else one.inc?.(l, 2);
    }
    registerProcessMetrics(m.registry);
    const text = await m.registry.metrics();
    expect(text).toContain('jobs_pending{queue="default"} 1');
    expect(text).toContain('process_cpu_seconds_total');
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
    // and the lint does catch a bad name (the check is not a no-op)
    const bad = spawnSync('promtool', ['check', 'metrics'], {
      input: '# HELP jobs_waiting_total x\n# TYPE jobs_waiting_total gauge\njobs_waiting_total 1\n',
      encoding: 'utf8',
    });
    expect(bad.status).not.toBe(0);
  });
});
