// `jobq dev` on its own embedded PostgreSQL (no DATABASE_URL): it starts, serves the API, and Ctrl-C
// stops everything leaving no PostgreSQL process behind; a server orphaned by a kill -9 of jobq dev is
// stopped by the next start. Real processes.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { connect } from '../../src/db/connect.js';
import { freePort, startEmbedded } from '../../src/db/embedded.js';
import { JOBQ_BIN, runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { hasTmux } from '../helpers/tmux.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'jobq-dev-test-'));
const home = mkdtempSync(path.join(tmpdir(), 'jobq-dev-home-'));
const started: ChildProcess[] = [];
afterAll(async () => {
  // a test that failed midway leaves its jobq dev running: stop it (and so its PostgreSQL) first
  for (const child of started.filter((c) => c.exitCode === null && c.signalCode === null)) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const force = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(force);
  }
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function postgresPid(): number {
  return Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

async function startDev(port: number): Promise<{ child: ChildProcess; output: () => string }> {
  const {
    DATABASE_URL: _u,
    TEST_DATABASE_URL: _t,
    JOBQ_SCHEMA: _s,
    JOBQ_API_TOKENS: _a,
    ...inherited
  } = process.env;
  const env: Record<string, string | undefined> = {
    ...inherited,
    HOME: home,
    PORT: String(port),
    JOBQ_METRICS_PORT: '0',
    JOBQ_LOG_LEVEL: 'info',
  };
  // its own process group, so the test can signal the group as a terminal's Ctrl-C does
  const child = spawn(process.execPath, [JOBQ_BIN, 'dev', '--data-dir', dataDir], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  started.push(child);
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200,
    {
      timeoutMs: 60_000,
      what: `jobq dev to serve /readyz; output: ${out.slice(-1500)}`,
    },
  );
  return { child, output: () => out };
}

/** Environment of "another terminal": same HOME, no DATABASE_URL (empty counts as unset). */
const operatorEnv = (): Record<string, string> => ({
  HOME: home,
  DATABASE_URL: '',
  TEST_DATABASE_URL: '',
  JOBQ_SCHEMA: '',
});

/** The README's quick-start commands that run jobq (besides jobq dev itself), as written. */
function quickStartCommands(): string[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## What jobq guarantees'));
  return quick
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('npx jobq ') && l !== 'npx jobq dev');
}

/** Runs a full-screen command under a private tmux server until `ready` shows, then sends q; its exit. */
async function inTerminal(command: string, ready: RegExp): Promise<string> {
  const id = randomBytes(4).toString('hex');
  const tmux = (...args: string[]): string =>
    execFileSync('tmux', ['-L', `jobq-dev-test-${id}`, ...args], { encoding: 'utf8' });
  const exitFile = path.join(home, `exit-${id}`);
  tmux('new-session', '-d', '-s', id, '-x', '100', '-y', '30', `${command}; echo "EXIT:$?" > ${exitFile}`);
  try {
    const pane = (): string => tmux('capture-pane', '-p', '-t', id);
    await waitFor(() => ready.test(pane()), {
      timeoutMs: 20_000,
      what: `${command} to show ${String(ready)}`,
    });
    tmux('send-keys', '-t', id, 'q');
    return await waitFor(() => (existsSync(exitFile) ? readFileSync(exitFile, 'utf8').trim() : null), {
      timeoutMs: 10_000,
      what: `${command} to exit`,
    });
  } finally {
    try {
      tmux('kill-server');
    } catch {
      // already gone
    }
  }
}

describe('jobq dev with its embedded PostgreSQL', () => {
  it('starts with no database configured, runs a job, and Ctrl-C lets a running job finish and leaves no PostgreSQL behind', async () => {
    const port = await freePort();
    const { child, output } = await startDev(port);
    const pgPid = postgresPid();
    expect(alive(pgPid)).toBe(true);
    // operator commands in "another terminal" find the dev database without DATABASE_URL
    expect(existsSync(path.join(home, '.jobq', 'dev.json'))).toBe(true);
    const res = await fetch(`http://127.0.0.1:${port}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'demo.echo', payload: { hi: 1 } }),
    });
    expect(res.status).toBe(201);
    const { job } = (await res.json()) as { job: { id: string } };
    await waitFor(async () => {
      const r = (await (await fetch(`http://127.0.0.1:${port}/jobs/${job.id}`)).json()) as {
        job: { status: string };
      };
      return r.job.status === 'COMPLETED';
    });
    // the banner says where everything is (a JSON record when stdout is not a terminal)
    expect(output()).toContain(`"dashboard":"http://127.0.0.1:${port}/"`);
    // a second jobq dev on the same data directory: one line, exit 1, no stack
    const second = await runCli(['dev', '--data-dir', dataDir, '--port', String(await freePort())], {
      ...operatorEnv(),
      JOBQ_METRICS_PORT: '0',
    });
    expect(second.code, second.stderr).toBe(1);
    expect(second.stderr.trim()).toMatch(
      /^jobq: the embedded PostgreSQL in .* is in use by jobq process \d+; stop it/,
    );
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    // the README's quick-start commands, in "another terminal" with no DATABASE_URL, jobq top included
    const commands = quickStartCommands();
    expect(commands).toEqual(expect.arrayContaining(['npx jobq jobs list', 'npx jobq top']));
    const local = (c: string): string => c.replace(/^npx jobq /, `'${process.execPath}' '${JOBQ_BIN}' `);
    const envPrefix = Object.entries(operatorEnv())
      .map(([k, v]) => `${k}='${v}'`)
      .join(' ');
    for (const c of commands.filter((c) => c !== 'npx jobq top')) {
      const out = execFileSync('sh', ['-c', `${envPrefix} ${local(c)}`], { encoding: 'utf8' });
      expect(out.trim().length, c).toBeGreaterThan(0);
    }
    if (hasTmux || process.env.CI) {
      const exit = await inTerminal(
        `env -u CI ${envPrefix} TERM=xterm-256color ${local('npx jobq top')}`,
        /default\s+\d/,
      );
      expect(exit).toBe('EXIT:0');
    }
    // a job still running when Ctrl-C arrives finishes within the grace period, PostgreSQL stopping last
    const slow = await fetch(`http://127.0.0.1:${port}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'demo.sleep', payload: { seconds: 1 } }),
    });
    const { job: sleeping } = (await slow.json()) as { job: { id: string } };
    await waitFor(async () => {
      const r = (await (await fetch(`http://127.0.0.1:${port}/jobs/${sleeping.id}`)).json()) as {
        job: { status: string };
      };
      return r.job.status === 'RUNNING';
    });
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    process.kill(-(child.pid ?? 0), 'SIGINT'); // the whole process group, like Ctrl-C in a terminal
    expect(await exited).toBe(0);
    expect(alive(pgPid)).toBe(false);
    expect(existsSync(path.join(home, '.jobq', 'dev.json'))).toBe(false);
    expect(output()).toContain('shutting down');
    expect(output()).not.toMatch(/shutting down.*\n[\s\S]*(database system is shutting down|could not)/);
    // the job that was running at Ctrl-C completed: read it from the data directory jobq dev left
    const pg = await startEmbedded({ dataDir, persistent: true });
    const db = connect({ url: pg.url, schema: 'jobq', max: 1 });
    try {
      const r = await sql<{
        status: string;
      }>`SELECT status FROM ${db.exec.t.jobs} WHERE id = ${sleeping.id}`.execute(db.exec.raw);
      expect(r.rows[0]?.status).toBe('COMPLETED');
    } finally {
      await db.close();
      await pg.stop();
    }
  });

  it('after a kill -9 of jobq dev, the next start stops the orphaned server and keeps the data', async () => {
    let port = await freePort();
    const first = await startDev(port);
    const orphan = postgresPid();
    const res = await fetch(`http://127.0.0.1:${port}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'demo.echo', idempotencyKey: 'kept-across-restarts' }),
    });
    expect(res.status).toBe(201);
    const killed = new Promise((r) => first.child.once('exit', r));
    first.child.kill('SIGKILL');
    await killed;
    expect(alive(orphan)).toBe(true); // PostgreSQL outlives a SIGKILLed parent
    port = await freePort();
    const second = await startDev(port);
    expect(alive(orphan)).toBe(false);
    const again = await fetch(`http://127.0.0.1:${port}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'demo.echo', idempotencyKey: 'kept-across-restarts' }),
    });
    expect(again.status).toBe(200); // the same job: the data survived
    const pgPid = postgresPid();
    const exited = new Promise<number | null>((r) => second.child.once('exit', r));
    second.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(alive(pgPid)).toBe(false);
  });
});
