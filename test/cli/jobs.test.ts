// The real `jobq` binary against a real PostgreSQL: jobs list/show, retry, cancel (output and --json
// shapes, keyset pages, the error history, the no-handler headline, all-or-nothing transitions).
// Needs `npm run build` first (bin/jobq.js runs dist/).
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { cancelJobs, complete, enqueue, getJob, type Job } from '../../src/queue/index.js';
import { workerRegister } from '../../src/sql/workers.js';
import { runCli } from '../helpers/cli.js';
import { freshDb } from '../helpers/db.js';
import { claimOne, deadJob, failOnce, fingerprint } from './support.js';

const db = await freshDb();
const exec = db.exec;
const jobq = (...args: string[]) => runCli(args, db.env);

describe('jobq jobs list', () => {
  it('lists newest first with filters, as a table or a JSON array, in keyset pages with a next-page hint', async () => {
    const made: Job[] = [];
    for (const type of ['list.a', 'list.a', 'list.a', 'list.b', 'list.b'])
      made.push((await enqueue(exec, { type, queue: 'lq', payload: { n: made.length } })).job);
    const dead = await deadJob(exec, { type: 'list.a', queue: 'lq-dead' }, 'exploded');
    const newestFirst = made.map((j) => j.id).reverse();

    const [all, typeB, deadOnly, page1] = await Promise.all([
      jobq('jobs', 'list', '--queue', 'lq', '--json'),
      jobq('jobs', 'list', '--queue', 'lq', '--type', 'list.b', '--json'),
      jobq('jobs', 'list', '--status', 'dead', '--queue', 'lq-dead', '--json'),
      jobq('jobs', 'list', '--queue', 'lq', '--limit', '2'),
    ]);
    expect(all.code, all.stderr).toBe(0);
    const items = JSON.parse(all.stdout) as Record<string, unknown>[];
    expect(items.map((j) => j.id)).toEqual(newestFirst);
    expect(Object.keys(items[0] ?? {})).toEqual(
      expect.arrayContaining([
        'id',
        'type',
        'queue',
        'status',
        'priority',
        'attempts',
        'maxAttempts',
        'runAfter',
        'payload',
        'lastError',
        'errors',
        'createdAt',
        'updatedAt',
      ]),
    );
    expect(items[0]).toMatchObject({ type: 'list.b', queue: 'lq', status: 'PENDING', payload: { n: 4 } });
    expect((JSON.parse(typeB.stdout) as Job[]).map((j) => j.id)).toEqual(newestFirst.slice(0, 2));
    expect((JSON.parse(deadOnly.stdout) as Job[]).map((j) => [j.id, j.status, j.lastError])).toEqual([
      [dead.id, 'DEAD', 'exploded'],
    ]);

    // Human page 1: a table with the columns, two jobs, and the hint for the next page.
    expect(page1.code, page1.stderr).toBe(0);
    for (const col of [
      'id',
      'type',
      'queue',
      'status',
      'prio',
      'attempts',
      'run after',
      'updated',
      'last error',
    ])
      expect(page1.stdout).toContain(col);
    expect(page1.stdout).toContain(newestFirst[0]);
    expect(page1.stdout).toContain(newestFirst[1]);
    expect(page1.stdout).not.toContain(newestFirst[2]);
    expect(page1.stdout).toContain('0/5');
    const hint = /more jobs: (jobq jobs list .*--cursor (\S+))/.exec(page1.stdout);
    expect(hint?.[1]).toBe(`jobq jobs list --queue lq --limit 2 --cursor ${newestFirst[1]}`);

    // Following the cursor walks the rest; the last page has no hint.
    const page2 = await jobq(
      'jobs',
      'list',
      '--queue',
      'lq',
      '--limit',
      '2',
      '--cursor',
      hint?.[2] ?? '',
      '--json',
    );
    expect((JSON.parse(page2.stdout) as Job[]).map((j) => j.id)).toEqual(newestFirst.slice(2, 4));
    expect(page2.stderr).toContain(`--cursor ${newestFirst[3]}`);
    const page3 = await jobq(
      'jobs',
      'list',
      '--queue',
      'lq',
      '--limit',
      '2',
      '--cursor',
      newestFirst[3] ?? '',
    );
    expect(page3.stdout).toContain(newestFirst[4]);
    expect(page3.stdout).not.toContain('more jobs');
    const none = await jobq('jobs', 'list', '--queue', 'nothing-here');
    expect(none.stdout).toContain('no jobs match');
  });
});

describe('jobq jobs show', () => {
  it('shows payload, attempts, every failed attempt, the lease holder and expiry, timestamps; --json is the job', async () => {
    const { job } = await enqueue(exec, {
      type: 'email.send',
      queue: 'show-q',
      payload: { to: 'ops@example.com', n: 7 },
      maxAttempts: 3,
    });
    await failOnce(exec, job, 'smtp down: 421 try later', 'worker-a', { baseMs: 1, maxMs: 1 });
    await new Promise((r) => setTimeout(r, 5));
    await claimOne(exec, job, 'worker-b');

    const [human, json] = await Promise.all([
      jobq('jobs', 'show', job.id),
      jobq('jobs', 'show', job.id, '--json'),
    ]);
    expect(human.code, human.stderr).toBe(0);
    for (const text of [
      `job ${job.id}`,
      'RUNNING',
      'email.send',
      'show-q',
      '2 of 3',
      'lease holder',
      'worker-b',
      'lease expires',
      'run after (ready)',
      'created',
      'started',
      'finished',
      'updated',
      '"to": "ops@example.com"',
      'errors (1 failed attempt)',
      'smtp down: 421 try later',
      'worker-a',
      'stack head',
      'at ', // a stack frame of the failed attempt
    ])
      expect(human.stdout).toContain(text);
    expect(human.stdout).not.toContain('NO HANDLER');
    expect(human.stdout).toContain('why: Running attempt 2 of 3 on worker worker-b');

    const shown = JSON.parse(json.stdout) as Record<string, unknown> & { errors: Record<string, unknown>[] };
    expect(shown).toMatchObject({
      id: job.id,
      status: 'RUNNING',
      payload: { to: 'ops@example.com', n: 7 },
      attempts: 2,
      maxAttempts: 3,
      lockedBy: 'worker-b',
      lastError: 'smtp down: 421 try later',
      noHandler: false,
      cancelRequestedAt: null,
      explanation: { reason: 'running' },
    });
    expect(typeof shown.leaseExpiresAt).toBe('string');
    expect(new Date(shown.leaseExpiresAt as string).getTime()).toBeGreaterThan(Date.now());
    expect(shown.errors).toHaveLength(1);
    expect(shown.errors[0]).toMatchObject({
      attempt: 1,
      worker: 'worker-a',
      message: 'smtp down: 421 try later',
    });
    expect(shown.errors[0]?.stack).toContain('at ');

    // A cancel request and the result of a finished job are shown too.
    await cancelJobs(exec, [job.id], 'alice');
    const { job: done } = await enqueue(exec, { type: 'demo.echo', queue: 'show-done' });
    const c = await claimOne(exec, done, 'worker-c');
    expect(await complete(exec, 'worker-c', { id: done.id, attempt: c.attempt }, { delivered: 42 })).toBe(
      true,
    );
    const [cancelling, finished] = await Promise.all([
      jobq('jobs', 'show', job.id),
      jobq('jobs', 'show', done.id),
    ]);
    expect(cancelling.stdout).toContain('RUNNING (cancelling)');
    expect(cancelling.stdout).toMatch(/cancel requested .* by alice/);
    expect(finished.stdout).toContain('COMPLETED');
    expect(finished.stdout).toMatch(/result:\n\{\n {2}"delivered": 42\n\}/);
    expect(finished.stdout).toContain('errors: none');
  });

  it('makes "no handler registered" the headline, and says when no online worker can run a ready job', async () => {
    const dead = await deadJob(
      exec,
      { type: 'ghost.type', queue: 'ghosts' },
      'no handler registered for type "ghost.type" (this worker has: demo.echo)',
    );
    const { job: waiting } = await enqueue(exec, { type: 'orphan.type', queue: 'orphans' });
    await workerRegister(exec, {
      id: 'reg-worker-1',
      host: 'box',
      pid: 4242,
      queues: { orphans: 2 },
      types: ['demo.echo'],
      version: 'test',
    });
    const [human, json, note, noteJson] = await Promise.all([
      jobq('jobs', 'show', dead.id),
      jobq('jobs', 'show', dead.id, '--json'),
      jobq('jobs', 'show', waiting.id),
      jobq('jobs', 'show', waiting.id, '--json'),
    ]);
    expect(human.code, human.stderr).toBe(0);
    const lines = human.stdout.split('\n');
    // The reason comes before the table, not buried in it.
    expect(lines[1]).toBe(
      '!! NO HANDLER: no handler registered for type "ghost.type" (this worker has: demo.echo)',
    );
    expect(lines[2]).toContain(`jobq retry ${dead.id}`);
    expect(JSON.parse(json.stdout) as { noHandler: boolean; status: string }).toMatchObject({
      noHandler: true,
      status: 'DEAD',
    });
    expect(lines[3]).toMatch(/^why: Dead since .*: its handler threw a permanent error/);
    expect(note.stdout).toContain('!! why: No live worker knows job type "orphan.type"');
    expect(note.stdout).toContain('next: Deploy a worker with a handler for "orphan.type"');
    expect((JSON.parse(noteJson.stdout) as { explanation: { reason: string } }).explanation.reason).toBe(
      'no_worker_for_type',
    );
  });
});

describe('jobq retry / jobq cancel', () => {
  it('print each transition, change exactly those jobs, and are all or nothing', async () => {
    const d1 = await deadJob(exec, { type: 'rc.dead' });
    const d2 = await deadJob(exec, { type: 'rc.dead' });
    const { job: cancelled } = await enqueue(exec, { type: 'rc.c', queue: 'rc-c' });
    await cancelJobs(exec, [cancelled.id]);
    const { job: pending } = await enqueue(exec, { type: 'rc.p', queue: 'rc-p' });
    const { job: running } = await enqueue(exec, { type: 'rc.r', queue: 'rc-r' });
    await claimOne(exec, running, 'worker-r');
    const { job: completed } = await enqueue(exec, { type: 'rc.done', queue: 'rc-done' });
    const cc = await claimOne(exec, completed, 'worker-d');
    await complete(exec, 'worker-d', { id: completed.id, attempt: cc.attempt });
    const unknown = '01890000-0000-7000-8000-000000000000';

    // Refusals first: one bad id in the call and nothing changes, not even for the good ids.
    const before = await fingerprint(exec);
    const [r1, r2, r3] = await Promise.all([
      jobq('retry', d2.id, completed.id),
      jobq('cancel', pending.id, unknown),
      jobq('retry', d2.id, 'not-a-uuid'),
    ]);
    expect([r1.code, r2.code, r3.code]).toEqual([1, 1, 1]);
    expect(r1.stderr).toContain(`cannot retry job ${completed.id}: it is COMPLETED`);
    expect(r2.stderr).toContain(`job ${unknown} not found`);
    expect(r3.stderr).toContain('id #2: expected a job id (a UUID), got "not-a-uuid"');
    expect(await fingerprint(exec)).toBe(before);

    const [retried, cancelOut, json] = await Promise.all([
      jobq('retry', d1.id, cancelled.id),
      jobq('cancel', pending.id, running.id),
      jobq('retry', d2.id, '--json'),
    ]);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toBe(`${d1.id} DEAD → PENDING\n${cancelled.id} CANCELLED → PENDING\n`);
    expect(cancelOut.stdout).toBe(
      `${pending.id} PENDING → CANCELLED\n${running.id} RUNNING → cancel requested\n`,
    );
    expect(JSON.parse(json.stdout) as unknown).toEqual([
      { id: d2.id, from: 'DEAD', to: 'PENDING', cancelRequested: false },
    ]);

    const after = await Promise.all([d1, d2, cancelled, pending, running].map((j) => getJob(exec, j.id)));
    expect(after.map((j) => [j.status, j.attempts])).toEqual([
      ['PENDING', 0],
      ['PENDING', 0],
      ['PENDING', 0],
      ['CANCELLED', 0],
      ['RUNNING', 1],
    ]);
    expect(after[0]?.errors).toHaveLength(1); // retry keeps the error history
    expect(after[4]?.cancelRequestedAt).not.toBeNull();

    // Cancelling the running job again is refused (already requested); --json of cancel says so.
    const { job: running2 } = await enqueue(exec, { type: 'rc.r', queue: 'rc-r2' });
    await claimOne(exec, running2, 'worker-r');
    const [again, cancelJson] = await Promise.all([
      jobq('cancel', running.id),
      jobq('cancel', running2.id, '--json'),
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`cannot cancel job ${running.id}`);
    expect(JSON.parse(cancelJson.stdout) as unknown).toEqual([
      { id: running2.id, from: 'RUNNING', to: 'RUNNING', cancelRequested: true },
    ]);
    const rows = await sql<{ n: number }>`SELECT count(*) AS n FROM ${exec.t.jobs}
      WHERE cancel_requested_at IS NOT NULL AND status = 'RUNNING' AND queue LIKE 'rc-%'`.execute(exec.raw);
    expect(rows.rows[0]?.n).toBe(2);
  });
});
