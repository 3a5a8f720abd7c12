// `jobq top` as a real terminal program: the built binary runs under tmux (100×30), draws its first
// frame, redraws when a job is enqueued, and exits 0 on `q`. In CI a missing tmux fails; elsewhere skips.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { enqueue } from '../../src/queue/index.js';
import { JOBQ_BIN } from '../helpers/cli.js';
import { freshDb } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { hasTmux } from '../helpers/tmux.js';

if (!hasTmux && process.env.CI === 'true') throw new Error('tmux is required in CI (apt-get install tmux)');

const db = await freshDb();
// A private tmux server (own socket) and a unique session: nothing else's terminals are touched.
const id = randomBytes(4).toString('hex');
const socket = `jobq-top-test-${id}`;
const session = `jobq-top-${id}`;
const dir = mkdtempSync(path.join(tmpdir(), 'jobq-top-'));
const exitFile = path.join(dir, 'exit');
const errFile = path.join(dir, 'stderr');
const tmux = (...args: string[]): string =>
  execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
const pane = (): string => {
  try {
    return tmux('capture-pane', '-p', '-t', session);
  } catch (err) {
    const stderr = existsSync(errFile) ? readFileSync(errFile, 'utf8') : '';
    throw new Error(`no pane (jobq top ended?): ${String(err)}\nstderr of jobq top: ${stderr}`, {
      cause: err,
    });
  }
};
const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

afterAll(() => {
  try {
    tmux('kill-session', '-t', session);
  } catch {
    // already gone: it exited on q
  }
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasTmux)('jobq top under tmux', () => {
  it('appears, refreshes when a job is enqueued, and q exits 0', async () => {
    const env = Object.entries({ ...db.env, JOBQ_LOG_LEVEL: 'warn', TERM: 'xterm-256color' })
      .map(([k, v]) => `${k}=${q(v)}`)
      .join(' ');
    // -u CI: Ink only draws the final frame when it believes it runs in CI; this is a real terminal.
    const command = `env -u CI ${env} ${q(process.execPath)} ${q(JOBQ_BIN)} top --interval 250ms 2> ${q(errFile)}; echo "EXIT:$?" > ${q(exitFile)}`;
    tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', command);

    await waitFor(() => pane().includes('WORKERS (0 online)'), {
      timeoutMs: 20_000,
      what: 'the first frame',
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}\npane:\n${pane()}`);
    });
    expect(pane()).toContain('jobq top');
    expect(pane()).toContain('no queues yet');

    await enqueue(db.exec, { type: 'demo.echo', queue: 'tmux-queue' });
    const redrawn = await waitFor(() => (/tmux-queue\s+1\s/.test(pane()) ? pane() : null), {
      timeoutMs: 10_000,
      what: 'the enqueued job to show up',
    });
    // redrawn in place: one header, not a scrolling log of frames
    expect(redrawn.match(/jobq top/g)).toHaveLength(1);
    expect(redrawn).not.toContain('no queues yet');

    tmux('send-keys', '-t', session, 'q');
    const exit = await waitFor(() => (existsSync(exitFile) ? readFileSync(exitFile, 'utf8').trim() : null), {
      timeoutMs: 10_000,
      what: 'jobq top to exit after q',
    });
    expect(exit).toBe('EXIT:0');
  });
});
