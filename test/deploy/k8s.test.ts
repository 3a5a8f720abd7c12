// The Kubernetes manifests (k8s/): every object validates against the official schemas offline
// (kubernetes-models), and the pieces the deployment promises are there: replicas, probes, the HPA's
// metrics, Secret use, non-root security contexts, resources, shutdown grace, disruption budgets.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { ENV_VARS } from '../../src/config.js';
import { matchToken, parseTokens } from '../../src/api/auth.js';
import {
  K8S_DIR,
  ROOT,
  VALIDATORS,
  find,
  isPostgresImage,
  jobqContainers,
  loadK8s,
  podSpecs,
  readYamlDocs,
  yamlFiles,
} from './files.js';

const objs = loadK8s();
const deployment = (name: string) => find(objs, 'Deployment', name) as unknown as IDeployment;
const container = (d: IDeployment): IContainer => {
  const c = d.spec?.template.spec?.containers[0];
  if (!c) throw new Error('no container');
  return c;
};
const stringData = (secret: string): Record<string, string> =>
  (find(objs, 'Secret', secret) as unknown as { stringData?: Record<string, string> }).stringData ?? {};
const configMap = find(objs, 'ConfigMap', 'jobq-config') as unknown as IConfigMap;
const workerGraceSeconds = Number(
  configMap.data?.JOBQ_SHUTDOWN_GRACE_SECONDS ??
    ENV_VARS.find((v) => v.name === 'JOBQ_SHUTDOWN_GRACE_SECONDS')?.default,
);

describe('schemas', () => {
  it('every object in k8s/*.yaml is a known kind and validates against the Kubernetes schema', () => {
    expect(objs.length).toBeGreaterThanOrEqual(12);
    for (const o of objs) {
      const validate = VALIDATORS[`${o.apiVersion}/${o.kind}`];
      expect(validate, `${o.file}: ${o.apiVersion} ${o.kind} has no validator`).toBeDefined();
      const { file: _file, ...raw } = o;
      expect(() => validate?.(raw), `${o.file}: ${o.kind} ${o.metadata.name}`).not.toThrow();
    }
  });

  it('a broken manifest is caught (the validator is live)', () => {
    const bad = structuredClone(deployment('jobq-api')) as unknown as Record<string, unknown>;
    delete bad.file;
    (bad.spec as Record<string, unknown>).replicas = 'two';
    expect(() => VALIDATORS['apps/v1/Deployment']?.(bad)).toThrow(/replicas/);
  });

  it('the namespace applies first, then config, then the workloads; everything lives in jobq', () => {
    const files = yamlFiles(K8S_DIR);
    expect(files[0]).toBe('00-namespace.yaml');
    expect(objs[0]).toMatchObject({ kind: 'Namespace', metadata: { name: 'jobq' } });
    const firstWorkload = objs.findIndex((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind));
    const lastConfig = objs.findLastIndex((o) => ['ConfigMap', 'Secret'].includes(o.kind));
    expect(lastConfig).toBeLessThan(firstWorkload);
    for (const o of objs.filter((x) => x.kind !== 'Namespace'))
      expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe('jobq');
    const names = objs.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('workloads', () => {
  it('replica counts: api 2, worker 3, scheduler 2, postgres 1', () => {
    expect(deployment('jobq-api').spec?.replicas).toBe(2);
    expect(deployment('jobq-worker').spec?.replicas).toBe(3);
    expect(deployment('jobq-scheduler').spec?.replicas).toBe(2);
    expect((find(objs, 'StatefulSet', 'postgres') as unknown as IStatefulSet).spec?.replicas).toBe(1);
  });

  it('each Deployment selector matches its pod labels', () => {
    for (const o of objs.filter((x) => x.kind === 'Deployment' || x.kind === 'StatefulSet')) {
      const spec = (o as unknown as IDeployment).spec;
      expect(spec?.template.metadata?.labels).toMatchObject(spec?.selector.matchLabels ?? { missing: 1 });
    }
  });

  it('runs the right jobq command in each workload', () => {
    expect(container(deployment('jobq-api')).args).toEqual(['api']);
    expect(container(deployment('jobq-worker')).args).toEqual(['worker']);
    expect(container(deployment('jobq-scheduler')).args).toEqual(['scheduler']);
    const job = find(objs, 'Job', 'jobq-migrate') as unknown as IJob;
    expect(job.spec?.template.spec?.containers[0]?.args).toEqual(['migrate']);
    // re-applying a finished Job is a no-op; ttl lets a later apply create it again (see the file)
    expect(job.spec?.ttlSecondsAfterFinished).toBeGreaterThan(0);
    expect(job.spec?.template.spec?.restartPolicy).toMatch(/OnFailure|Never/);
  });

  it('API: port 8000 behind a Service, readiness on /readyz, liveness on /healthz', () => {
    const api = container(deployment('jobq-api'));
    expect(api.ports).toContainEqual({ name: 'http', containerPort: 8000 });
    expect(api.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
    expect(api.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'http' });
    const svc = find(objs, 'Service', 'jobq-api') as unknown as IService;
    expect(svc.spec?.ports).toContainEqual({ name: 'http', port: 8000, targetPort: 'http' });
    expect(svc.spec?.selector).toEqual(deployment('jobq-api').spec?.selector.matchLabels);
  });

  it('worker and scheduler expose a named metrics port 9464 with Prometheus scrape annotations', () => {
    for (const name of ['jobq-worker', 'jobq-scheduler']) {
      const d = deployment(name);
      expect(container(d).ports).toContainEqual({ name: 'metrics', containerPort: 9464 });
      expect(d.spec?.template.metadata?.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9464',
        'prometheus.io/path': '/metrics',
      });
    }
    expect(configMap.data?.JOBQ_METRICS_PORT).toBe('9464');
  });

  it('worker and scheduler: liveness on /healthz, readiness on /readyz of the metrics port', () => {
    for (const name of ['jobq-worker', 'jobq-scheduler']) {
      const c = container(deployment(name));
      expect(c.livenessProbe?.httpGet, name).toMatchObject({ path: '/healthz', port: 'metrics' });
      expect(c.readinessProbe?.httpGet, name).toMatchObject({ path: '/readyz', port: 'metrics' });
      // the readiness check itself waits up to 2 s for a connection, a statement or a lock
      expect(c.readinessProbe?.timeoutSeconds, name).toBeGreaterThan(2);
    }
  });

  it('PostgreSQL: StatefulSet on postgres:16 with a volumeClaimTemplate and a headless Service', () => {
    const ss = find(objs, 'StatefulSet', 'postgres') as unknown as IStatefulSet;
    const pg = ss.spec?.template.spec?.containers[0];
    expect(pg?.image).toBe('postgres:16');
    expect(ss.spec?.volumeClaimTemplates?.[0]?.metadata?.name).toBe('data');
    expect(pg?.volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/postgresql/data' });
    const svc = find(objs, 'Service', 'postgres') as unknown as IService;
    expect(svc.spec?.clusterIP).toBe('None');
    expect(ss.spec?.serviceName).toBe('postgres');
    expect(pg?.env).toContainEqual({
      name: 'POSTGRES_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'jobq-secrets', key: 'POSTGRES_PASSWORD' } },
    });
    expect(ss.spec?.template.spec?.securityContext).toMatchObject({ runAsUser: 999, fsGroup: 999 });
  });
});

describe('shutdown and disruption', () => {
  it('worker terminationGracePeriodSeconds exceeds JOBQ_SHUTDOWN_GRACE_SECONDS', () => {
    expect(workerGraceSeconds).toBeGreaterThan(0);
    const grace = deployment('jobq-worker').spec?.template.spec?.terminationGracePeriodSeconds ?? 30;
    expect(grace).toBeGreaterThanOrEqual(workerGraceSeconds + 10);
  });

  it('a PodDisruptionBudget covers the workers', () => {
    const pdbs = objs.filter((o) => o.kind === 'PodDisruptionBudget') as unknown as IPodDisruptionBudget[];
    const worker = pdbs.find(
      (p) =>
        JSON.stringify(p.spec?.selector?.matchLabels) ===
        JSON.stringify(deployment('jobq-worker').spec?.selector.matchLabels),
    );
    expect(worker?.spec?.maxUnavailable ?? worker?.spec?.minAvailable).toBeDefined();
  });
});

describe('autoscaling', () => {
  const hpa = find(objs, 'HorizontalPodAutoscaler', 'jobq-worker') as unknown as IHorizontalPodAutoscaler;

  it('HPA (autoscaling/v2) targets the worker Deployment with min 3', () => {
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'jobq-worker',
    });
    expect(hpa.spec.minReplicas).toBe(3);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(3);
  });

  it('scales on CPU (Resource) and on queue depth (External jobs_pending, AverageValue)', () => {
    const metrics = hpa.spec.metrics ?? [];
    const cpu = metrics.find((m) => m.type === 'Resource');
    expect(cpu?.resource?.name).toBe('cpu');
    expect(cpu?.resource?.target.type).toBe('Utilization');
    const ext = metrics.find((m) => m.type === 'External');
    expect(ext?.external?.metric.name).toBe('jobs_pending');
    // the queue the HPA watches is one the workers serve
    const queue = ext?.external?.metric.selector?.matchLabels?.queue;
    const served = (configMap.data?.QUEUE ?? 'default').split(',').map((q) => q.split(':')[0]);
    expect(served).toContain(queue);
    expect(ext?.external?.target.type).toBe('AverageValue');
    expect(Number(ext?.external?.target.averageValue)).toBeGreaterThan(0);
  });

  it('the prometheus-adapter rule shipped beside it serves that external metric', () => {
    const values = readYamlDocs(path.join(K8S_DIR, 'prometheus-adapter', 'values.yaml'))[0] as {
      rules: { external: { seriesQuery: string; name: { as: string }; metricsQuery: string }[] };
    };
    const rule = values.rules.external.find((r) => r.name.as === 'jobs_pending');
    expect(rule?.seriesQuery).toMatch(/^jobs_pending\{/);
    expect(rule?.seriesQuery).toContain('queue');
    // several pods export the same sampled depth: aggregate with max, not sum
    expect(rule?.metricsQuery).toMatch(/^max\(/);
  });

  it('the PodMonitor (k8s/monitoring) scrapes the named ports, the API with a token it accepts', () => {
    const [pm] = readYamlDocs(path.join(K8S_DIR, 'monitoring', 'podmonitor.yaml')) as {
      kind: string;
      metadata: { namespace: string };
      spec: {
        podMetricsEndpoints: {
          port: string;
          path: string;
          authorization?: { type: string; credentials: { name: string; key: string } };
        }[];
      };
    }[];
    expect(pm?.kind).toBe('PodMonitor');
    expect(pm?.metadata.namespace).toBe('jobq');
    const ports = new Set(
      jobqContainers(objs).flatMap(({ container: c }) => (c.ports ?? []).map((p) => p.name)),
    );
    const endpoints = pm?.spec.podMetricsEndpoints ?? [];
    expect(endpoints.map((e) => e.port).sort()).toEqual(['http', 'metrics']);
    for (const ep of endpoints) {
      expect(ports.has(ep.port), `port ${ep.port}`).toBe(true);
      expect(ep.path).toBe('/metrics');
    }
    // the API's /metrics needs a bearer token: the Secret's token must be one JOBQ_API_TOKENS accepts
    const auth = endpoints.find((e) => e.port === 'http')?.authorization;
    expect(auth?.type).toBe('Bearer');
    const token = stringData(auth?.credentials.name ?? '')[auth?.credentials.key ?? ''];
    expect(token).toBeDefined();
    const accepted = parseTokens(stringData('jobq-secrets').JOBQ_API_TOKENS ?? '');
    expect(matchToken(accepted, token ?? '')).toBe('prometheus');
  });
});

describe('secrets, security, resources', () => {
  it('DATABASE_URL and API tokens come from the Secret, never a literal in a workload', () => {
    const secret = objs.find((o) => o.kind === 'Secret' && o.metadata.name === 'jobq-secrets') as
      (Record<string, unknown> & { stringData?: Record<string, string> }) | undefined;
    expect(Object.keys(secret?.stringData ?? {}).sort()).toEqual([
      'DATABASE_URL',
      'JOBQ_API_TOKENS',
      'POSTGRES_PASSWORD',
    ]);
    for (const name of ['jobq-secrets', 'jobq-prometheus'])
      for (const v of Object.values(stringData(name))) expect(v, name).toContain('CHANGE-ME');
    const secretKeys = new Set(Object.keys(secret?.stringData ?? {}));
    for (const { owner, container: c } of jobqContainers(objs)) {
      const db = c.env?.find((e) => e.name === 'DATABASE_URL');
      const fromSecretEnv = (c.envFrom ?? []).some((e) => e.secretRef?.name === 'jobq-secrets');
      expect(db?.valueFrom?.secretKeyRef ?? fromSecretEnv, owner.name).toBeTruthy();
      for (const e of c.env ?? []) {
        expect(/DATABASE_URL|TOKEN|PASSWORD/.test(e.name) && e.value !== undefined, e.name).toBe(false);
        const ref = e.valueFrom?.secretKeyRef;
        if (ref) expect(ref.name === 'jobq-secrets' && secretKeys.has(ref.key), ref.key).toBe(true);
      }
    }
    const api = container(deployment('jobq-api'));
    expect(api.env).toContainEqual({
      name: 'JOBQ_API_TOKENS',
      valueFrom: { secretKeyRef: { name: 'jobq-secrets', key: 'JOBQ_API_TOKENS' } },
    });
  });

  it('every jobq container runs non-root, unprivileged, with a read-only root filesystem', () => {
    const list = jobqContainers(objs);
    expect(list.map((x) => x.owner.name).sort()).toEqual([
      'jobq-api',
      'jobq-migrate',
      'jobq-scheduler',
      'jobq-worker',
    ]);
    for (const { owner, container: c } of list) {
      const pod = owner.pod.securityContext;
      const sc = c.securityContext;
      const label = `${owner.name}/${c.name}`;
      expect(sc?.runAsNonRoot ?? pod?.runAsNonRoot, label).toBe(true);
      expect(sc?.runAsUser ?? pod?.runAsUser, label).toBe(1000);
      expect(sc?.allowPrivilegeEscalation, label).toBe(false);
      expect(sc?.readOnlyRootFilesystem, label).toBe(true);
      expect(sc?.capabilities?.drop, label).toEqual(['ALL']);
      expect(sc?.privileged, label).not.toBe(true);
    }
  });

  it('PostgreSQL runs as its own non-root uid, unprivileged', () => {
    const ss = find(objs, 'StatefulSet', 'postgres') as unknown as IStatefulSet;
    const pg = ss.spec?.template.spec?.containers[0];
    expect(isPostgresImage(pg?.image)).toBe(true);
    expect(ss.spec?.template.spec?.securityContext?.runAsNonRoot).toBe(true);
    expect(pg?.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
  });

  it('every container has cpu and memory requests and limits', () => {
    const all = podSpecs(objs).flatMap((o) =>
      [...(o.pod.initContainers ?? []), ...o.pod.containers].map((c) => ({ o, c })),
    );
    expect(all.length).toBe(5);
    for (const { o, c } of all) {
      for (const kind of ['requests', 'limits'] as const)
        for (const res of ['cpu', 'memory'])
          expect(c.resources?.[kind]?.[res], `${o.name}/${c.name} ${kind}.${res}`).toBeDefined();
    }
  });

  it('every jobq container uses the same image, tagged with the package version', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const images = new Set(jobqContainers(objs).map(({ container: c }) => c.image));
    expect([...images]).toEqual([`jobq:${pkg.version}`]);
  });
});

describe('optional PgBouncer piece (k8s/pgbouncer)', () => {
  const pgb = loadK8s(path.join(K8S_DIR, 'pgbouncer'));

  it('validates; transaction pooling; its Service and the direct Service for LISTEN select the right pods', () => {
    for (const o of pgb) {
      const validate = VALIDATORS[`${o.apiVersion}/${o.kind}`];
      expect(validate, `${o.kind} has no validator`).toBeDefined();
      const { file: _file, ...raw } = o;
      expect(() => validate?.(raw), `${o.kind} ${o.metadata.name}`).not.toThrow();
    }
    const ini =
      (find(pgb, 'ConfigMap', 'jobq-pgbouncer') as unknown as IConfigMap).data?.['pgbouncer.ini'] ?? '';
    expect(ini).toMatch(/^pool_mode = transaction$/m);
    expect(ini).toMatch(/^\* = host=postgres port=5432$/m);
    const d = find(pgb, 'Deployment', 'jobq-pgbouncer') as unknown as IDeployment;
    const svc = find(pgb, 'Service', 'jobq-pgbouncer') as unknown as IService;
    expect(svc.spec?.selector).toEqual(d.spec?.selector.matchLabels);
    expect(container(d).ports).toContainEqual({ name: 'pgbouncer', containerPort: 6432 });
    expect(d.spec?.template.spec?.securityContext?.runAsNonRoot).toBe(true);
    // LISTEN bypasses the pooler: the direct Service selects the PostgreSQL pods themselves
    const direct = find(pgb, 'Service', 'postgres-direct') as unknown as IService;
    const ss = find(objs, 'StatefulSet', 'postgres') as unknown as IStatefulSet;
    expect(direct.spec?.selector).toEqual(ss.spec?.selector.matchLabels);
    expect(direct.spec?.clusterIP).toBeUndefined();
  });
});
