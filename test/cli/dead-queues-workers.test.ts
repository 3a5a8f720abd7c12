// The real `jobq` binary against a real PostgreSQL: the dead-letter commands, queue stats and
// pause/resume, and the workers online. Needs `npm run build` first.
import { hostname } from 'node:os';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { claim, enqueue, getJob, listWorkers, type Job, type QueueStats } from '../../src/queue/index.js';
import { workerHeartbeat, workerRegister } from '../../src/sql/workers.js';
import { createWorker } from '../../src/worker/index.js';
import { runCli } from '../helpers/cli.js';
import { freshDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { claimOne, deadJob, fingerprint } from './support.js';

const db = await freshDb();
const exec = db.exec;
const jobq = (...args: string[]) => runCli(args, db.env);

async function statuses(jobs: Job[]): Promise<string[]> {
  return Promise.all(jobs.map(async (j) => (await getJob(exec, j.id)).status));
}

describe('jobq dead', () => {
  it('lists DEAD jobs with filters; retry needs a filter or --all; retries exactly the matching jobs', async () => {
    const send1 = await deadJob(exec, { type: 'mail.send', queue: 'mail' }, 'smtp said no');
    const send2 = await deadJob(exec, { type: 'mail.send', queue: 'mail' }, 'smtp said no');
    const digest = await deadJob(exec, { type: 'mail.digest', queue: 'mail' }, 'template missing');
    const video = await deadJob(exec, { type: 'video.encode', queue: 'video' }, 'codec');
    const { job: alive } = await enqueue(exec, { type: 'mail.send', queue: 'mail' });

    const before = await fingerprint(exec);
    const [all, mail, sendHuman, paged, noFilter, both] = await Promise.all([
      jobq('dead', 'list', '--json'),
      jobq('dead', 'list', '--queue', 'mail', '--json'),
      jobq('dead', 'list', '--queue', 'mail', '--type', 'mail.send'),
      jobq('dead', 'list', '--limit', '1'),
      jobq('dead', 'retry'),
      jobq('dead', 'retry', '--all', '--queue', 'mail'),
    ]);
    expect(all.code, all.stderr).toBe(0);
    const allJobs = JSON.parse(all.stdout) as Job[];
    expect(allJobs.map((j) => j.id)).toEqual([video.id, digest.id, send2.id, send1.id]);
    expect(new Set(allJobs.map((j) => j.status))).toEqual(new Set(['DEAD']));
    expect((JSON.parse(mail.stdout) as Job[]).map((j) => j.id)).toEqual([digest.id, send2.id, send1.id]);
    expect(sendHuman.stdout).toContain(send1.id);
    expect(sendHuman.stdout).toContain(send2.id);
    expect(sendHuman.stdout).toContain('smtp said no');
    expect(sendHuman.stdout).not.toContain(digest.id);
    expect(sendHuman.stdout).not.toContain(alive.id);
    expect(paged.stdout).toContain(`more jobs: jobq dead list --limit 1 --cursor ${video.id}`);
    expect(noFilter.code).toBe(2);
    expect(noFilter.stderr).toContain('jobq dead retry needs --queue, --type or --all');
    expect(both.code).toBe(2);

    expect(await fingerprint(exec)).toBe(before); // listing and refused retries wrote nothing
    const bySend = await jobq('dead', 'retry', '--type', 'mail.send');
    expect(bySend.code, bySend.stderr).toBe(0);
    expect(bySend.stdout).toBe('retried 2 DEAD jobs (now PENDING)\n');
    expect(await statuses([send1, send2, digest, video, alive])).toEqual([
      'PENDING',
      'PENDING',
      'DEAD',
      'DEAD',
      'PENDING',
    ]);
    const byQueue = await jobq('dead', 'retry', '--queue', 'video', '--json');
    expect(JSON.parse(byQueue.stdout) as unknown).toEqual({ retried: 1, ids: [video.id] });
    const rest = await jobq('dead', 'retry', '--all');
    expect(rest.stdout).toBe('retried 1 DEAD job (now PENDING)\n');
    expect(await statuses([digest, video])).toEqual(['PENDING', 'PENDING']);
    const empty = await jobq('dead', 'list');
    expect(empty.stdout).toContain('no jobs match');
  });

  it('purge deletes DEAD jobs older than --older-than (default 7d) and nothing else', async () => {
    const old1 = await deadJob(exec, { type: 'purge.me' });
    const old2 = await deadJob(exec, { type: 'purge.me' });
    const recent = await deadJob(exec, { type: 'purge.me' });
    const { job: doneLongAgo } = await enqueue(exec, { type: 'purge.keep', queue: 'purge-done' });
    await claimOne(exec, doneLongAgo);
    await sql`UPDATE ${exec.t.jobs} SET status = 'COMPLETED', finished_at = now() - interval '30 days'
      WHERE id = ${doneLongAgo.id}`.execute(exec.raw);
    await sql`UPDATE ${exec.t.jobs} SET finished_at = now() - interval '8 days'
      WHERE id IN (${old1.id}, ${old2.id})`.execute(exec.raw);
    await sql`UPDATE ${exec.t.jobs} SET finished_at = now() - interval '2 days' WHERE id = ${recent.id}`.execute(
      exec.raw,
    );

    const first = await jobq('dead', 'purge');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe('purged 2 DEAD jobs that died more than 7d ago\n');
    const second = await jobq('dead', 'purge', '--older-than', '1d', '--json');
    expect(JSON.parse(second.stdout) as unknown).toEqual({ purged: 1, olderThanMs: 86_400_000 });
    const left = await sql<{ id: string }>`SELECT id FROM ${exec.t.jobs}
      WHERE id IN (${old1.id}, ${old2.id}, ${recent.id}, ${doneLongAgo.id})`.execute(exec.raw);
    expect(left.rows.map((r) => r.id)).toEqual([doneLongAgo.id]);
  });
});

describe('jobq queues', () => {
  it('shows counts by status, the oldest ready age and paused; pause/resume change what workers claim', async () => {
    const { job: p1 } = await enqueue(exec, { type: 'q.work', queue: 'qa' });
    await enqueue(exec, { type: 'q.work', queue: 'qa' });
    await sql`UPDATE ${exec.t.jobs} SET run_after = now() - interval '150 seconds' WHERE id = ${p1.id}`.execute(
      exec.raw,
    );
    const { job: r } = await enqueue(exec, { type: 'q.work', queue: 'qa', priority: 1000 });
    await claimOne(exec, r);
    await deadJob(exec, { type: 'q.work', queue: 'qa' });
    await enqueue(exec, { type: 'q.later', queue: 'qb', delayMs: 3_600_000 });

    const [json, human] = await Promise.all([jobq('queues', '--json'), jobq('queues')]);
    expect(json.code, json.stderr).toBe(0);
    const stats = JSON.parse(json.stdout) as QueueStats[];
    const qa = stats.find((s) => s.queue === 'qa');
    const qb = stats.find((s) => s.queue === 'qb');
    expect(qa).toMatchObject({
      paused: false,
      counts: { PENDING: 2, RUNNING: 1, RETRY: 0, COMPLETED: 0, DEAD: 1, CANCELLED: 0 },
    });
    expect(qa?.oldestReadyAgeSeconds).toBeGreaterThanOrEqual(150);
    expect(qa?.oldestReadyAgeSeconds).toBeLessThan(200);
    expect(qb).toMatchObject({ paused: false, oldestReadyAgeSeconds: null, counts: { PENDING: 1 } });
    for (const col of ['queue', 'paused', 'PENDING', 'RUNNING', 'DEAD', 'oldest ready'])
      expect(human.stdout).toContain(col);
    expect(human.stdout).toMatch(/│ qa +│ no +│ 2 +│ 1 +│ 0 +│ 0 +│ 1 +│ 0 +│ 2m \d+s/);

    const [paused, pausedEmpty] = await Promise.all([
      jobq('queues', 'pause', 'qa'),
      jobq('queues', 'pause', 'qc', '--json'),
    ]);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toContain('queue qa paused');
    expect(JSON.parse(pausedEmpty.stdout) as unknown).toEqual({ queue: 'qc', paused: true });
    // Workers read the same setting: nothing is claimed from a paused queue.
    expect(
      await claim(exec, { queue: 'qa', workerId: 'w', limit: 10, leaseMs: 1000, starvationMs: 1e9 }),
    ).toEqual([]);
    const afterPause = await jobq('queues');
    expect(afterPause.stdout).toMatch(/│ qa +│ PAUSED/);
    expect(afterPause.stdout).toMatch(/│ qc +│ PAUSED/);

    const resumed = await jobq('queues', 'resume', 'qa', '--json');
    expect(JSON.parse(resumed.stdout) as unknown).toEqual({ queue: 'qa', paused: false });
    const statsAfter = JSON.parse((await jobq('queues', '--json')).stdout) as QueueStats[];
    expect(statsAfter.find((s) => s.queue === 'qa')?.paused).toBe(false);
    expect(statsAfter.find((s) => s.queue === 'qc')).toMatchObject({ paused: true, counts: { PENDING: 0 } });
    const claimed = await claim(exec, {
      queue: 'qa',
      workerId: 'w',
      limit: 10,
      leaseMs: 1000,
      starvationMs: 1e9,
    });
    expect(claimed).toHaveLength(2);
  });
});

describe('jobq workers', () => {
  it('lists the workers whose heartbeat is fresh, with host, pid, queues, load and times', async () => {
    const none = await jobq('workers');
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toContain('no workers online');

    const base = { types: ['demo.echo'], version: 'test' };
    await workerRegister(exec, {
      ...base,
      id: 'w-alpha',
      host: 'node-a',
      pid: 101,
      queues: { email: 10, default: 4 },
    });
    await workerRegister(exec, { ...base, id: 'w-beta', host: 'node-b', pid: 202, queues: { video: 1 } });
    await workerRegister(exec, { ...base, id: 'w-gone', host: 'node-c', pid: 303, queues: { default: 2 } });
    await sql`UPDATE ${exec.t.workers} SET last_heartbeat_at = now() - interval '5 minutes'
      WHERE id = 'w-gone'`.execute(exec.raw);
    expect(await workerHeartbeat(exec, 'w-beta', 3)).toBe(true);

    const [json, human] = await Promise.all([jobq('workers', '--json'), jobq('workers')]);
    expect(json.code, json.stderr).toBe(0);
    const workers = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(workers.map((w) => w.id)).toEqual(['w-alpha', 'w-beta']);
    expect(workers[0]).toMatchObject({
      host: 'node-a',
      pid: 101,
      queues: { email: 10, default: 4 },
      running: 0,
    });
    expect(workers[1]).toMatchObject({ host: 'node-b', pid: 202, queues: { video: 1 }, running: 3 });
    expect(Object.keys(workers[0] ?? {})).toEqual(expect.arrayContaining(['startedAt', 'lastHeartbeatAt']));
    for (const text of ['id', 'host', 'pid', 'queues (name:slots)', 'running', 'started', 'last heartbeat'])
      expect(human.stdout).toContain(text);
    expect(human.stdout).toMatch(/│ w-alpha +│ node-a +│ 101 +│ email:10, default:4 +│ 0 /);
    expect(human.stdout).toMatch(/│ w-beta +│ node-b +│ 202 +│ video:1 +│ 3 /);
    expect(human.stdout).not.toContain('w-gone');
  });

  it('a real worker shows up while it runs, and `jobs show` names the missing handler of a job it could not run', async () => {
    const worker = createWorker({
      database: db,
      queues: { 'wq-a': 3, 'wq-b': 1 },
      leaseMs: 3000,
      pollIntervalMs: 100,
      shutdownGraceMs: 0,
      backoff: { baseMs: 10, maxMs: 20 },
    });
    await worker.start();
    try {
      const { job } = await enqueue(exec, { type: 'ghost.kind', queue: 'wq-a', maxAttempts: 1 });
      await waitFor(async () => (await getJob(exec, job.id)).status === 'DEAD', {
        what: 'the unknown-type job to die',
      });
      await waitFor(async () => (await listWorkers(exec, 60_000)).some((w) => w.id === worker.id), {
        what: 'registration',
      });
      const [list, show] = await Promise.all([jobq('workers', '--json'), jobq('jobs', 'show', job.id)]);
      expect([list.code, show.code], list.stderr + show.stderr).toEqual([0, 0]);
      const me = (JSON.parse(list.stdout) as Record<string, unknown>[]).find((w) => w.id === worker.id);
      expect(me).toMatchObject({ host: hostname(), pid: process.pid, queues: { 'wq-a': 3, 'wq-b': 1 } });
      expect(me?.types).toEqual(expect.arrayContaining(['demo.echo']));
      expect(show.stdout.split('\n')[1]).toMatch(
        new RegExp(`^!! NO HANDLER: no handler registered for type "ghost.kind" on worker ${worker.id}`),
      );
    } finally {
      await worker.stop();
    }
    // A cleanly stopped worker unregisters: it is no longer listed.
    const after = await jobq('workers', '--json');
    expect(after.code, after.stderr).toBe(0);
    expect((JSON.parse(after.stdout) as { id: string }[]).map((w) => w.id)).not.toContain(worker.id);
  });
});
