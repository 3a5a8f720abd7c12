// The supported-runtime check: `jobq`, `npm install` (prepare) and `npm test` (pretest) run
// bin/node-check.js first, so an unsupported Node stops with one line and exit code 2 before any
// dependency loads. The old Node is simulated by a preload that rewrites process.versions.node, so
// the real shim runs on whatever Node runs the suite.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOBQ_BIN } from '../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHECK = path.join(ROOT, 'bin/node-check.js');

const refusal = (version: string) =>
  `jobq: Node.js ${version} is not supported; use Node.js 22 (22.13+), 24 or 26 (README, "Development", shows how to get one)`;

/** NODE_OPTIONS-safe preload (no double quotes, no spaces) that makes process.versions.node lie. */
const preload = (version: string) =>
  `data:text/javascript,Object.defineProperty(process,'versions',{value:{...process.versions,node:'${version}'}})`;

/** The environment without npm's script variables of the run that started the suite. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_')));
  return { ...env, ...extra };
}

/** Runs `node --import preload file args…` as if Node `version` were running it. */
function runAs(version: string, file: string, args: string[] = [], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', preload(version), file, ...args], {
    encoding: 'utf8',
    env: cleanEnv(env),
  });
}

/** What npm sets for our prepare when `npx jobq` links the checkout into npx's cache. */
const NPX_PREPARE = { npm_command: 'exec', npm_lifecycle_event: 'prepare', npm_package_name: 'jobq' };

describe('supported Node.js versions', () => {
  for (const old of ['20.20.2', '18.20.0', '22.12.0']) {
    it(`jobq on Node ${old} prints one line naming the supported versions and exits 2`, () => {
      const r = runAs(old, JOBQ_BIN, ['--version']);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toBe(refusal(old));
    });
  }

  for (const ok of ['22.13.0', '24.0.0', '26.12.1']) {
    it(`jobq on Node ${ok} runs`, () => {
      const r = runAs(ok, JOBQ_BIN, ['--version']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    });
  }

  // A copy of the prepare script beside sources and no TypeScript: a build attempt there fails (exit 1).
  let copy = '';
  beforeAll(() => {
    copy = mkdtempSync(path.join(tmpdir(), 'jobq-prepare-'));
    for (const f of ['bin/node-check.js', 'scripts/build-if-stale.js']) {
      mkdirSync(path.dirname(path.join(copy, f)), { recursive: true });
      copyFileSync(path.join(ROOT, f), path.join(copy, f));
    }
    mkdirSync(path.join(copy, 'src'));
    for (const f of ['src/main.ts', 'package.json', 'tsconfig.json', 'tsconfig.build.json']) {
      writeFileSync(path.join(copy, f), '{}\n');
    }
  });
  afterAll(() => rmSync(copy, { recursive: true, force: true }));
  const prepareAs = (version: string, env: Record<string, string> = {}) =>
    runAs(version, path.join(copy, 'scripts/build-if-stale.js'), [], env);

  it('npm install (prepare) and npm test (pretest) run the same check first', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
      engines: { node: string };
    };
    expect(pkg.scripts.prepare).toBe('node scripts/build-if-stale.js');
    expect(pkg.scripts.pretest).toBe('node bin/node-check.js');
    expect(pkg.engines.node).toBe('>=22.13');
    for (const r of [prepareAs('20.20.2'), runAs('20.20.2', CHECK)]) {
      expect({ status: r.status, stderr: r.stderr }).toEqual({
        status: 2,
        stderr: `${refusal('20.20.2')}\n`,
      });
    }
    expect(runAs('24.22.3', CHECK).status).toBe(0);
    expect(prepareAs('24.22.3').status).toBe(1); // the control: on a supported Node it builds
  });

  it("npx's prepare on an old Node neither fails nor builds (the jobq binary it starts next refuses)", () => {
    const skipped = prepareAs('20.20.2', NPX_PREPARE);
    expect({ status: skipped.status, out: skipped.stdout + skipped.stderr }).toEqual({ status: 0, out: '' });
    expect(prepareAs('24.22.3', NPX_PREPARE).status).toBe(1); // the control: it does build
  });

  it('`npx jobq` in the checkout on an old Node prints the line, the first time and the next', () => {
    // npx links the checkout into its cache (a fresh one here) and runs our prepare with its output
    // hidden; a failing prepare left npx with npm's warnings only, and a half-written cache after.
    const cache = mkdtempSync(path.join(tmpdir(), 'jobq-npx-'));
    try {
      for (const attempt of [1, 2]) {
        const r = spawnSync('npx', ['jobq', '--version'], {
          cwd: ROOT,
          encoding: 'utf8',
          env: cleanEnv({ npm_config_cache: cache, NODE_OPTIONS: `--import=${preload('20.20.2')}` }),
        });
        expect({ attempt, status: r.status, last: r.stderr.trim().split('\n').at(-1) }).toEqual({
          attempt,
          status: 2,
          last: refusal('20.20.2'),
        });
        expect(r.stdout).toBe('');
      }
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }, 120_000);
});
