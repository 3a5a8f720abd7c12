// Helpers for scheduler tests: spawn real `jobq scheduler` processes and read their JSON log lines,
// read the jobs a schedule created, and a TCP proxy that can cut the database off and bring it back.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { sql } from 'kysely';
import type { Executor } from '../../src/db/connect.js';
import { JOBQ_BIN } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

export interface LogLine {
  level: number;
  time: string;
  msg: string;
  [k: string]: unknown;
}

export interface SchedulerProcess {
  proc: ChildProcess;
  logs: LogLine[];
  stderr: () => string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Spawns `node bin/jobq.js scheduler` with the env (merged over process.env); resolves once it runs. */
export async function spawnScheduler(env: Record<string, string>): Promise<SchedulerProcess> {
  const proc = spawn(process.execPath, [JOBQ_BIN, 'scheduler'], {
    env: { ...process.env, JOBQ_LOG_LEVEL: 'info', JOBQ_METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  let buf = '';
  let err = '';
  proc.stdout.on('data', (c: Buffer) => {
    buf += c.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        // not a log line
      }
    }
  });
  proc.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  await waitFor(() => logs.some((l) => l.msg === 'scheduler started') || proc.exitCode !== null, {
    what: 'scheduler to start',
    timeoutMs: 20_000,
  });
  if (proc.exitCode !== null) throw new Error(`scheduler exited ${proc.exitCode}: ${err}`);
  return {
    proc,
    logs,
    stderr: () => err,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

/** Fire times (from the idempotency keys) of the jobs a schedule enqueued, ascending, with created_at. */
export async function firedJobs(
  exec: Executor,
  name: string,
): Promise<{ fireTime: Date; createdAt: Date; id: string; status: string }[]> {
  const prefix = `schedule:${name}:`;
  const r = await sql<{ id: string; key: string; created_at: Date; status: string }>`
    SELECT id, idempotency_key AS key, created_at, status FROM ${exec.t.jobs}
    WHERE idempotency_key LIKE ${`${prefix}%`}`.execute(exec.raw);
  return r.rows
    .map((x) => ({
      fireTime: new Date(x.key.slice(prefix.length)),
      createdAt: x.created_at,
      id: x.id,
      status: x.status,
    }))
    .sort((a, b) => a.fireTime.getTime() - b.fireTime.getTime());
}

/** Sets a schedule's next_run_at directly (as if no scheduler had run). */
export async function setNextRunAt(exec: Executor, name: string, at: Date | string): Promise<void> {
  await sql`UPDATE ${exec.t.schedules} SET next_run_at = ${at}::timestamptz WHERE name = ${name}`.execute(
    exec.raw,
  );
}

export interface Proxy {
  port: number;
  /** Drops every connection and refuses new ones. */
  cut(): Promise<void>;
  /** Accepts connections again. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** A TCP proxy to host:port on a random local port. */
export async function startProxy(host: string, port: number): Promise<Proxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const listen = (p: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  const proxyPort = await listen(0);
  const closeServer = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return {
    port: proxyPort,
    async cut() {
      const closed = closeServer();
      for (const s of sockets) s.destroy();
      await closed;
    },
    async restore() {
      await listen(proxyPort);
    },
    async close() {
      for (const s of sockets) s.destroy();
      if (server.listening) await closeServer();
    },
  };
}

/** The value, or a thrown error when it is missing (narrows without non-null assertions). */
export function must<T>(v: T | null | undefined, what = 'value'): T {
  if (v === null || v === undefined) throw new Error(`expected ${what} to be present`);
  return v;
}
