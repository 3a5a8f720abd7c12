// npm's "prepare" (scripts/build-if-stale.js) compiles only when dist/ is older than the sources: npm runs
// prepare on `npm install` and again when `npx jobq` links the package, and a second full compile kept the
// quick start's first `npx jobq dev` silent for ~20 s. The real script and the real tsc on a tiny project.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const project = mkdtempSync(path.join(tmpdir(), 'jobq-prepare-'));
afterAll(() => rmSync(project, { recursive: true, force: true }));

const main = path.join(project, 'dist', 'main.js');
const source = path.join(project, 'src', 'main.ts');

function prepare(): number | null {
  return spawnSync(process.execPath, [path.join(project, 'scripts', 'build-if-stale.js')], {
    stdio: 'ignore',
  }).status;
}

describe('prepare (scripts/build-if-stale.js)', () => {
  it(
    'compiles when dist/ is missing or older than a source, and not when it is up to date',
    { timeout: 120_000 },
    () => {
      const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
        scripts: { prepare: string };
      };
      expect(pkg.scripts.prepare).toContain('scripts/build-if-stale.js');
      for (const dir of ['scripts', 'bin', 'src']) mkdirSync(path.join(project, dir));
      // the script and what it imports (the Node version check)
      for (const file of ['scripts/build-if-stale.js', 'bin/node-check.js'])
        copyFileSync(path.join(ROOT, file), path.join(project, file));
      symlinkSync(path.join(ROOT, 'node_modules'), path.join(project, 'node_modules'), 'dir');
      writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'p', type: 'module' }));
      writeFileSync(path.join(project, 'tsconfig.json'), '{}');
      writeFileSync(
        path.join(project, 'tsconfig.build.json'),
        JSON.stringify({
          compilerOptions: {
            outDir: 'dist',
            rootDir: 'src',
            module: 'nodenext',
            target: 'es2022',
            strict: true,
            types: [], // no @types/* from the linked node_modules: a tiny compile
            skipLibCheck: true,
          },
          include: ['src'],
        }),
      );
      writeFileSync(source, 'export const answer: number = 42;\n');

      expect(prepare()).toBe(0);
      expect(existsSync(main)).toBe(true);

      // up to date: dist/main.js is left alone (its time stays what we set)
      const later = new Date(Date.now() + 60_000);
      utimesSync(main, later, later);
      expect(prepare()).toBe(0);
      expect(statSync(main).mtimeMs).toBe(later.getTime());

      // a source newer than dist/: compiled again
      const newer = new Date(later.getTime() + 60_000);
      utimesSync(source, newer, newer);
      expect(prepare()).toBe(0);
      expect(statSync(main).mtimeMs).not.toBe(later.getTime());
    },
  );
});
