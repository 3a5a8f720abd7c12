// `jobq explain`: one test per reason (scheduled, retrying, paused queue, no worker for the queue or the
// type, busy slots with jobs ahead, ready, lease held, cancel requested, lease expired, completed, dead,
// cancelled) against a real PostgreSQL, plus the CLI's human and --json output and its errors.
import { sql } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../src/errors.js';
import { explainJob, EXPLAIN_REASONS, type ExplainReason } from '../../src/queue/explain.js';
import {
  cancelJobs,
  claim,
  complete,
  enqueue,
  fail,
  pauseQueue,
  setQueueLimits,
  type EnqueueSpec,
} from '../../src/queue/index.js';
import { workerRegister } from '../../src/sql/workers.js';
import { freshDb, resetDb } from '../helpers/db.js';
import { runCli } from '../helpers/cli.js';

const db = await freshDb();
const exec = db.exec;
const ONLINE = 30_000;
const STARVATION = 60_000;
const explain = (id: string) => explainJob(exec, id, { onlineWithinMs: ONLINE, starvationMs: STARVATION });
const covered = new Set<ExplainReason>();

async function job(spec: Partial<EnqueueSpec> = {}): Promise<string> {
  const { job: j } = await enqueue(exec, { type: 'mail.send', queue: 'mail', ...spec });
  return j.id;
}

async function worker(id: string, queues: Record<string, number>, types: string[], heartbeatAgoS = 0) {
  await workerRegister(exec, { id, host: 'host-a', pid: 4242, queues, types, version: 'test' });
  await sql`UPDATE ${exec.t.workers} SET last_heartbeat_at = now() - make_interval(secs => ${heartbeatAgoS})
    WHERE id = ${id}`.execute(exec.raw);
}

async function claimOne(workerId: string, queue = 'mail', leaseMs = 30_000) {
  const [c] = await claim(exec, { queue, workerId, limit: 1, leaseMs, starvationMs: 3_600_000 });
  if (!c) throw new Error('nothing claimed');
  return c;
}

async function expectReason(id: string, reason: ExplainReason) {
  const e = await explain(id);
  expect(e.reason, e.summary).toBe(reason);
  covered.add(reason);
  return e;
}

beforeEach(() => resetDb(db));

describe('jobq explain: waiting jobs', () => {
  it('scheduled: says when a delayed job becomes ready', async () => {
    const id = await job({ delayMs: 3_600_000 });
    const e = await expectReason(id, 'scheduled');
    expect(e.status).toBe('PENDING');
    expect(e.summary).toMatch(/becomes ready at \d{4}-\d\d-\d\dT.*\(in (59m|1h)/);
    expect(Date.parse(e.at ?? '') - Date.now()).toBeGreaterThan(3_500_000);
    expect(e.next).toContain('but no live worker serves queue "mail" now'); // no worker registered
    await worker('w1', { mail: 1 }, ['mail.send']);
    expect((await explain(id)).next).not.toContain('but');
  });

  it('retry_scheduled: names the error and the time of the next attempt', async () => {
    await worker('w1', { mail: 4 }, ['mail.send']);
    const id = await job({ maxAttempts: 3 });
    const c = await claimOne('w1');
    await fail(exec, {
      id,
      attempt: c.attempt,
      workerId: 'w1',
      error: new Error('SMTP 451 try later'),
      permanent: false,
      backoff: { baseMs: 600_000, maxMs: 600_000 },
    });
    const e = await expectReason(id, 'retry_scheduled');
    expect(e.summary).toContain('Attempt 1 of 3 failed with "SMTP 451 try later"');
    expect(e.summary).toMatch(/next attempt is at .*\(in /);
    expect(e.next).toContain('attempt 2 of 3');
    expect(e.command).toBe(`jobq retry ${id}`);
    expect(e.at).not.toBeNull();
  });

  it('queue_paused: a ready job in a paused queue', async () => {
    await worker('w1', { mail: 4 }, ['mail.send']);
    const id = await job();
    await pauseQueue(exec, 'mail');
    const e = await expectReason(id, 'queue_paused');
    expect(e.summary).toContain('Queue "mail" is paused');
    expect(e.command).toBe('jobq queues resume mail');
  });

  it('no_worker_for_queue: live workers serve other queues; a stale one serving it does not count', async () => {
    await worker('w-other', { default: 4 }, ['mail.send']);
    await worker('w-stale', { mail: 4 }, ['mail.send'], 3600);
    const id = await job();
    const e = await expectReason(id, 'no_worker_for_queue');
    expect(e.summary).toContain('No live worker serves queue "mail" (1 worker online in total)');
    expect(e.command).toBe('jobq worker --queue mail');
  });

  it('no_worker_for_type: workers serve the queue but none has a handler for the type', async () => {
    await worker('w1', { mail: 4 }, ['mail.digest', 'mail.bounce']);
    const id = await job({ type: 'mail.send' });
    const e = await expectReason(id, 'no_worker_for_type');
    expect(e.summary).toContain('No live worker knows job type "mail.send"');
    expect(e.summary).toContain('mail.bounce, mail.digest');
  });

  it('slots_busy: every slot of the queue is taken, with the number of jobs ahead of it', async () => {
    await worker('w1', { mail: 2 }, ['mail.send']);
    await job();
    await job();
    await claimOne('w1');
    await claimOne('w1');
    await job({ priority: 5 }); // higher priority: ahead
    await job(); // same priority, older: ahead
    const target = await job();
    await job(); // newer: behind
    await job({ priority: -5 }); // lower priority: behind
    const e = await expectReason(target, 'slots_busy');
    expect(e.summary).toContain('All 2 slots of queue "mail" are busy and 2 jobs are ahead of it');
    expect(e.details).toContainEqual({ label: 'jobs ahead', value: '2' });
    expect(e.details).toContainEqual({ label: 'slots', value: '2 of 2 busy' });
  });

  it('jobs ahead follow the claim order itself: a starving low-priority job is ahead, and the count matches what claims take first', async () => {
    await worker('w1', { mail: 1 }, ['mail.send']);
    const starving = await job({ priority: -9, runAt: new Date(Date.now() - 2 * STARVATION) });
    await job({ priority: 5 }); // higher priority: ahead
    const target = await job();
    await job({ priority: -1 }); // lower priority: behind
    const e = await explain(target);
    expect(e.details).toContainEqual({ label: 'jobs ahead', value: '2' });
    // what `ahead` says is what the claim does: two claims, then the target
    const taken: string[] = [];
    for (let i = 0; i < 3; i++) {
      const [c] = await claim(exec, {
        queue: 'mail',
        workerId: 'w1',
        limit: 1,
        leaseMs: 30_000,
        starvationMs: STARVATION,
      });
      if (c) taken.push(c.id);
    }
    expect(taken[0]).toBe(starving);
    expect(taken[2]).toBe(target);
  });

  it('jobs ahead of a key behind an old backlog of another key: its fair-share place, not the backlog', async () => {
    await worker('w1', { mail: 1 }, ['mail.send']);
    const old = new Date(Date.now() - 2 * STARVATION); // one priority: past the bound, yet not lifted
    for (let i = 0; i < 6; i++) await job({ key: 'a', runAt: old });
    const target = await job({ key: 'b' });
    const e = await explain(target);
    expect(e.details).toContainEqual({ label: 'jobs ahead', value: '1' }); // a's first, then b's turn
  });

  it('queue_concurrency_limit: the queue is at its limit, with the count', async () => {
    await worker('w1', { mail: 10 }, ['mail.send']);
    await setQueueLimits(exec, 'mail', { concurrency: 2 });
    await job();
    await job();
    await claimOne('w1');
    await claimOne('w1');
    const e = await expectReason(await job(), 'queue_concurrency_limit');
    expect(e.summary).toContain('Queue "mail" is at its concurrency limit 2/2');
    expect(e.details).toContainEqual({ label: 'concurrency limit', value: '2 of 2 running' });
    await setQueueLimits(exec, 'mail', { concurrency: null });
    await expectReason(await job(), 'ready');
  });

  it('key_concurrency_limit: its key is at the per-key limit while other keys are not', async () => {
    await worker('w1', { mail: 10 }, ['mail.send']);
    await setQueueLimits(exec, 'mail', { perKeyConcurrency: 1 });
    await job({ key: 'customer-42' });
    await claimOne('w1');
    const e = await expectReason(await job({ key: 'customer-42' }), 'key_concurrency_limit');
    expect(e.summary).toContain('Key customer-42 is at its limit 1/1');
    await expectReason(await job({ key: 'customer-7' }), 'ready');
  });

  it('queue_rate_limit: the bucket is empty; says when the next start is due', async () => {
    await worker('w1', { mail: 10 }, ['mail.send']);
    await setQueueLimits(exec, 'mail', { rate: '1/m', burst: 1 });
    await job();
    await claimOne('w1');
    const id = await job();
    const e = await expectReason(id, 'queue_rate_limit');
    expect(e.summary).toMatch(/Rate limit: queue "mail" may start 1\/m; next start in \d/);
    expect(e.at).not.toBeNull();
  });

  it('ready: a worker with free slots will claim it next', async () => {
    await worker('w1', { mail: 3 }, ['mail.send']);
    const id = await job();
    const e = await expectReason(id, 'ready');
    expect(e.summary).toContain('0 jobs ahead of it; 3 slots of queue "mail" are free');
  });
});

describe('jobq explain: running jobs', () => {
  it('running: lease held by worker X, with its last heartbeat and the lease expiry', async () => {
    await worker('w-lease', { mail: 1 }, ['mail.send']);
    const id = await job();
    await claimOne('w-lease');
    const e = await expectReason(id, 'running');
    expect(e.summary).toMatch(/Running attempt 1 of 5 on worker w-lease, under a lease until .*\(in /);
    const labels = Object.fromEntries(e.details.map((d) => [d.label, d.value]));
    expect(labels['worker heartbeat']).toMatch(/\((now|\d.*ago)\)$/);
    expect(labels['lease expires']).toMatch(/\(in /);
    expect(labels['worker host']).toBe('host-a (pid 4242)');
  });

  it('cancel_requested: a running job being cancelled, by whom', async () => {
    await worker('w1', { mail: 1 }, ['mail.send']);
    const id = await job();
    await claimOne('w1');
    await cancelJobs(exec, [id], 'alice');
    const e = await expectReason(id, 'cancel_requested');
    expect(e.summary).toContain('Cancellation was requested by alice');
  });

  it('lease_expired: the holder stopped renewing; the reaper will reclaim it', async () => {
    const id = await job();
    await claimOne('w-gone');
    await sql`UPDATE ${exec.t.jobs} SET lease_expires_at = now() - interval '5 seconds' WHERE id = ${id}`.execute(
      exec.raw,
    );
    const e = await expectReason(id, 'lease_expired');
    expect(e.summary).toContain('Worker w-gone stopped renewing its lease');
    expect(e.next).toContain('RETRY');
    expect(e.details).toContainEqual({
      label: 'worker heartbeat',
      value: 'not registered (stopped or pruned)',
    });
  });
});

describe('jobq explain: finished jobs', () => {
  it('completed: when, by whom, how long', async () => {
    const id = await job();
    const c = await claimOne('w-done');
    await complete(exec, 'w-done', { id, attempt: c.attempt });
    const e = await expectReason(id, 'completed');
    expect(e.summary).toMatch(/^Completed at .* by worker w-done in \d+ms \(attempt 1 of 5;/);
    expect(e.command).toBeNull();
  });

  it('dead: why, and the exact command to retry it (which works)', async () => {
    const id = await job({ maxAttempts: 1 });
    const c = await claimOne('w-x');
    await fail(exec, {
      id,
      attempt: c.attempt,
      workerId: 'w-x',
      error: new Error('mailbox does not exist'),
      permanent: false,
      backoff: { baseMs: 10, maxMs: 10 },
    });
    const e = await expectReason(id, 'dead');
    expect(e.summary).toContain('all 1 attempt failed; last error: "mailbox does not exist"');
    expect(e.command).toBe(`jobq retry ${id}`);

    const perm = await job();
    const c2 = await claimOne('w-x');
    await fail(exec, {
      id: perm,
      attempt: c2.attempt,
      workerId: 'w-x',
      error: new Error('bad address'),
      permanent: true,
      backoff: { baseMs: 10, maxMs: 10 },
    });
    expect((await explain(perm)).summary).toContain('its handler threw a permanent error');
  });

  it('cancelled: by whom and when', async () => {
    const id = await job({ delayMs: 60_000 });
    await cancelJobs(exec, [id], 'bob');
    const e = await expectReason(id, 'cancelled');
    expect(e.summary).toMatch(/^Cancelled by bob at \d{4}-/);
    expect(e.command).toBe(`jobq retry ${id}`);
  });

  it('unknown and malformed ids are clear errors', async () => {
    await expect(explain('0190a2b4-0000-7000-8000-000000000000')).rejects.toBeInstanceOf(NotFoundError);
    await expect(explain('nope')).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('jobq explain (CLI)', () => {
  async function deadJob(): Promise<string> {
    const id = await job({ maxAttempts: 1 });
    const c = await claimOne('w-cli');
    await fail(exec, {
      id,
      attempt: c.attempt,
      workerId: 'w-cli',
      error: new Error('upstream 500'),
      permanent: false,
      backoff: { baseMs: 10, maxMs: 10 },
    });
    return id;
  }

  it('prints the summary, details, next step and command; --json gives the structure', async () => {
    const id = await deadJob();
    const human = await runCli(['explain', id], db.env);
    expect(human.stderr).toBe('');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`${id}  DEAD  (dead)`);
    expect(human.stdout).toContain('last error: "upstream 500"');
    expect(human.stdout).toContain(`Run:  jobq retry ${id}`);
    const json = await runCli(['explain', id, '--json'], db.env);
    expect(json.code).toBe(0);
    const e = JSON.parse(json.stdout) as {
      reason: string;
      status: string;
      command: string;
      details: unknown[];
    };
    expect(e).toMatchObject({ reason: 'dead', status: 'DEAD', command: `jobq retry ${id}` });
    expect(e.details.length).toBeGreaterThan(3);
  });

  it('unknown id exits 1 naming the job; a malformed id exits 1 naming the field', async () => {
    const missing = await runCli(['explain', '0190a2b4-0000-7000-8000-000000000000'], db.env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('job 0190a2b4-0000-7000-8000-000000000000 not found');
    const bad = await runCli(['explain', 'xyz'], db.env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('id: expected a job id (a UUID)');
  });
});

describe('coverage', () => {
  it('every reason code has a test above', () => {
    expect([...covered].sort()).toEqual([...EXPLAIN_REASONS].sort());
  });
});
