// The supported-runtime check: `jobq`, `npm install` (prepare) and `npm test` (pretest) run
// bin/node-check.js first, so an unsupported Node stops with one line and exit code 2 before any
// dependency loads. The old Node is simulated by a preload that rewrites process.versions.node, so
// the real shim runs on whatever Node runs the suite.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JOBQ_BIN } from '../helpers/cli.js';

const CHECK = new URL('../../bin/node-check.js', import.meta.url).pathname;

/** Runs `node [--import preload] file args…` as if Node `version` were running it. */
function runAs(version: string, file: string, args: string[] = []) {
  const preload =
    `data:text/javascript,Object.defineProperty(process,'versions',` +
    `{value:{...process.versions,node:${JSON.stringify(version)}}})`;
  return spawnSync(process.execPath, ['--import', preload, file, ...args], { encoding: 'utf8' });
}

describe('supported Node.js versions', () => {
  for (const old of ['20.20.2', '18.20.0', '22.12.0']) {
    it(`jobq on Node ${old} prints one line naming the supported versions and exits 2`, () => {
      const r = runAs(old, JOBQ_BIN, ['--version']);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toBe(
        `jobq: Node.js ${old} is not supported; use Node.js 22 (22.13+), 24 or 26 (README, "Development", shows how to get one)`,
      );
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

  it('npm install (prepare) and npm test (pretest) run the same check first', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      scripts: Record<string, string>;
      engines: { node: string };
    };
    expect(pkg.scripts.prepare).toMatch(/^node bin\/node-check\.js && /);
    expect(pkg.scripts.pretest).toBe('node bin/node-check.js');
    expect(pkg.engines.node).toBe('>=22.13');
    expect(runAs('20.20.2', CHECK).status).toBe(2);
    expect(runAs('24.22.3', CHECK).status).toBe(0);
  });
});
