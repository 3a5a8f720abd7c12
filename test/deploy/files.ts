// Loaders for the deployment files the test/deploy suites check: Kubernetes manifests (multi-document
// YAML, validated against the official schemas by kubernetes-models), `docker-compose config` output,
// and a small Dockerfile instruction parser.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const K8S_DIR = path.join(ROOT, 'k8s');

/** A parsed Kubernetes object, with the file it came from. */
export interface K8sObject {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

type Validator = (obj: object) => void;

/** Every kind the manifests may use, with its schema validator (a new kind must be added here). */
export const VALIDATORS: Record<string, Validator> = {
  'v1/Namespace': (o) => new Namespace(o).validate(),
  'v1/ConfigMap': (o) => new ConfigMap(o).validate(),
  'v1/Secret': (o) => new Secret(o).validate(),
  'v1/Service': (o) => new Service(o).validate(),
  'apps/v1/Deployment': (o) => new Deployment(o).validate(),
  'apps/v1/StatefulSet': (o) => new StatefulSet(o).validate(),
  'batch/v1/Job': (o) => new Job(o).validate(),
  'policy/v1/PodDisruptionBudget': (o) => new PodDisruptionBudget(o).validate(),
  // kubernetes-models 5 types the HPA constructor's spec as required; validate() is what checks it.
  'autoscaling/v2/HorizontalPodAutoscaler': (o) =>
    new HorizontalPodAutoscaler(o as ConstructorParameters<typeof HorizontalPodAutoscaler>[0]).validate(),
};

/** Parses every YAML document of a file; throws on a YAML syntax error, naming the file. */
export function readYamlDocs(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  const list = Array.isArray(docs) ? docs : [docs];
  return list.flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    return value === null || value === undefined ? [] : [value];
  });
}

/** The .yaml/.yml file names directly in a folder, sorted as `kubectl apply -f <dir>` applies them. */
export function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
}

/** All objects of the top-level k8s/*.yaml files (what `kubectl apply -f k8s/` applies), in order. */
export function loadK8s(dir = K8S_DIR): K8sObject[] {
  return yamlFiles(dir).flatMap((f) =>
    readYamlDocs(path.join(dir, f)).map((o) => ({ ...(o as object), file: f }) as K8sObject),
  );
}

/** The object of that kind and name; throws when absent. */
export function find(objs: K8sObject[], kind: string, name: string): K8sObject {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} named ${name} in k8s/`);
  return o;
}

/** A workload's pod template spec, with who owns it. */
export interface PodOwner {
  kind: string;
  name: string;
  pod: IPodSpec;
}

/** The pod specs of every Deployment, StatefulSet and Job. */
export function podSpecs(objs: K8sObject[]): PodOwner[] {
  return objs.flatMap((o) => {
    if (!['Deployment', 'StatefulSet', 'Job'].includes(o.kind)) return [];
    const spec = o.spec as { template: { spec: IPodSpec } };
    return [{ kind: o.kind, name: o.metadata.name, pod: spec.template.spec }];
  });
}

/** Containers running the PostgreSQL image (their own POSTGRES_* settings are not jobq's). */
export function isPostgresImage(image: string | undefined): boolean {
  return image !== undefined && /^postgres(:|@|$)/.test(image);
}

/** Every jobq container (init and regular) with its owner. */
export function jobqContainers(objs: K8sObject[]): { owner: PodOwner; container: IContainer }[] {
  return podSpecs(objs).flatMap((owner) =>
    [...(owner.pod.initContainers ?? []), ...owner.pod.containers]
      .filter((c) => !isPostgresImage(c.image))
      .map((container) => ({ owner, container })),
  );
}

// ---- docker-compose ----------------------------------------------------------------------------

/** Whether docker-compose (1.29, config validation only) is installed. */
export const HAS_DOCKER_COMPOSE = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
/** In CI a missing peer must fail the suite, never skip it. */
export const IN_CI = process.env.CI === 'true';

export interface ComposeRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `docker-compose <args>` in the repository root with env (QUEUE etc. unset unless given). */
export function dockerCompose(args: string[], env: Record<string, string> = {}): Promise<ComposeRun> {
  const unset = new Set(['QUEUE', 'CONCURRENCY', 'JOBQ_LOG_LEVEL', 'COMPOSE_FILE', 'COMPOSE_PROJECT_NAME']);
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !unset.has(k)));
  return new Promise((resolve, reject) => {
    const child = spawn('docker-compose', args, { cwd: ROOT, env: { ...base, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`docker-compose could not run: ${err.message}`));
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  ports?: (string | { target: number; published: number | string })[];
  volumes?: (string | { source?: string; target: string })[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  restart?: string;
  stop_grace_period?: string;
}

export interface ComposeConfig {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** The resolved configuration (`docker-compose -f … config`), parsed; throws with stderr on failure. */
export async function composeConfig(
  files: string[],
  env: Record<string, string> = {},
): Promise<ComposeConfig> {
  const r = await dockerCompose([...files.flatMap((f) => ['-f', f]), 'config'], env);
  if (r.status !== 0) throw new Error(`docker-compose config failed (${r.status}): ${r.stderr}`);
  return parse(r.stdout) as ComposeConfig;
}

/** "40s", "1m30s", "500ms" → seconds. */
export function composeDurationSeconds(text: string): number {
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)/g;
  let matched = '';
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const n = Number(m[1]);
    const unit = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9 }[m[2] as 'h'];
    total += n * unit;
    matched += m[0];
  }
  if (matched !== text) throw new Error(`not a compose duration: ${text}`);
  return total;
}

// ---- Dockerfile --------------------------------------------------------------------------------

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Dockerfile instructions (comments dropped, `\` continuations joined), grouped by FROM stage. */
export function dockerfileStages(text: string): Instruction[][] {
  const out: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending !== '' && line.startsWith('#')) return;
    if (pending === '') startLine = i + 1;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      return;
    }
    pending += line;
    const m = /^(\S+)\s*(.*)$/.exec(pending);
    if (m) out.push({ keyword: (m[1] ?? '').toUpperCase(), args: (m[2] ?? '').trim(), line: startLine });
    pending = '';
  });
  const stages: Instruction[][] = [[]];
  for (const ins of out) {
    if (ins.keyword === 'FROM') stages.push([]);
    stages[stages.length - 1]?.push(ins);
  }
  return stages; // stages[0] holds what precedes the first FROM (global ARGs)
}
