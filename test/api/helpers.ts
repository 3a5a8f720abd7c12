// Helpers for the API tests: start the real server (buildApp + listen on a random port) against a test
// schema, JSON requests over real HTTP, row counts, and a seeder for jobs in every state.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { expect } from 'vitest';
import { buildApp, type AuthMode } from '../../src/api/server.js';
import { loadConfig, type Env } from '../../src/config.js';
import type { Executor } from '../../src/db/connect.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { cancelJobs, claim, complete, enqueue, fail } from '../../src/queue/index.js';
import { workerRegister } from '../../src/sql/workers.js';
import type { TestDb } from '../helpers/db.js';

export interface RunningApi {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** Starts the API on 127.0.0.1:<random> for a test schema; env adds JOBQ_* settings. */
export async function startApi(
  db: TestDb,
  opts: { auth: AuthMode; env?: Env; log?: Logger },
): Promise<RunningApi> {
  const config = loadConfig({}, { ...db.env, ...opts.env });
  const log = opts.log ?? silentLogger;
  const app = await buildApp({ config, db, log, metrics: createMetrics() }, { auth: opts.auth });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (typeof addr !== 'object' || !addr) throw new Error('no address');
  return { url: `http://127.0.0.1:${addr.port}`, app, close: () => app.close() };
}

/** A job as the API returns it (dates as ISO strings). */
export interface JobBody {
  id: string;
  type: string;
  payload: unknown;
  status: string;
  queue: string;
  priority: number;
  attempts: number;
  maxAttempts: number;
  runAfter: string;
  createdAt: string;
  lockedBy: string | null;
  cancelRequestedAt: string | null;
  cancelledBy: string | null;
  idempotencyKey: string | null;
  result: unknown;
  errors: { attempt: number; message: string }[];
}

/** The union of the fields the API's JSON bodies carry (each response has some of them). */
export interface ResponseBody {
  error: { code: string; message: string; field: string | null };
  job: JobBody;
  created: boolean;
  existing: number;
  jobs: { id: string; created: boolean }[];
  items: JobBody[];
  nextCursor: string | null;
  retried: number;
  ids: string[];
  status: string;
  reason: string;
  queue: string;
  paused: boolean;
}

export interface JsonResponse<T = ResponseBody> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** One HTTP request; `body` is sent as JSON unless it is a string (sent as is). */
export async function request<T = ResponseBody>(
  url: string,
  opts: { method?: string; body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, {
    method: opts.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** A request the API must refuse: the status, error code and field it answers with, and what its message says. */
export interface RefusalCase {
  name: string;
  method?: string;
  path: string;
  /** A string is sent as is (escapes such as \\ud800 reach the server's JSON parser). */
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  code: string;
  field: string | null;
  /** Fragments the message must contain (what was expected). */
  says: string[];
}

/**
 * Sends `c` to the API at `url` and checks its refusal: status, error code, field, message fragments,
 * and no row written. Returns the response for further checks.
 */
export async function expectRefused(url: string, exec: Executor, c: RefusalCase): Promise<JsonResponse> {
  const before = await rowCounts(exec);
  const res = await request(`${url}${c.path}`, {
    method: c.method ?? 'POST',
    ...(c.body !== undefined ? { body: c.body } : {}),
    ...(c.headers ? { headers: c.headers } : {}),
  });
  expect(res.status, res.text).toBe(c.status);
  expect(res.body.error.code).toBe(c.code);
  expect(res.body.error.field).toBe(c.field);
  for (const s of c.says) expect(res.body.error.message).toContain(s);
  expect(await rowCounts(exec)).toEqual(before);
  return res;
}

/** Row counts of the tables an API call could write (job_keys: a keyed enqueue reserves fair-share tags). */
export async function rowCounts(
  exec: Executor,
): Promise<{ jobs: number; queues: number; keys: number; deadOrCancelled: number }> {
  const t = exec.t;
  const r = await sql<{ jobs: number; queues: number; keys: number; dc: number }>`SELECT
    (SELECT count(*) FROM ${t.jobs})::int AS jobs, (SELECT count(*) FROM ${t.queues})::int AS queues,
    (SELECT count(*) FROM ${t.job_keys})::int AS keys,
    (SELECT count(*) FROM ${t.jobs} WHERE status IN ('DEAD', 'CANCELLED'))::int AS dc`.execute(exec.raw);
  const row = r.rows[0];
  if (!row) throw new Error('no counts');
  return { jobs: row.jobs, queues: row.queues, keys: row.keys, deadOrCancelled: row.dc };
}

const BACKOFF = { baseMs: 60_000, maxMs: 60_000 };

/** Runs one attempt of every ready job of a queue through claim + fail (or complete) as worker `w`. */
async function runAttempt(exec: Executor, queue: string, ok: boolean, message: string): Promise<void> {
  const jobs = await claim(exec, {
    queue,
    workerId: 'seed-worker-1',
    limit: 100,
    leaseMs: 30_000,
    starvationMs: 3_600_000,
  });
  for (const j of jobs) {
    if (ok) await complete(exec, 'seed-worker-1', { id: j.id, attempt: j.attempt }, { ok: true, took: 1.5 });
    else
      await fail(exec, {
        id: j.id,
        attempt: j.attempt,
        workerId: 'seed-worker-1',
        error: new Error(`${message} (attempt ${j.attempt})`),
        permanent: false,
        backoff: BACKOFF,
      });
  }
}

export interface Seeded {
  dead: string;
  pending: string;
  completed: string;
  running: string;
}

/** Jobs in every state across three queues, a dead job with two attempts' errors, and a worker. */
export async function seedJobs(exec: Executor): Promise<Seeded> {
  const dead = (
    await enqueue(exec, {
      type: 'email.send',
      queue: 'email',
      payload: { to: 'ops@example.com', subject: '<b>Weekly</b> report' },
      maxAttempts: 2,
    })
  ).job.id;
  await runAttempt(exec, 'email', false, 'SMTP 421: service not available');
  await sql`UPDATE ${exec.t.jobs} SET run_after = now() WHERE id = ${dead}`.execute(exec.raw);
  await runAttempt(exec, 'email', false, 'SMTP 421: service not available');
  const completed = (
    await enqueue(exec, { type: 'video.transcode', queue: 'video', payload: { file: 'a.mp4' } })
  ).job.id;
  await runAttempt(exec, 'video', true, '');
  const running = (
    await enqueue(exec, { type: 'video.transcode', queue: 'video', payload: { file: 'b.mp4' } })
  ).job.id;
  await claim(exec, {
    queue: 'video',
    workerId: 'seed-worker-1',
    limit: 1,
    leaseMs: 300_000,
    starvationMs: 3_600_000,
  });
  const cancelled = (await enqueue(exec, { type: 'report.build', payload: { month: '2026-10' } })).job.id;
  await cancelJobs(exec, [cancelled], 'seed');
  const pending = (await enqueue(exec, { type: 'demo.sleep', payload: { seconds: 2 }, priority: 5 })).job.id;
  for (let i = 0; i < 3; i++) await enqueue(exec, { type: 'demo.echo', payload: { i } });
  await enqueue(exec, { type: 'demo.echo', payload: { later: true }, delayMs: 3_600_000 });
  await workerRegister(exec, {
    id: 'seed-worker-1',
    host: 'worker-7f9c',
    pid: 4242,
    queues: { email: 4, video: 2 },
    types: ['email.send', 'video.transcode'],
    version: '0.1.0',
  });
  return { dead, pending, completed, running };
}

/**
 * Every route the server serves, read from fastify's own route table (printRoutes), not from any list
 * the application keeps: a route registered anywhere shows up. HEAD (added for each GET) is left out.
 */
export function servedRoutes(app: FastifyInstance): { method: string; url: string }[] {
  const out: { method: string; url: string }[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[└├]── (\S+) \(([A-Z, ]+)\)/.exec(line);
    if (!m) continue;
    const depth = (m[1] ?? '').length / 4;
    stack.length = depth;
    const url = `${stack[depth - 1] ?? ''}${m[2] ?? ''}`;
    stack[depth] = url;
    for (const method of (m[3] ?? '').split(/,\s*/)) if (method !== 'HEAD') out.push({ method, url });
  }
  return out;
}
