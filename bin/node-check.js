// Refuses an unsupported Node.js with one line and exit code 2, before any dependency loads.
// Imported first by bin/jobq.js and by scripts/build-if-stale.js (`npm install`'s prepare); run
// directly by `npm test` (pretest).
import process from 'node:process';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  // `npx jobq` in a checkout first links the checkout into npx's cache, which runs our prepare with its
  // output hidden: failing there would swallow this line (npx exits 2 with npm's engine warnings only)
  // and leave npx's cache half-written, so that the next `npx jobq` fails with ENOENT. Let that prepare
  // succeed without building; the jobq binary npx starts next stops with the line.
  const env = process.env;
  if (
    env.npm_command === 'exec' &&
    env.npm_lifecycle_event === 'prepare' &&
    env.npm_package_name === 'jobq'
  ) {
    process.exit(0);
  }
  process.stderr.write(
    `jobq: Node.js ${process.versions.node} is not supported; use Node.js 22 (22.13+), 24 or 26 ` +
      `(README, "Development", shows how to get one)\n`,
  );
  process.exit(2);
}
