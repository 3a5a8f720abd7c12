// A runaway handler (a timeout it ignores) in a real `jobq worker` process with 2 slots, seen through the
// real CLI: `jobq explain --json` on a job waiting behind it never calls a slot free while the runaway
// still holds its slot, explains the timed-out attempt (RETRY, next run), `jobq workers` counts the
// runaway, and the slot comes back after JOBQ_TIMEOUT_GRACE_MS (not the 5 s default). Needs `npm run build`.
import { describe, expect, it } from 'vitest';
import type { Explanation } from '../../src/queue/explain.js';
import { enqueue, getJob } from '../../src/queue/index.js';
import { runCli } from '../helpers/cli.js';
import { freshDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { spawnWorker, workerIdOf } from './helpers.js';

const db = await freshDb();
const exec = db.exec;

async function explain(id: string): Promise<Explanation> {
  const r = await runCli(['explain', id, '--json'], db.env);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Explanation;
}

const status = (id: string, s: string, timeoutMs = 30_000) =>
  waitFor(
    async () => {
      const j = await getJob(exec, id);
      return j.status === s ? j : undefined;
    },
    { what: `job ${id} to be ${s}`, timeoutMs, intervalMs: 50 },
  );

/** Both slots busy: explain must say so (never "… slot … is free"). */
function expectBothBusy(e: Explanation, overtime: boolean): void {
  expect(e.status).toBe('PENDING');
  expect(e.reason).toBe('slots_busy');
  expect(e.summary).toMatch(/^All 2 slots of queue "rq" are busy/);
  expect(e.summary).not.toMatch(/free/);
  const slots = e.details.find((d) => d.label === 'slots')?.value;
  expect(slots).toBe(overtime ? '2 of 2 busy (1 slot held by handlers past their timeout)' : '2 of 2 busy');
}

describe('a runaway handler, a real worker process and the real CLI', () => {
  it('explain never calls the runaway slot free; the timed-out attempt is RETRY; the runaway is counted; the slot is back after JOBQ_TIMEOUT_GRACE_MS', async () => {
    // Longer than the 5 s default (the waiting job must not start before it), and long enough for the
    // three CLI calls made within it on a loaded machine (8 s was not, once, with a CI run beside it).
    const graceMs = 15_000;
    const w = spawnWorker({
      ...db.env,
      QUEUE: 'rq:2',
      JOBQ_POLL_INTERVAL_MS: '100',
      JOBQ_BACKOFF_BASE_MS: '600000', // the timed-out job's next attempt is far off (full jitter up to 10 min)
      JOBQ_BACKOFF_MAX_MS: '600000',
      JOBQ_SHUTDOWN_GRACE_SECONDS: '0',
      JOBQ_TIMEOUT_GRACE_MS: String(graceMs),
    });
    const workerId = await waitFor(() => workerIdOf(db, w.pid), {
      what: 'the worker to register',
      timeoutMs: 60_000,
    });

    // test.runaway: timeoutMs 1500, ignores its signal; test.sleep honours it (shutdown releases it)
    const { job: runaway } = await enqueue(exec, { type: 'test.runaway', queue: 'rq' });
    await status(runaway.id, 'RUNNING');
    const { job: busy } = await enqueue(exec, { type: 'test.sleep', queue: 'rq', payload: { ms: 120_000 } });
    await status(busy.id, 'RUNNING');
    const { job: innocent } = await enqueue(exec, { type: 'test.sleep', queue: 'rq', payload: { ms: 10 } });

    // (a) both slots genuinely busy: before the timeout, and after it while the runaway keeps its slot
    const before = await explain(innocent.id);
    if ((await getJob(exec, runaway.id)).status === 'RUNNING') expectBothBusy(before, false);
    const timedOut = await status(runaway.id, 'RETRY');
    expectBothBusy(await explain(innocent.id), true);

    // (b) the timed-out job: its attempt failed "timed out after 1500ms", RETRY with a next run
    expect(timedOut.lastError).toBe('handler timed out after 1500ms');
    const r = await explain(runaway.id);
    expect(r.status).toBe('RETRY');
    expect(r.reason).toBe('retry_scheduled');
    expect(r.summary).toMatch(
      /^Attempt 1 of 5 failed with "handler timed out after 1500ms"; the next attempt is at /,
    );
    expect(r.at).not.toBeNull();

    // still within the grace: the slot is held, explain still says so
    expectBothBusy(await explain(innocent.id), true);
    expect((await getJob(exec, innocent.id)).status).toBe('PENDING');

    // (c) after timeout + grace the slot comes back and the waiting job runs; the runaway is counted
    const done = await status(innocent.id, 'COMPLETED', 60_000);
    // not before the grace set here (15 s): with the 5 s default it would have started ~10 s sooner
    expect(done.startedAt?.getTime() ?? 0).toBeGreaterThanOrEqual(
      timedOut.updatedAt.getTime() + graceMs - 1000,
    );
    expect(w.output()).toMatch(new RegExp(`"graceMs":${graceMs}`));
    expect(w.output()).toMatch(
      new RegExp(`runaway handler: job \\S+ ignored its signal ${graceMs}ms after timing out`),
    );
    const workers = await runCli(['workers', '--json'], db.env);
    expect(workers.code, workers.stderr).toBe(0);
    const me = (JSON.parse(workers.stdout) as { id: string; runaways: number; overtime: object }[]).find(
      (x) => x.id === workerId,
    );
    expect(me).toMatchObject({ runaways: 1, overtime: {} });
    const table = await runCli(['workers'], db.env);
    expect(table.stdout).toMatch(/runaways/);

    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });
});
