// The CLI's one output and exit path, and known conditions printed as one line with their exit code:
// a megabyte of --json through a pipe parses whole, `| head -1` ends jobq quietly, and a missing
// database or role, a server without SSL, a taken port and bad global options are never a stack trace.
import { spawnSync } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueMany } from '../../src/queue/index.js';
import { JOBQ_BIN, runCli, type CliResult } from '../helpers/cli.js';
import { freshDb } from '../helpers/db.js';

const db = await freshDb();

/** A one-line error: exactly one line on stderr, starting "jobq: ", and no stack frame. */
function expectOneLine(r: CliResult, code: number, text: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('jobq: warning: '));
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^jobq: /);
  expect(r.stderr).not.toMatch(/\n\s+at |unexpected error/);
  expect(r.stderr).toMatch(text);
}

/** Listens on 127.0.0.1:<free port>; `onConnection` plays the server. */
async function listen(onConnection: (socket: Socket) => void = () => undefined): Promise<{
  server: Server;
  port: number;
}> {
  const server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : 0 };
}

describe('output through a pipe', () => {
  beforeAll(async () => {
    const specs = Array.from({ length: 1000 }, (_, i) => ({
      type: 'demo.echo',
      queue: 'pipe',
      payload: { i, text: 'x'.repeat(1000) },
    }));
    await enqueueMany(db.exec, specs, { maxPayloadBytes: 1_048_576, defaultMaxAttempts: 5 });
  });

  it('a megabyte of jobs list --json through a pipe parses whole, and the table has every row', async () => {
    const r = await runCli(['jobs', 'list', '--queue', 'pipe', '--limit', '1000', '--json'], db.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(1_000_000);
    const jobs = JSON.parse(r.stdout) as { id: string }[];
    expect(jobs).toHaveLength(1000);
    const table = await runCli(['jobs', 'list', '--queue', 'pipe', '--limit', '1000'], db.env);
    expect(table.code).toBe(0);
    for (const j of jobs) expect(table.stdout).toContain(j.id);
  });

  it('a reader that closes early (| head -1) ends jobq quietly, exit 0, no stack', () => {
    for (const json of [true, false]) {
      const cmd = `"${process.execPath}" "${JOBQ_BIN}" jobs list --queue pipe --limit 1000 ${json ? '--json' : ''} 2>&1 | head -1; exit "\${PIPESTATUS[0]}"`;
      const r = spawnSync('bash', ['-c', cmd], { env: { ...process.env, ...db.env }, encoding: 'utf8' });
      expect(r.status, r.stdout).toBe(0);
      expect(r.stdout.trim().split('\n'), r.stdout).toHaveLength(1);
      expect(r.stdout).not.toMatch(/EPIPE|Error/);
    }
  });
});

describe('known conditions are one line with their exit code', () => {
  const url = new URL(db.env.DATABASE_URL ?? '');
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  it('a database that does not exist: exit 3', async () => {
    const bad = new URL(url);
    bad.pathname = '/jobq_no_such_database';
    const r = await runCli(['jobs', 'list'], { ...db.env, DATABASE_URL: bad.toString() });
    expectOneLine(r, 3, /cannot reach PostgreSQL: .*jobq_no_such_database.*does not exist/);
  });

  it('a role that does not exist: exit 3', async () => {
    const bad = new URL(url);
    bad.username = 'jobq_no_such_role';
    bad.password = '';
    const r = await runCli(['jobs', 'list'], { ...db.env, DATABASE_URL: bad.toString() });
    expectOneLine(r, 3, /cannot reach PostgreSQL: .*jobq_no_such_role/);
  });

  it('sslmode=require against a server without SSL: exit 3', async () => {
    // A server that answers the SSL request with "N" (no SSL), as PostgreSQL without ssl=on does.
    const { server, port } = await listen((socket) => {
      socket.once('data', () => socket.write('N'));
      socket.on('error', () => undefined);
    });
    servers.push(server);
    const r = await runCli(['jobs', 'list'], {
      ...db.env,
      DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=require`,
    });
    expectOneLine(r, 3, /does not support SSL.*sslmode/);
  });

  it('a port in use (jobq api, jobq dev): exit 2, naming the port', async () => {
    const { server, port } = await listen();
    servers.push(server);
    const env = { ...db.env, JOBQ_METRICS_PORT: '0' };
    const api = await runCli(
      ['api', '--insecure-no-auth', '--host', '127.0.0.1', '--port', String(port)],
      env,
    );
    expectOneLine(api, 2, new RegExp(`127\\.0\\.0\\.1:${port}.*in use`));
    const dev = await runCli(['dev', '--port', String(port)], env);
    expectOneLine(dev, 2, new RegExp(`127\\.0\\.0\\.1:${port}.*in use`));
  });

  it('--log-level and --database-url are checked before anything runs', async () => {
    const level = await runCli(['--log-level', 'banana', 'jobs', 'list'], db.env);
    expectOneLine(level, 1, /log level.*expected one of trace, debug, info.*"banana"/);
    const env = await runCli(['jobs', 'list'], { ...db.env, JOBQ_LOG_LEVEL: 'banana' });
    expectOneLine(env, 1, /JOBQ_LOG_LEVEL/);
    const notUrl = await runCli(['--database-url', 'not a url', 'jobs', 'list'], db.env);
    expectOneLine(notUrl, 1, /database URL.*expected a URL such as postgres:\/\//);
    expect(notUrl.stderr).not.toMatch(/ENOTFOUND|getaddrinfo/);
    const scheme = await runCli(['jobs', 'list'], { ...db.env, DATABASE_URL: 'mysql://u:secret@h/db' });
    expectOneLine(scheme, 1, /database URL/);
    expect(scheme.stderr).not.toContain('secret');
  });
});
