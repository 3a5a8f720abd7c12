// The shipped observability configuration: promtool check config and promtool test rules, alert rules and
// Grafana panels referring only to metrics jobq exports, Grafana provisioning wired to the dashboard and
// datasource, and docker-compose.observability.yml validating together with docker-compose.yml.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createMetrics } from '../../src/metrics/metrics.js';
import { registerProcessMetrics } from '../../src/metrics/process.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const file = (p: string): string => readFileSync(`${root}${p}`, 'utf8');
const inCi = process.env.CI === 'true';
const has = (cmd: string, arg: string): boolean => spawnSync(cmd, [arg]).status === 0;
const hasPromtool = has('promtool', '--version');
const hasCompose = has('docker-compose', 'version');
if (inCi && !hasPromtool) throw new Error('promtool is required in CI (apt-get install prometheus)');
if (inCi && !hasCompose) throw new Error('docker-compose is required in CI (apt-get install docker-compose)');

/** Every series name jobq can export (histograms with their _bucket/_sum/_count), plus Prometheus's `up`. */
async function knownSeries(): Promise<Set<string>> {
  const m = createMetrics();
  registerProcessMetrics(m.registry);
  const names = new Set(['up']);
  for (const x of await m.registry.getMetricsAsJSON()) {
    names.add(x.name);
    if (String(x.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(x.name + s);
  }
  return names;
}

/** Metric names a PromQL expression reads: identifiers outside label matchers, grouping lists and strings. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'inf', 'nan']);
  const out: string[] = [];
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = m[0];
    // skip function names (followed by "(") and keywords
    const after = stripped.slice(m.index + name.length).trimStart();
    if (after.startsWith('(') || keywords.has(name.toLowerCase())) continue;
    out.push(name);
  }
  return out;
}

describe('metricNames (the check below depends on it)', () => {
  it('finds metric names and ignores functions, labels, groupings and strings', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le, route) (rate(api_request_duration_seconds_bucket{queue=~"$queue"}[5m]))) > 0 and max(up)',
      ),
    ).toEqual(['api_request_duration_seconds_bucket', 'up']);
  });
});

describe('Prometheus configuration', () => {
  it.skipIf(!hasPromtool)('promtool check config observability/prometheus.yml (with alerts.yml)', () => {
    const r = spawnSync('promtool', ['check', 'config', `${root}observability/prometheus.yml`], {
      encoding: 'utf8',
    });
    expect(r.stdout + r.stderr).toContain('SUCCESS: 6 rules found');
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it.skipIf(!hasPromtool)('promtool test rules observability/alerts.test.yml', () => {
    const r = spawnSync('promtool', ['test', 'rules', `${root}observability/alerts.test.yml`], {
      encoding: 'utf8',
    });
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('scrapes the Compose services api:8000, worker:9464 and scheduler:9464', () => {
    const cfg = parse(file('observability/prometheus.yml')) as {
      scrape_configs: { job_name: string; dns_sd_configs: { names: string[]; port: number }[] }[];
    };
    const targets = cfg.scrape_configs.flatMap((s) =>
      s.dns_sd_configs.flatMap((d) => d.names.map((n) => `${s.job_name} ${n}:${d.port}`)),
    );
    expect(targets.sort()).toEqual([
      'jobq-api api:8000',
      'jobq-scheduler scheduler:9464',
      'jobq-worker worker:9464',
    ]);
  });

  it('the alert rules cover the five situations and read only metrics jobq exports', async () => {
    const known = await knownSeries();
    const rules = (
      parse(file('observability/alerts.yml')) as { groups: { rules: { alert: string; expr: string }[] }[] }
    ).groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'JobqQueueBackingUp',
        'JobqOldestReadyJobTooOld',
        'JobqDeadJobsRising',
        'JobqNoWorkers',
        'JobqLeasesLost',
      ]),
    );
    for (const r of rules)
      for (const n of metricNames(r.expr)) expect(known, `${r.alert}: ${n}`).toContain(n);
    const tested = file('observability/alerts.test.yml');
    for (const r of rules)
      expect(tested, `alerts.test.yml tests ${r.alert}`).toContain(`alertname: ${r.alert}`);
  });
});

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; datasource: { uid: string } }[];
}

describe('Grafana', () => {
  const dash = JSON.parse(file('observability/grafana/dashboards/jobq.json')) as {
    uid: string;
    title: string;
    panels: Panel[];
    templating: { list: { name: string; query: { query: string } }[] };
  };
  const datasources = parse(file('observability/grafana/provisioning/datasources/prometheus.yml')) as {
    datasources: { uid: string; type: string; url: string }[];
  };

  it('the dashboard shows throughput, latency, failures, queue depth, oldest age and workers', () => {
    const titles = dash.panels.map((p) => p.title.toLowerCase()).join(' | ');
    for (const topic of [
      'completed / s',
      'run time',
      'ready to start',
      'failures',
      'queue depth',
      'oldest ready',
      'workers online',
    ])
      expect(titles).toContain(topic);
  });

  it('every panel queries the provisioned Prometheus datasource for metrics jobq exports', async () => {
    const known = await knownSeries();
    const ds = datasources.datasources[0];
    expect(ds).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    const graphs = dash.panels.filter((p) => p.type !== 'row');
    expect(graphs.length).toBeGreaterThanOrEqual(12);
    for (const p of graphs) {
      expect(p.datasource?.uid, p.title).toBe(ds?.uid);
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) {
        expect(t.datasource.uid).toBe(ds?.uid);
        const names = metricNames(t.expr);
        expect(names.length, t.expr).toBeGreaterThan(0);
        for (const n of names) expect(known, `${p.title}: ${n}`).toContain(n);
      }
    }
    for (const n of metricNames(
      dash.templating.list[0]?.query.query.replace(/label_values\(([^,]+),.*\)/, '$1') ?? '',
    ))
      expect(known).toContain(n);
  });

  it('panels have unique ids and do not overlap on the 24-column grid', () => {
    const ids = dash.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of dash.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
    }
  });
});

describe('docker-compose.observability.yml', () => {
  it.skipIf(!hasCompose)(
    'validates together with docker-compose.yml (docker-compose 1.29) and wires the configuration',
    () => {
      const r = spawnSync(
        'docker-compose',
        ['-f', 'docker-compose.yml', '-f', 'docker-compose.observability.yml', 'config'],
        { cwd: root, encoding: 'utf8' },
      );
      expect(r.status, r.stderr).toBe(0);
      const cfg = parse(r.stdout) as {
        services: Record<
          string,
          {
            ports?: (string | { target: number; published: number })[];
            environment?: Record<string, string>;
            volumes?: (string | { source: string; target: string })[];
          }
        >;
      };
      expect(Object.keys(cfg.services)).toEqual(
        expect.arrayContaining([
          'api',
          'worker',
          'scheduler',
          'postgres',
          'migrate',
          'prometheus',
          'grafana',
        ]),
      );
      const published = (svc: string) =>
        (cfg.services[svc]?.ports ?? [])
          .map((p) => (typeof p === 'string' ? p : `${p.published}:${p.target}`))
          .join(' ');
      expect(published('prometheus')).toContain('9090:9090');
      expect(published('grafana')).toContain('3000:3000');
      expect(cfg.services.grafana?.environment).toMatchObject({
        GF_SECURITY_ADMIN_USER: 'admin',
        GF_SECURITY_ADMIN_PASSWORD: 'admin',
      });
      const mounts = (svc: string) =>
        (cfg.services[svc]?.volumes ?? [])
          .map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`))
          .join('\n');
      expect(mounts('prometheus')).toMatch(
        /observability\/prometheus\.yml:\/etc\/prometheus\/prometheus\.yml/,
      );
      expect(mounts('prometheus')).toMatch(/observability\/alerts\.yml:\/etc\/prometheus\/alerts\.yml/);
      expect(mounts('grafana')).toMatch(/observability\/grafana\/provisioning:\/etc\/grafana\/provisioning/);
      // the provider loads dashboards from where Compose mounts them
      const provider = parse(file('observability/grafana/provisioning/dashboards/jobq.yml')) as {
        providers: { options: { path: string } }[];
      };
      expect(mounts('grafana')).toContain(
        `observability/grafana/dashboards:${provider.providers[0]?.options.path ?? '?'}`,
      );
      // workers and the scheduler serve /metrics on the port Prometheus scrapes
      expect(cfg.services.worker?.environment?.JOBQ_METRICS_PORT).toBe('9464');
      expect(cfg.services.scheduler?.environment?.JOBQ_METRICS_PORT).toBe('9464');
    },
  );
});
