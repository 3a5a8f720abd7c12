// The README's "your own handlers under jobq dev", as written: an application directory whose
// node_modules holds jobq, a handlers module that imports from 'jobq', and the README's two commands
// run from that directory (jobq dev on this test's database and a free port) — the job runs through it.
// jobq dev logs as on a terminal: its banner (URLs, handlers module, no-auth warning) and short lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { getJob } from '../../src/queue/index.js';
import { freePort } from '../../src/db/embedded.js';
import { freshDb } from '../helpers/db.js';
import { JOBQ_BIN } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const db = await freshDb();
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const app = mkdtempSync(path.join(tmpdir(), 'jobq-app-'));
let dev: ChildProcess | undefined;
afterAll(async () => {
  if (dev && dev.exitCode === null) {
    const exited = new Promise((r) => dev?.once('exit', r));
    dev.kill('SIGTERM');
    await exited;
  }
  rmSync(app, { recursive: true, force: true });
});

/** The README section's code blocks: the handlers module and the shell commands. */
function readmeSection(): { module: string; commands: string[] } {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('### Your own handlers under `jobq dev`');
  const section = readme.slice(start, readme.indexOf('\n### ', start + 10));
  const blocks = [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)];
  const module = blocks.find((b) => b[1] === 'js')?.[2] ?? '';
  const shell = blocks.find((b) => b[1] === 'bash')?.[2] ?? '';
  return { module, commands: shell.split('\n').filter((l) => l.startsWith('npx jobq ')) };
}

/** "npx jobq a 'b c'" → ['a', 'b c'] (the README's commands use single quotes only). */
function argv(command: string): string[] {
  return [...command.replace(/^npx jobq /, '').matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
}

describe('an application handlers module under jobq dev', () => {
  it('imports from jobq, runs under jobq dev --handlers, and its job completes', async () => {
    const { module, commands } = readmeSection();
    expect(module).toContain("from 'jobq'");
    expect(commands).toHaveLength(2);
    // the application: package.json, node_modules/jobq (as npm install would link a checkout), handlers.js
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'my-app', type: 'module' }));
    mkdirSync(path.join(app, 'node_modules'));
    symlinkSync(ROOT, path.join(app, 'node_modules', 'jobq'), 'dir');
    writeFileSync(path.join(app, 'handlers.js'), module);

    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...db.env,
      JOBQ_METRICS_PORT: '0',
      JOBQ_LOG_LEVEL: 'info',
    };
    delete env.JOBQ_API_TOKENS;
    // as on a terminal: short log lines and the banner (JOBQ_LOG_FORMAT=pretty is what a TTY gets by default)
    dev = spawn(process.execPath, [JOBQ_BIN, ...argv(commands[0] ?? ''), '--port', String(port)], {
      cwd: app,
      env: { ...env, JOBQ_LOG_FORMAT: 'pretty' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    dev.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    dev.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200,
      {
        timeoutMs: 30_000,
        what: `jobq dev with the app's handlers; output: ${out.slice(-1500)}`,
      },
    );
    expect(out).toContain('email.send');
    // the banner: where the dashboard and the API are, the handlers module it loaded, the no-auth warning
    await waitFor(() => out.includes('Ctrl-C stops everything'), { what: `the banner; output: ${out}` });
    expect(out).toContain('jobq dev is running');
    expect(out).toMatch(new RegExp(`dashboard +http://127\\.0\\.0\\.1:${port}/\n`));
    expect(out).toMatch(new RegExp(`API +http://127\\.0\\.0\\.1:${port}/jobs`));
    expect(out).toMatch(/worker +queues email,default; handlers \.\/handlers\.js/);
    expect(out).toContain('! no authentication');
    // log lines for a person ("12:00:01 INFO  message key=value"), not JSON
    const lines = out.split('\n').filter((l) => l.trim() !== '');
    expect(
      lines.filter((l) => l.startsWith('{')),
      out,
    ).toEqual([]);
    expect(
      lines.some((l) => /^\d\d:\d\d:\d\d INFO {2}/.test(l)),
      out,
    ).toBe(true);

    const enq = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [JOBQ_BIN, ...argv(commands[1] ?? '')], { cwd: app, env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(enq.code, enq.stderr).toBe(0);
    const id = /^([0-9a-f-]{36}) created/.exec(enq.stdout)?.[1] ?? '';
    const job = await waitFor(async () => {
      const j = await getJob(db.exec, id);
      return j.status === 'COMPLETED' ? j : null;
    });
    expect(job.result).toEqual({ sent: true });
    expect(job.queue).toBe('email');
  });
});
