// The Dockerfile: passes `dockerfile-utils lint`, builds in one stage and runs from a slim Node 24 (current LTS) stage
// with production dependencies only, as the non-root "node" user, with ENTRYPOINT ["jobq"] and a
// HEALTHCHECK for the API. Also: nothing the code imports at run time is a dev dependency.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, dockerfileStages, type Instruction } from './files.js';

const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const [globals = [], ...stages] = dockerfileStages(text);
const final = stages[stages.length - 1] ?? [];
const build = stages.slice(0, -1);
const args = (list: Instruction[], keyword: string): string[] =>
  list.filter((i) => i.keyword === keyword).map((i) => i.args);
const lint = (file: string) =>
  spawnSync(path.join(ROOT, 'node_modules', '.bin', 'dockerfile-utils'), ['lint', file], {
    cwd: ROOT,
    encoding: 'utf8',
  });

describe('Dockerfile', () => {
  it('passes dockerfile-utils lint with no diagnostics', () => {
    const r = lint('Dockerfile');
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('lint reports errors (the linter is live)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'jobq-dockerfile-'));
    try {
      writeFileSync(path.join(dir, 'Dockerfile'), 'FROM node:20\nUSER\nEXPOSE abc\n');
      const r = lint(path.join(dir, 'Dockerfile'));
      expect(r.status).not.toBe(0);
      expect(r.stdout).toMatch(/Error: Instruction has no arguments/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is multi-stage: a build stage with dev dependencies compiles TypeScript', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runs = build.flatMap((s) => args(s, 'RUN')).join('\n');
    expect(runs).toMatch(/npm ci\b(?![^\n]*--omit=dev)/);
    expect(runs).toMatch(/npm run build/);
  });

  it('the final stage is Node 24 slim with production dependencies only', () => {
    const from = args(final, 'FROM')[0] ?? '';
    const image = from.replace(/^\$\{(\w+)\}/, (_, name: string) => {
      const arg = args(globals, 'ARG').find((a) => a.startsWith(`${name}=`));
      return arg?.slice(name.length + 1) ?? '';
    });
    expect(image).toMatch(/^node:24[-.\w]*-slim\b/);
    const runs = args(final, 'RUN').join('\n');
    expect(runs).toMatch(/npm ci\b[^\n]*--omit=dev/);
    // the "prepare" script (tsc) must not run there: no TypeScript in the final stage
    expect(runs).toMatch(/npm ci\b[^\n]*--ignore-scripts/);
    expect(runs).not.toMatch(/npm install|npm run build|npm i /);
    expect(args(final, 'ENV').join(' ')).toMatch(/NODE_ENV=production/);
    const copies = args(final, 'COPY').join('\n');
    for (const dir of ['dist', 'bin', 'migrations', 'public']) expect(copies).toContain(`/app/${dir}`);
    expect(copies).not.toMatch(/node_modules/);
  });

  it('runs as a non-root user with ENTRYPOINT ["jobq"], CMD ["api"] and an API HEALTHCHECK', () => {
    const users = args(final, 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users[users.length - 1]).toMatch(/^(node|[1-9]\d*)(:\S+)?$/);
    expect(JSON.parse(args(final, 'ENTRYPOINT')[0] ?? 'null')).toEqual(['jobq']);
    expect(JSON.parse(args(final, 'CMD')[0] ?? 'null')).toEqual(['api']);
    const health = args(final, 'HEALTHCHECK')[0] ?? '';
    expect(health).toContain('/healthz');
    expect(health).toContain('process.env.PORT');
    expect(args(final, 'RUN').join('\n')).toMatch(/ln -s \/app\/bin\/jobq\.js \/usr\/local\/bin\/jobq/);
    expect(statSync(path.join(ROOT, 'bin', 'jobq.js')).mode & 0o111).not.toBe(0);
  });

  it('.dockerignore keeps dependencies, build output, tests, git and scratch out of the context', () => {
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const p of ['node_modules', 'dist', 'test', '.git', 'scratch', '.ci'])
      expect(ignored, p).toContain(p);
    // what the build needs must not be ignored
    for (const p of ['src', 'bin', 'migrations', 'package.json', 'package-lock.json', 'tsconfig.json'])
      expect(ignored, p).not.toContain(p);
  });

  it('nothing under src/ imports a dev dependency at run time (the image has none)', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const files = (readdirSync(path.join(ROOT, 'src'), { recursive: true }) as string[]).filter((f) =>
      /\.tsx?$/.test(f),
    );
    expect(files.length).toBeGreaterThan(10);
    const bad: string[] = [];
    const seen = new Set<string>();
    for (const f of files) {
      const src = readFileSync(path.join(ROOT, 'src', f), 'utf8');
      // value imports and re-exports (`import type` / `export type` vanish at compile time)
      const re =
        /^\s*(?:import|export)\s+(?!type\s)(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
      for (let m = re.exec(src); m; m = re.exec(src)) {
        const spec = m[1] ?? m[2] ?? '';
        if (spec.startsWith('.') || spec.startsWith('node:')) continue;
        const name = spec.startsWith('@')
          ? spec.split('/').slice(0, 2).join('/')
          : (spec.split('/')[0] ?? '');
        seen.add(name);
        if (!(name in pkg.dependencies)) bad.push(`src/${f}: ${spec}`);
      }
    }
    expect(seen).toContain('commander'); // the scan does find imports
    expect(seen).toContain('kysely');
    expect(bad).toEqual([]);
  });
});
