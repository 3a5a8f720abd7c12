// Deployment files against the code: every environment variable the Compose files and manifests set
// on a jobq container is one jobq reads (ENV_VARS in src/config.ts) and its value passes loadConfig;
// every command they run exists in the CLI (with the flags they pass), also through the real binary.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { ENV_VARS, loadConfig } from '../../src/config.js';
import { buildProgram } from '../../src/cli/program.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { runCli } from '../helpers/cli.js';
import {
  ROOT,
  dockerfileStages,
  find,
  isPostgresImage,
  jobqContainers,
  loadK8s,
  type ComposeService,
} from './files.js';

const KNOWN = new Set(ENV_VARS.map((v) => v.name));
const objs = loadK8s();
const configMaps = new Map(
  objs
    .filter((o) => o.kind === 'ConfigMap')
    .map((o) => [o.metadata.name, (o as unknown as IConfigMap).data ?? {}]),
);
const secrets = new Map(
  objs
    .filter((o) => o.kind === 'Secret')
    .map((o) => [
      o.metadata.name,
      (o as unknown as { stringData?: Record<string, string> }).stringData ?? {},
    ]),
);

/** The raw Compose files' services (YAML merge keys resolved), jobq's own only: those that build or
 * run the jobq image, and the overlay's additions to them. */
function composeJobqServices(): { file: string; name: string; svc: ComposeService }[] {
  const jobqNames = new Set<string>();
  return ['docker-compose.yml', 'docker-compose.observability.yml']
    .filter((f) => existsSync(path.join(ROOT, f)))
    .flatMap((file) => {
      const doc = parse(readFileSync(path.join(ROOT, file), 'utf8'), { merge: true }) as {
        services?: Record<string, ComposeService>;
      };
      return Object.entries(doc.services ?? {})
        .filter(([name, svc]) => {
          const jobq =
            jobqNames.has(name) ||
            (!isPostgresImage(svc.image) &&
              (svc.build !== undefined || (svc.image ?? '').startsWith('jobq')));
          if (jobq) jobqNames.add(name);
          return jobq;
        })
        .map(([name, svc]) => ({ file, name, svc }));
    });
}

/** Every variable set on each jobq container/service, with where it came from. */
function envSettings(): { where: string; vars: Record<string, string> }[] {
  const out: { where: string; vars: Record<string, string> }[] = [];
  for (const { file, name, svc } of composeJobqServices()) {
    const vars: Record<string, string> = {};
    for (const [k, v] of Object.entries(svc.environment ?? {})) vars[k] = String(v ?? '');
    out.push({ where: `${file} ${name}`, vars });
  }
  for (const { owner, container } of jobqContainers(objs)) {
    const vars: Record<string, string> = {};
    for (const from of container.envFrom ?? []) {
      const src = from.configMapRef
        ? configMaps.get(from.configMapRef.name ?? '')
        : secrets.get(from.secretRef?.name ?? '');
      if (!src) throw new Error(`${owner.name}: envFrom names a ConfigMap/Secret not in k8s/`);
      Object.assign(vars, src);
    }
    for (const e of container.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
      const fromRef = ref
        ? (e.valueFrom?.secretKeyRef ? secrets : configMaps).get(ref.name ?? '')?.[ref.key]
        : undefined;
      if (ref && fromRef === undefined) throw new Error(`${owner.name}: ${e.name} refers to a missing key`);
      vars[e.name] = e.value ?? fromRef ?? '';
    }
    out.push({ where: `k8s ${owner.name}/${container.name}`, vars });
  }
  return out;
}

/** Every jobq command line the deployment files run (arguments after the `jobq` entrypoint). */
function commandLines(): { where: string; argv: string[] }[] {
  const out: { where: string; argv: string[] }[] = [];
  for (const { file, name, svc } of composeJobqServices()) {
    if (svc.entrypoint !== undefined) throw new Error(`${file} ${name}: overrides the jobq entrypoint`);
    const cmd = svc.command;
    if (cmd === undefined && file !== 'docker-compose.yml') continue; // an overlay's partial override
    out.push({
      where: `${file} ${name}`,
      argv: typeof cmd === 'string' ? cmd.split(/\s+/) : (cmd ?? ['api']),
    });
  }
  for (const { owner, container } of jobqContainers(objs)) {
    const argv = container.command
      ? [...container.command, ...(container.args ?? [])]
      : (container.args ?? []);
    if (container.command && argv[0] === 'jobq') argv.shift();
    out.push({ where: `k8s ${owner.name}/${container.name}`, argv });
  }
  const final = dockerfileStages(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')).at(-1) ?? [];
  const cmd = final.find((i) => i.keyword === 'CMD');
  out.push({ where: 'Dockerfile CMD', argv: JSON.parse(cmd?.args ?? '[]') as string[] });
  return out;
}

describe('environment variables', () => {
  const settings = envSettings();

  it('covers every jobq service and container', () => {
    const where = settings.map((s) => s.where);
    for (const s of ['migrate', 'api', 'worker', 'scheduler'])
      expect(where).toContain(`docker-compose.yml ${s}`);
    expect(where.filter((w) => w.startsWith('k8s '))).toHaveLength(4);
  });

  it('every variable set on a jobq container is one jobq reads (ENV_VARS)', () => {
    const unknown = settings.flatMap((s) =>
      Object.keys(s.vars)
        .filter((k) => !KNOWN.has(k))
        .map((k) => `${s.where}: ${k}`),
    );
    expect(unknown).toEqual([]);
    // and the check bites: a typo would be caught
    expect(KNOWN.has('JOBQ_SHUTDOWN_GRACE_SECOND')).toBe(false);
  });

  it('every value set is accepted by loadConfig', () => {
    for (const s of settings) {
      const env = Object.fromEntries(
        Object.entries(s.vars).map(([k, v]) => [k, v.replace(/\$\{(\w+):-([^}]*)\}/g, '$2')]),
      );
      expect(() => loadConfig({}, env), s.where).not.toThrow();
    }
  });

  it('ConfigMap and Secret keys used by jobq containers are all jobq settings', () => {
    const cm = configMaps.get('jobq-config') ?? {};
    expect(Object.keys(cm).length).toBeGreaterThan(5);
    for (const k of Object.keys(cm)) expect(KNOWN.has(k), k).toBe(true);
    const grace = (find(objs, 'ConfigMap', 'jobq-config') as unknown as IConfigMap).data
      ?.JOBQ_SHUTDOWN_GRACE_SECONDS;
    expect(loadConfig({}, { JOBQ_SHUTDOWN_GRACE_SECONDS: grace }).shutdownGraceMs).toBe(Number(grace) * 1000);
  });

  it('the HPA external metric is one jobq exports', async () => {
    const names = (await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names).toContain('jobs_pending');
  });
});

const program = await buildProgram([]);

describe('commands', () => {
  const lines = commandLines();
  const sub = (name: string): Command | undefined => program.commands.find((c) => c.name() === name);
  const flags = (cmd: Command | undefined): string[] =>
    (cmd?.options ?? []).flatMap((o) => [o.long, o.short]).filter((f): f is string => !!f);

  it('every command the deployment files run exists in the CLI, with the flags they pass', () => {
    expect(lines.length).toBeGreaterThanOrEqual(9);
    const problems: string[] = [];
    for (const { where, argv } of lines) {
      const [name = '', ...rest] = argv;
      const cmd = sub(name);
      if (!cmd) {
        problems.push(`${where}: no command "jobq ${name}"`);
        continue;
      }
      const known = [...flags(cmd), ...flags(program)];
      for (const a of rest.filter((x) => x.startsWith('-')))
        if (!known.includes(a.split('=')[0] ?? a))
          problems.push(`${where}: "jobq ${name}" has no option ${a}`);
    }
    expect(problems).toEqual([]);
  });

  it('the real binary answers `jobq <command> --help` for each of them', async () => {
    const names = [...new Set(lines.map((l) => l.argv[0] ?? ''))].sort();
    expect(names).toEqual(['api', 'migrate', 'scheduler', 'worker']);
    const results = await Promise.all(names.map((n) => runCli([n, '--help'])));
    results.forEach((r, i) => {
      expect(r.code, `jobq ${names[i] ?? ''} --help: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`Usage: jobq ${names[i] ?? ''}`);
    });
  });
});
