// A daemon warns once at start when the server's own settings endanger jobq: too few connections left
// for what it may open, and autovacuum off (PostgreSQL 15 on Debian ships with it off). A server of its
// own, started with exactly those settings, so the check meets them for real; the worker still runs.
// The control — no such warning on a server with room and autovacuum on — is the PgBouncer test's
// "no warning beyond the documented ones" on the suite's embedded server.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/db/connect.js';
import { startEmbedded } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { enqueue, getJob } from '../../src/queue/index.js';
import { waitFor } from '../helpers/wait.js';
import { logLines, spawnDaemon } from './helpers.js';

const pg = await startEmbedded({
  dataDir: mkdtempSync(path.join(tmpdir(), 'jobq-settings-')),
  persistent: false,
  fast: true,
  // 3 of these 6 are reserved for superusers: at most 3 left for everyone, fewer than a worker may open
  settings: { autovacuum: 'off', max_connections: '6', superuser_reserved_connections: '3' },
});
const db = connect({ url: pg.url, schema: 'jobq', max: 1 });
await migrate(db.exec);
afterAll(async () => {
  await db.close();
  await pg.stop();
});

describe('server settings that endanger jobq', () => {
  it('a worker warns once about free connections and autovacuum, names its budget, and keeps working', async () => {
    const worker = spawnDaemon(['worker'], { DATABASE_URL: pg.url, JOBQ_METRICS_PORT: '0' });
    try {
      await waitFor(() => logLines(worker.output()).some((l) => /endangers jobq/.test(l.msg)), {
        what: 'the start-up warning',
      });
      const { job } = await enqueue(db.exec, { type: 'demo.echo', payload: { ok: true } });
      await waitFor(async () => (await getJob(db.exec, job.id)).status === 'COMPLETED', {
        what: 'the job on the warned worker',
      });
      const lines = logLines(worker.output());
      const budget = lines.find((l) => l.msg.startsWith('connection budget: at most'));
      const total = Number(/at most (\d+) connections/.exec(budget?.msg ?? '')?.[1]);
      expect(total).toBeGreaterThanOrEqual(3);
      const warnings = lines.filter((l) => l.level === 40 && /endangers jobq/.test(l.msg));
      expect(warnings).toHaveLength(1);
      const msg = warnings[0]?.msg ?? '';
      expect(msg).toMatch(/autovacuum is off/);
      expect(msg).toMatch(/ALTER SYSTEM SET autovacuum = on/);
      expect(msg).toMatch(
        new RegExp(
          `only \\d+ connections are free \\(max_connections 6, 3 reserved, \\d+ in use\\) but .* may open ${total}`,
        ),
      );
      expect(msg).toMatch(/PgBouncer/);
    } finally {
      expect(await worker.stop()).toBe(0);
    }
  });
});
