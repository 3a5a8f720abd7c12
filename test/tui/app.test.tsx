// `jobq top` rendered with ink-testing-library against a real PostgreSQL: a frame with data (counts,
// sparkline, failures with errors, workers), the empty database, a narrow terminal, the keys (move,
// pause/resume, retry), and a database connection lost through a cut proxy, then recovered.
import { render } from 'ink-testing-library';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/db/connect.js';
import { claim, complete, enqueue, fail, getJob, pauseQueue, setQueueLimits } from '../../src/queue/index.js';
import { queueListPaused } from '../../src/sql/queues.js';
import { workerRegister } from '../../src/sql/workers.js';
import { App } from '../../src/tui/App.js';
import { databaseSource } from '../../src/tui/source.js';
import { freshDb, resetDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { startProxy } from './proxy.js';

const db = await freshDb();
const exec = db.exec;
const source = databaseSource(exec, { onlineWithinMs: 30_000 });
let cleanups: (() => void | Promise<void>)[] = [];

beforeEach(() => resetDb(db));
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

function show(app: ReturnType<typeof render>) {
  cleanups.push(() => app.unmount());
  return app;
}

const frame = (app: ReturnType<typeof render>): string => app.lastFrame() ?? '';

async function until(app: ReturnType<typeof render>, test: (f: string) => boolean, what: string) {
  return waitFor(() => (test(frame(app)) ? frame(app) : null), {
    timeoutMs: 10_000,
    what: `${what}; frame:\n${frame(app)}`,
  });
}

/** default: 3 completed, 1 running, 2 pending, 1 dead; email: paused with 1 pending; one worker. */
async function seed(): Promise<{ deadId: string }> {
  await workerRegister(exec, {
    id: 'host-a-1234-worker',
    host: 'host-a',
    pid: 1234,
    queues: { default: 4, email: 2 },
    types: ['demo.echo'],
    version: 'test',
  });
  const opts = { queue: 'default', workerId: 'host-a-1234-worker', leaseMs: 30_000, starvationMs: 3_600_000 };
  for (let i = 0; i < 3; i++) await enqueue(exec, { type: 'demo.echo' });
  for (const c of await claim(exec, { ...opts, limit: 3 }))
    await complete(exec, 'host-a-1234-worker', { id: c.id, attempt: c.attempt });
  const { job: dead } = await enqueue(exec, { type: 'demo.fail', maxAttempts: 1 });
  const [d] = await claim(exec, { ...opts, limit: 1 });
  if (!d) throw new Error('no claim');
  await fail(exec, {
    id: dead.id,
    attempt: d.attempt,
    workerId: opts.workerId,
    error: new Error('payment gateway said no'),
    permanent: false,
    backoff: { baseMs: 10, maxMs: 10 },
  });
  await enqueue(exec, { type: 'demo.sleep' });
  await claim(exec, { ...opts, limit: 1 });
  await enqueue(exec, { type: 'demo.echo' });
  await enqueue(exec, { type: 'demo.echo' });
  await enqueue(exec, { type: 'mail.send', queue: 'email' });
  await pauseQueue(exec, 'email');
  return { deadId: dead.id };
}

describe('jobq top (ink-testing-library)', () => {
  it('shows queues with counts, throughput sparkline, paused state, failures with errors and workers', async () => {
    const { deadId } = await seed();
    const app = show(render(<App source={source} intervalMs={200} label="schema test" />));
    const f = await until(app, (x) => x.includes('payment gateway said no'), 'data frame');
    const line = (start: string) =>
      f.split('\n').find((l) => l.trimStart().replace(/^▶ /, '').startsWith(start)) ?? '';
    // QUEUE PENDING RUNNING RETRY DEAD DONE/1m THROUGHPUT OLDEST STATE
    expect(line('default')).toMatch(
      /^\W*default\s+2\s+1\s+0\s+1\s+3\s+[·▁▂▃▄▅▆▇█]*█[·▁▂▃▄▅▆▇█]*\s+\S+\s+active/,
    );
    expect(line('email')).toMatch(/email\s+1\s+0\s+0\s+0\s+0\s+·+\s+\S+\s+paused/);
    expect(f).toContain('QUEUES');
    expect(f).toContain(deadId.slice(-8));
    expect(f).toMatch(/DEAD\s+1\/1/);
    expect(f).toContain('WORKERS (1 online)');
    expect(f).toMatch(/host-a-1234-worker\s+default:4,email:2\s+0\/6/);
    for (const l of f.split('\n')) expect(l.length).toBeLessThanOrEqual(100);
  });

  it('shows limited queues: state "limit" and the limits with their use', async () => {
    await setQueueLimits(exec, 'email', { concurrency: 2, rate: '10/s' });
    for (let i = 0; i < 3; i++) await enqueue(exec, { type: 'mail.send', queue: 'email' });
    await claim(exec, { queue: 'email', workerId: 'w', limit: 1, leaseMs: 30_000, starvationMs: 3_600_000 });
    const app = show(render(<App source={source} intervalMs={200} columns={120} />));
    const f = await until(app, (x) => x.includes('LIMITS'), 'frame with limits');
    expect(f).toMatch(/email\s+2\s+1\s.*limit\s+run 1\/2 10\/s/);
  });

  it('refreshes in place when a job is enqueued', async () => {
    const app = show(render(<App source={source} intervalMs={100} />));
    await until(app, (x) => x.includes('no queues yet'), 'empty frame');
    await enqueue(exec, { type: 'demo.echo', queue: 'late' });
    await until(app, (x) => /late\s+1\s/.test(x), 'the new queue');
  });

  it('shows an empty database plainly', async () => {
    const app = show(render(<App source={source} intervalMs={200} />));
    const f = await until(app, (x) => x.includes('no queues yet'), 'empty frame');
    expect(f).toContain('no failed or dead jobs');
    expect(f).toContain('WORKERS (0 online)');
    expect(f).toContain('no workers online — start one with jobq worker');
  });

  it('degrades on a narrow terminal: fewer columns, nothing wider than the terminal', async () => {
    await seed();
    const app = show(render(<App source={source} intervalMs={200} columns={44} />));
    const f = await until(app, (x) => x.includes('WORKERS'), 'narrow frame');
    for (const l of f.split('\n')) expect(l.length, l).toBeLessThanOrEqual(44);
    expect(f).not.toContain('THROUGHPUT');
    expect(f).not.toContain('OLDEST');
    expect(f).toMatch(/default\s+2\s+1\s+1/); // queue, pending, running, dead
    expect(f).toContain('email ⏸'); // paused marked without the STATE column
    expect(f).toContain('payment gateway');
    expect(f).toContain('q quit  j/k move');
  });

  it('keys: j/k and arrows move, p pauses and resumes the selected queue, r retries the selected dead job', async () => {
    const { deadId } = await seed();
    const app = show(render(<App source={source} intervalMs={150} />));
    await until(app, (x) => x.includes('payment gateway'), 'data');
    expect(frame(app)).toMatch(/▶ default/); // first row selected
    app.stdin.write('r');
    await until(app, (x) => x.includes('select a failed or dead job'), 'hint for r on a queue');
    app.stdin.write('j'); // → email
    await until(app, (x) => /▶ email/.test(x), 'email selected');
    app.stdin.write('p'); // email is paused → resume
    await until(app, (x) => x.includes('resumed queue email'), 'resume message');
    expect(await queueListPaused(exec)).toEqual([]);
    await until(app, (x) => /email.*active/.test(x), 'email active');
    app.stdin.write('k');
    await until(app, (x) => /▶ default/.test(x), 'back to default');
    app.stdin.write('p');
    await until(app, (x) => x.includes('paused queue default'), 'pause message');
    expect(await queueListPaused(exec)).toEqual(['default']);
    app.stdin.write('\u001B[B'); // arrow down → email
    await until(app, (x) => /▶ email/.test(x), 'arrow down');
    app.stdin.write('\u001B[A'); // arrow up → default
    await until(app, (x) => /▶ default/.test(x), 'arrow up');
    app.stdin.write('jj'); // one chunk, two moves → the dead job
    await until(app, (x) => new RegExp(`▶ ${deadId.slice(-8)}`).test(x), 'dead job selected');
    app.stdin.write('r');
    await until(app, (x) => x.includes(`retried job ${deadId}`), 'retry message');
    expect((await getJob(exec, deadId)).status).toBe('PENDING');
    await until(app, (x) => x.includes('no failed or dead jobs'), 'failure list updated');
  });

  it('shows a lost database connection inline, keeps the last data, and recovers when it is back', async () => {
    await seed();
    const proxy = await startProxy(db.url);
    const conn = connect({ url: proxy.url, schema: db.schema, max: 2, connectionTimeoutMs: 1000 });
    // as jobq top and the daemons must: a connection dying under a checked-out client is an error event
    conn.pool.on('connect', (client) => client.on('error', () => undefined));
    cleanups.push(
      () => proxy.close(),
      () => conn.close(),
    );
    const app = show(
      render(<App source={databaseSource(conn.exec, { onlineWithinMs: 30_000 })} intervalMs={100} />),
    );
    await until(app, (x) => x.includes('payment gateway'), 'data through the proxy');
    await proxy.cut();
    const lost = await until(app, (x) => x.includes('database unreachable'), 'the lost-connection line');
    expect(lost.replace(/\s+/g, ' ')).toMatch(/retrying every 100ms; showing data from \S+ ago/);
    expect(lost).toContain('payment gateway'); // last good data still shown
    await proxy.restore();
    await until(app, (x) => !x.includes('database unreachable') && x.includes('payment gateway'), 'recovery');
  });
});
