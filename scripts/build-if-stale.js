// npm "prepare": compiles src/ into dist/ unless dist/ is already newer than every source file. npm runs
// prepare on `npm install` and again when `npx jobq` links the package into its cache; the second run
// would recompile the same sources for ~20 s before the first line of output. An unsupported Node stops
// first (bin/node-check.js, imported before anything else runs).
import '../bin/node-check.js';
import { spawnSync } from 'node:child_process';
import process from 'node:process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const src = path.join(root, 'src');
const stamp = path.join(root, 'dist', 'main.js');

/** Newest modification time of the files under dir (recursively). */
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

// A packed copy has no sources to build: its dist/ is what it ships.
if (!existsSync(src)) process.exit(0);
const inputs = Math.max(
  newest(src),
  ...['package.json', 'tsconfig.json', 'tsconfig.build.json'].map(
    (f) => statSync(path.join(root, f)).mtimeMs,
  ),
);
if (existsSync(stamp) && statSync(stamp).mtimeMs >= inputs) process.exit(0);
const tsc = spawnSync(
  process.execPath,
  [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.build.json')],
  {
    stdio: 'inherit',
  },
);
process.exit(tsc.status ?? 1);
