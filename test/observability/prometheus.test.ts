// End to end with a real Prometheus server: a running `jobq worker` (its /metrics port) and a running
// `jobq api` are scraped every second; after real jobs ran, worker_jobs_completed_total and jobs_pending
// are read back through Prometheus's HTTP query API. The same /metrics texts pass `promtool check
// metrics`, and the shipped alert rules load into the server. In CI a missing prometheus fails.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.js';
import { enqueueMany } from '../../src/queue/index.js';
import { JOBQ_BIN } from '../helpers/cli.js';
import { freshDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';

const PROMETHEUS = '/usr/bin/prometheus';
const hasPrometheus =
  spawnSync(PROMETHEUS, ['--version']).status === 0 && spawnSync('promtool', ['--version']).status === 0;
if (!hasPrometheus && process.env.CI === 'true')
  throw new Error(`${PROMETHEUS} and promtool are required in CI (apt-get install prometheus)`);

const root = fileURLToPath(new URL('../../', import.meta.url));
const children: ChildProcess[] = [];
const dir = mkdtempSync(path.join(tmpdir(), 'jobq-prom-'));

function start(name: string, cmd: string, args: string[], env: Record<string, string> = {}) {
  const child = spawn(cmd, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'] as const,
  });
  let out = '';
  const keep = (c: Buffer) => {
    out = (out + c.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('exit', (code, sig) => {
    if (code !== 0 && code !== null && sig === null)
      process.stderr.write(`${name} exited ${code}:\n${out}\n`);
  });
  children.push(child);
  return child;
}

async function text(url: string): Promise<string | null> {
  try {
    const r = await fetch(url);
    return r.ok ? await r.text() : null;
  } catch {
    return null;
  }
}

const alive = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;

afterAll(async () => {
  for (const c of children.reverse()) {
    if (!alive(c)) continue;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
    if (alive(c)) c.kill('SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasPrometheus)('real Prometheus scraping a worker and the API', () => {
  const ports = { worker: 0, api: 0, prometheus: 0 };
  let db: Awaited<ReturnType<typeof freshDb>>;

  beforeAll(async () => {
    db = await freshDb();
    [ports.worker, ports.api, ports.prometheus] = [await freePort(), await freePort(), await freePort()];
    const env = { ...db.env, JOBQ_LOG_LEVEL: 'warn' };
    // 4 jobs wait in a queue no worker serves: jobs_pending{queue="parked"} must read 4
    await enqueueMany(
      db.exec,
      Array.from({ length: 4 }, () => ({ type: 'demo.echo', queue: 'parked' })),
    );
    start('worker', process.execPath, [JOBQ_BIN, 'worker', '--queue', 'default:4'], {
      ...env,
      JOBQ_METRICS_PORT: String(ports.worker),
    });
    start(
      'api',
      process.execPath,
      [JOBQ_BIN, 'api', '--insecure-no-auth', '--host', '127.0.0.1', '--port', String(ports.api)],
      env,
    );
    const config = {
      global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
      rule_files: [path.join(root, 'observability/alerts.yml')],
      scrape_configs: [
        { job_name: 'jobq-worker', static_configs: [{ targets: [`127.0.0.1:${ports.worker}`] }] },
        { job_name: 'jobq-api', static_configs: [{ targets: [`127.0.0.1:${ports.api}`] }] },
      ],
    };
    writeFileSync(path.join(dir, 'prometheus.yml'), JSON.stringify(config)); // JSON is YAML
    start('prometheus', PROMETHEUS, [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${ports.prometheus}`,
      '--log.level=warn',
    ]);
    await waitFor(() => text(`http://127.0.0.1:${ports.worker}/metrics`), {
      timeoutMs: 30_000,
      what: 'worker /metrics',
    });
    await waitFor(() => text(`http://127.0.0.1:${ports.api}/metrics`), {
      timeoutMs: 30_000,
      what: 'API /metrics',
    });
  });

  /** One instant query; the single value, or null while there is none. */
  async function query(q: string): Promise<number | null> {
    const body = await text(
      `http://127.0.0.1:${ports.prometheus}/api/v1/query?query=${encodeURIComponent(q)}`,
    );
    if (body === null) return null;
    const r = JSON.parse(body) as { data: { result: { value: [number, string] }[] } };
    const v = r.data.result[0]?.value[1];
    return v === undefined ? null : Number(v);
  }

  it('reads worker_jobs_completed_total and jobs_pending back through the query API after real jobs ran', async () => {
    await enqueueMany(
      db.exec,
      Array.from({ length: 25 }, (_, i) => ({ type: 'demo.echo', payload: { i } })),
    );
    await waitFor(
      async () =>
        (await query(
          'sum(worker_jobs_completed_total{job="jobq-worker",queue="default",status="COMPLETED"})',
        )) === 25,
      { timeoutMs: 40_000, intervalMs: 500, what: 'worker_jobs_completed_total = 25 in Prometheus' },
    );
    await waitFor(async () => (await query('jobs_pending{job="jobq-api",queue="parked"}')) === 4, {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: 'jobs_pending{queue="parked"} = 4 in Prometheus',
    });
    expect(await query('sum(up{job=~"jobq-.*"})')).toBe(2);
    expect(
      (await query('histogram_count(sum(worker_job_duration_seconds{queue="default"}))')) ??
        (await query('sum(worker_job_duration_seconds_count{queue="default"})')),
    ).toBe(25);
    // the shipped alert rules loaded and evaluate against these series
    const rules = JSON.parse((await text(`http://127.0.0.1:${ports.prometheus}/api/v1/rules`)) ?? '{}') as {
      data: { groups: { rules: { name: string; health: string }[] }[] };
    };
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name)).toContain('JobqNoWorkers');
    expect(loaded.every((r) => r.health !== 'err')).toBe(true);
  });

  it('promtool check metrics passes on the real worker and API /metrics output', async () => {
    for (const port of [ports.worker, ports.api]) {
      const body = await text(`http://127.0.0.1:${port}/metrics`);
      expect(body).toContain('# TYPE');
      const r = spawnSync('promtool', ['check', 'metrics'], { input: body ?? '', encoding: 'utf8' });
      expect(r.stdout + r.stderr, `port ${port}`).toBe('');
      expect(r.status).toBe(0);
    }
  });
});
