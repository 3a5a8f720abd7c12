// The seed's curl commands, exactly as the README writes them, against a real `jobq dev` (its own
// schema, PORT on a free port since 8000 may be taken; the default port is checked separately), with
// the real curl binary: enqueue demo.sleep, list jobs, load the dashboard — and the job completes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { freshDb } from '../helpers/db.js';
import { JOBQ_BIN } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from '../../src/db/embedded.js';

const db = await freshDb();
const hasCurl = spawnSync('curl', ['--version']).status === 0;
let dev: ChildProcess | undefined;
let port = 0;
let output = '';

/** Runs the real curl binary with the given arguments; stdout is the response body. */
function curl(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
  });
}

beforeAll(async () => {
  if (!hasCurl) return;
  port = await freePort();
  const env: Record<string, string | undefined> = {
    ...process.env,
    ...db.env,
    PORT: String(port),
    JOBQ_LOG_LEVEL: 'info',
    JOBQ_METRICS_PORT: '0', // never collide with another process's metrics port
  };
  delete env.JOBQ_API_TOKENS;
  delete env.JOBQ_RATE_LIMIT_PER_SEC;
  dev = spawn(process.execPath, [JOBQ_BIN, 'dev'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  dev.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  dev.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200,
    {
      timeoutMs: 30_000,
      what: `jobq dev on port ${port}; output: ${output.slice(-2000)}`,
    },
  );
});

afterAll(async () => {
  if (!dev || dev.exitCode !== null) return;
  const exited = new Promise((r) => dev?.once('exit', r));
  dev.kill('SIGTERM');
  const force = setTimeout(() => dev?.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(force);
});

describe('jobq dev', () => {
  it('defaults to 127.0.0.1:8000 (PORT unset)', () => {
    const config = loadConfig({ apiHost: '127.0.0.1' }, {});
    expect(config.port).toBe(8000);
    expect(config.apiTokens).toBeUndefined();
    expect(config.rateLimitPerSec).toBeUndefined();
  });

  it.skipIf(!hasCurl && !process.env.CI)('the README curl commands work as written', async () => {
    expect(hasCurl, 'curl is required in CI').toBe(true);
    const base = `http://localhost:${port}`;
    // curl -X POST http://localhost:8000/jobs -H "Content-Type: application/json" -d '{"type":"demo.sleep","payload":{"seconds":2}}'
    const created = await curl([
      '-X',
      'POST',
      `${base}/jobs`,
      '-H',
      'Content-Type: application/json',
      '-d',
      '{"type":"demo.sleep","payload":{"seconds":2}}',
    ]);
    expect(created.code).toBe(0);
    const { job } = JSON.parse(created.stdout) as { job: { id: string; type: string; payload: unknown } };
    expect(job.type).toBe('demo.sleep');
    expect(job.payload).toEqual({ seconds: 2 });
    // curl http://localhost:8000/jobs
    const listed = await curl([`${base}/jobs`]);
    expect(listed.code).toBe(0);
    const page = JSON.parse(listed.stdout) as { items: { id: string }[]; nextCursor: string | null };
    expect(page.items.map((j) => j.id)).toContain(job.id);
    // http://localhost:8000/ — the dashboard
    const html = await curl([`${base}/`]);
    expect(html.code).toBe(0);
    expect(html.stdout).toContain('<title>jobq</title>');
    expect(html.stdout).toContain('app.js');
    // the dev worker runs the job: demo.sleep 2 s → COMPLETED
    await waitFor(
      async () => {
        const r = await curl([`${base}/jobs/${job.id}`]);
        return (JSON.parse(r.stdout) as { job: { status: string } }).job.status === 'COMPLETED';
      },
      { timeoutMs: 20_000, intervalMs: 250, what: 'demo.sleep to complete' },
    );
    // no auth under jobq dev, and it says so
    expect(output).toContain('API authentication is OFF');
  });

  it.skipIf(!hasCurl && !process.env.CI)(
    'the quick start in README.md runs as written, through a shell',
    () => {
      // The README's quick-start block, verbatim: every curl command (continuation lines joined), run by sh
      // with only the port changed.
      const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
      const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## What jobq guarantees'));
      const commands = quick
        .replace(/\\\n\s*/g, ' ')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.startsWith('curl '))
        .map((l) => l.replace(/\s+#.*$/, '').replaceAll('localhost:8000', `localhost:${port}`));
      expect(commands).toHaveLength(2);
      const outputs = commands.map((c) => spawnSync('sh', ['-c', c], { encoding: 'utf8' }));
      expect(outputs.map((o) => o.status)).toEqual([0, 0]);
      const { job } = JSON.parse(outputs[0]?.stdout ?? '') as { job: { id: string; type: string } };
      expect(job.type).toBe('demo.sleep');
      const page = JSON.parse(outputs[1]?.stdout ?? '') as { items: { id: string }[] };
      expect(page.items.map((j) => j.id)).toContain(job.id);
    },
  );
});
