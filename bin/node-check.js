// Refuses an unsupported Node.js with one line and exit code 2, before any dependency loads.
// Imported first by bin/jobq.js; run directly by `npm install` (prepare) and `npm test` (pretest).
import process from 'node:process';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  process.stderr.write(
    `jobq: Node.js ${process.versions.node} is not supported; use Node.js 22 (22.13+), 24 or 26 ` +
      `(README, "Development", shows how to get one)\n`,
  );
  process.exit(2);
}
