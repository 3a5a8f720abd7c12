// SKIP LOCKED's point, from separate processes: a claimer is never blocked by another claimer's open
// transaction; it takes the next job at once. The control shows the test can tell: the same pick with
// plain FOR UPDATE waits on the held row until its lock timeout.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { enqueue } from '../../src/queue/index.js';
import { freshDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';

const db = await freshDb();
const CLAIMER = fileURLToPath(new URL('../fixtures/claimer.ts', import.meta.url));
const children: ChildProcessWithoutNullStreams[] = [];
afterAll(() => children.forEach((c) => c.kill('SIGKILL')));

interface Outcome {
  ids?: string[];
  ms?: number;
  error?: string;
}

function claimer(
  mode: string,
  queue: string,
): { child: ChildProcessWithoutNullStreams; first: Promise<Outcome> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CLAIMER, mode, queue], {
    env: { ...process.env, ...db.env },
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const first = new Promise<Outcome>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(JSON.parse(line) as Outcome);
    });
    child.on('exit', (code) => {
      if (!out.includes('\n')) reject(new Error(`claimer ${mode} exited ${code}: ${err}`));
    });
  });
  return { child, first };
}

describe('claiming with FOR UPDATE SKIP LOCKED', () => {
  it("a claimer is never blocked by another claimer's open transaction (and plain FOR UPDATE would be)", async () => {
    const { job: a } = await enqueue(db.exec, { type: 'demo.echo', queue: 'skip', priority: 10 });
    const { job: b } = await enqueue(db.exec, { type: 'demo.echo', queue: 'skip' });

    // process 1 claims the first job and keeps its transaction open
    const holder = claimer('hold', 'skip');
    expect((await holder.first).ids).toEqual([a.id]);

    // process 2 claims at once, skipping the locked row: it gets the next job, well inside its 2 s lock timeout
    const other = await claimer('claim', 'skip').first;
    expect(other.error).toBeUndefined();
    expect(other.ids).toEqual([b.id]);
    expect(other.ms).toBeLessThan(1500);

    // control: the same pick with plain FOR UPDATE is blocked by process 1's lock until its lock timeout
    const { job: c } = await enqueue(db.exec, { type: 'demo.echo', queue: 'skip', priority: 20 });
    const holder2 = claimer('hold', 'skip');
    expect((await holder2.first).ids).toEqual([c.id]);
    const blocked = await claimer('for-update', 'skip').first;
    expect(blocked.error).toBe('55P03'); // lock_not_available

    for (const h of [holder, holder2]) {
      const exited = new Promise((r) => h.child.once('exit', r));
      h.child.stdin.end();
      await exited;
    }
    await waitFor(async () => (await claimer('claim', 'skip').first).ids?.length === 0, {
      what: 'the queue to be empty once both holders committed',
    });
  });
});
