// What operators see of each kind of flow limit while real `jobq worker` processes are held back by it:
// `jobq explain` (CLI) and GET /jobs/:id/explain give the limit's reason code and its numbers, `jobq
// queues` shows each limit with its use, and the worker's own /metrics counts its throttled claims per
// queue and reason. Needs `npm run build`.
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.js';
import { enqueueMany, setQueueLimits } from '../../src/queue/index.js';
import { request, startApi, type RunningApi } from '../api/helpers.js';
import { runCli } from '../helpers/cli.js';
import { freshDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { spawnWorker } from './helpers.js';

const db = await freshDb();
const exec = db.exec;
let api: RunningApi | undefined;
afterAll(() => api?.close());

/** The ids of a queue's jobs in one status, oldest first (optionally of one key). */
async function ids(queue: string, status: string, key?: string): Promise<string[]> {
  const r = await sql<{ id: string }>`SELECT id FROM ${exec.t.jobs}
    WHERE queue = ${queue} AND status = ${status} AND (${key ?? null}::text IS NULL OR key = ${key ?? null})
    ORDER BY created_at, id`.execute(exec.raw);
  return r.rows.map((x) => x.id);
}

/** One counter's value from a Prometheus text exposition (0 when absent). */
function counter(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inner = line.slice(name.length + 1, line.indexOf('}'));
    if (want.every((w) => inner.split(',').includes(w))) return Number(line.slice(line.indexOf('}') + 1));
  }
  return 0;
}

describe('flow limits as operators see them, with a real worker held back by each kind', () => {
  it(
    'explain (CLI and API) gives each limit its reason code; jobq queues shows the use; /metrics counts throttled claims per queue and reason',
    { timeout: 180_000 },
    async () => {
      await setQueueLimits(exec, 'f-conc', { concurrency: 2 });
      await setQueueLimits(exec, 'f-rate', { rate: '1/m', burst: 1 });
      await setQueueLimits(exec, 'f-key', { perKeyConcurrency: 1 });
      const long = { type: 'test.sleep', payload: { ms: 120_000 } };
      await enqueueMany(exec, [
        ...Array.from({ length: 4 }, () => ({ ...long, queue: 'f-conc' })),
        ...Array.from({ length: 3 }, () => ({ ...long, queue: 'f-rate' })),
        ...Array.from({ length: 3 }, () => ({ ...long, queue: 'f-key', key: 'customer-42' })),
        { ...long, queue: 'f-key', key: 'customer-7' },
      ]);
      const port = await freePort();
      const w = spawnWorker({
        ...db.env,
        QUEUE: 'f-conc:10,f-rate:10,f-key:10',
        JOBQ_METRICS_PORT: String(port),
        JOBQ_POLL_INTERVAL_MS: '200',
      });
      try {
        // every slot is free, yet each queue runs only what its limit allows
        await waitFor(
          async () =>
            (await ids('f-conc', 'RUNNING')).length === 2 &&
            (await ids('f-rate', 'RUNNING')).length === 1 &&
            (await ids('f-key', 'RUNNING')).length === 2,
          { what: `the limits to fill; output: ${w.output().slice(-1500)}`, timeoutMs: 60_000 },
        );
        const waiting = {
          conc: (await ids('f-conc', 'PENDING'))[0],
          rate: (await ids('f-rate', 'PENDING'))[0],
          key: (await ids('f-key', 'PENDING', 'customer-42'))[0],
        };
        const expected = {
          conc: { reason: 'queue_concurrency_limit', text: 'Queue "f-conc" is at its concurrency limit 2/2' },
          rate: {
            reason: 'queue_rate_limit',
            text: /Rate limit: queue "f-rate" may start 1\/m; next start in \d/,
          },
          key: {
            reason: 'key_concurrency_limit',
            text: 'Key customer-42 is at its limit 1/1 in queue "f-key"',
          },
        } as const;
        api = await startApi(db, { auth: 'none' });
        for (const kind of ['conc', 'rate', 'key'] as const) {
          const id = waiting[kind];
          if (!id) throw new Error(`no waiting job in the ${kind} queue`);
          const cli = await runCli(['explain', id, '--json'], db.env);
          expect(cli.code, cli.stderr).toBe(0);
          const e = JSON.parse(cli.stdout) as { reason: string; summary: string };
          expect(e.reason).toBe(expected[kind].reason);
          expect(e.summary).toMatch(expected[kind].text);
          const human = await runCli(['explain', id], db.env);
          expect(human.stdout).toMatch(expected[kind].text);
          const viaApi = await request<{ explanation: { reason: string; summary: string } }>(
            `${api.url}/jobs/${id}/explain`,
          );
          expect(viaApi.status).toBe(200);
          expect(viaApi.body.explanation.reason).toBe(expected[kind].reason);
          expect(viaApi.body.explanation.summary).toMatch(expected[kind].text);
        }
        // the other key is not held back by customer-42's limit
        expect(await ids('f-key', 'RUNNING', 'customer-7')).toHaveLength(1);

        const queues = await runCli(['queues'], db.env);
        expect(queues.code, queues.stderr).toBe(0);
        const line = (q: string) => queues.stdout.split('\n').find((l) => l.includes(` ${q} `)) ?? '';
        expect(line('f-conc')).toContain('conc 2/2');
        expect(line('f-rate')).toContain('rate 1/m burst 1 (tokens 0)');
        expect(line('f-key')).toContain('per key 1 (2 of 2 keys at limit)');

        const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const name = 'jobq_claims_throttled_total';
        await waitFor(
          async () => {
            const m = await metrics();
            return (
              counter(m, name, { queue: 'f-conc', reason: 'concurrency' }) > 0 &&
              counter(m, name, { queue: 'f-rate', reason: 'rate' }) > 0 &&
              counter(m, name, { queue: 'f-key', reason: 'key_concurrency' }) > 0
            );
          },
          { what: 'a throttled claim of each kind in the worker /metrics', timeoutMs: 30_000 },
        );
        const m = await metrics();
        // each queue is counted under its own limit only
        expect(counter(m, name, { queue: 'f-conc', reason: 'rate' })).toBe(0);
        expect(counter(m, name, { queue: 'f-rate', reason: 'concurrency' })).toBe(0);
        expect(counter(m, name, { queue: 'f-key', reason: 'concurrency' })).toBe(0);
      } finally {
        w.child.kill('SIGKILL');
        await w.exited;
      }
    },
  );
});
