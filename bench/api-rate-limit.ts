// What the API's shared rate limit costs. (1) HTTP: requests/s of real `jobq api` processes with the
// limit off and on (one client: every request takes from the same bucket row; 16 clients), measured in
// interleaved rounds so background load hits every variant alike; medians reported. (2) The bucket
// statement alone on one hot row, with rate_limits LOGGED vs UNLOGGED (why migration 0004 exists).
// Run: npm run build && node --import tsx bench/api-rate-limit.ts   (DATABASE_URL, else embedded PG 16)
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { rateLimitTake } from '../src/sql/rate-limits.js';
import { benchSchema, benchServer } from './db.js';

const BIN = fileURLToPath(new URL('../bin/jobq.js', import.meta.url));
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PATH = process.env.BENCH_PATH ?? '/jobs?limit=1';
const TOKENS = Array.from({ length: 16 }, (_, i) => `c${i}:bench-token-${i}`).join(',');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(7);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function get(agent: http.Agent, port: number, path: string, token?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = token ? { authorization: `Bearer ${token}` } : {};
    const req = http.get({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

/** Requests/s for `ms` with CONCURRENCY keep-alive loops spread over `clients` tokens (non-2xx throws). */
async function load(agent: http.Agent, port: number, clients: number, ms: number): Promise<number> {
  let n = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, i) => {
      while (Date.now() - t0 < ms) {
        const s = await get(agent, port, PATH, `bench-token-${i % clients}`);
        if (s !== 200) throw new Error(`status ${s}`);
        n++;
      }
    }),
  );
  return n / ((Date.now() - t0) / 1000);
}

async function startApi(env: Record<string, string>): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [BIN, 'api', '--host', '127.0.0.1', '--port', String(port)],
    {
      env: { ...process.env, JOBQ_LOG_LEVEL: 'warn', JOBQ_API_TOKENS: TOKENS, ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const agent = new http.Agent();
  for (let i = 0; (await get(agent, port, '/readyz').catch(() => 0)) !== 200; i++) {
    if (i > 300) throw new Error('API did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const server = await benchServer();
const db = await benchSchema(server.url, 16);
const out = (line: string): boolean => process.stdout.write(`${line}\n`);
try {
  const base = { DATABASE_URL: server.url, JOBQ_SCHEMA: db.schema };
  const off = await startApi(base);
  const on = await startApi({
    ...base,
    JOBQ_RATE_LIMIT_PER_SEC: '1000000',
    JOBQ_RATE_LIMIT_BURST: '1000000',
  });
  const variants: [string, number, number][] = [
    ['rate limit off', off.port, 1],
    ['rate limit on, 1 client', on.port, 1],
    ['rate limit on, 16 clients', on.port, 16],
  ];
  const results = new Map<string, number[]>(variants.map(([name]) => [name, []]));
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY * 2 });
  for (const [, port, clients] of variants) await load(agent, port, clients, 500); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(k + r) % variants.length];
      if (!v) continue;
      const [name, port, clients] = v;
      results.get(name)?.push(await load(agent, port, clients, ROUND_MS));
    }
  }
  agent.destroy();
  await off.stop();
  await on.stop();
  out(
    `HTTP GET ${PATH}: ${CONCURRENCY} keep-alive connections, ${ROUNDS} interleaved rounds of ${ROUND_MS} ms, median req/s (${server.label})`,
  );
  const baseline = median(results.get('rate limit off') ?? []);
  for (const [name, xs] of results) {
    out(
      `  ${name.padEnd(27)} ${fmt(median(xs))}  (${((median(xs) / baseline - 1) * 100).toFixed(1)}%)  rounds: ${xs.map((x) => Math.round(x)).join(', ')}`,
    );
  }

  // The statement alone, 16 connections, one hot row vs 16 rows, LOGGED vs UNLOGGED.
  const stmt = async (clients: number, ms: number): Promise<number> => {
    let n = 0;
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        while (Date.now() - t0 < ms) {
          await rateLimitTake(db.exec, { client: `s${i % clients}`, ratePerSec: 1e6, burst: 1e6 });
          n++;
        }
      }),
    );
    return n / ((Date.now() - t0) / 1000);
  };
  const stmtResults = new Map<string, number[]>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of ['LOGGED', 'UNLOGGED']) {
      await sql.raw(`ALTER TABLE ${db.schema}.rate_limits SET ${mode}`).execute(db.exec.raw);
      for (const clients of [1, 16]) {
        const key = `${mode.toLowerCase()}, ${clients === 1 ? '1 row ' : '16 rows'}`;
        stmtResults.set(key, [...(stmtResults.get(key) ?? []), await stmt(clients, ROUND_MS / 2)]);
      }
    }
  }
  out(`rateLimitTake alone: 16 connections, median takes/s`);
  for (const [name, xs] of stmtResults) out(`  ${name.padEnd(27)} ${fmt(median(xs))}`);
} finally {
  await db.drop();
  await server.stop();
}
