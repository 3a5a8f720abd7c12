// "Bad input, for every command": each refused invocation of the real binary gets a clear message naming
// the problem, a non-zero exit (1 user error, 2 usage, 3 database down, 4 not migrated / too new), and
// writes nothing (the tables' fingerprint is unchanged). Needs `npm run build` first.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { cancelJobs, complete, enqueue } from '../../src/queue/index.js';
import { freshDb, schemaName } from '../helpers/db.js';
import { claimOne, closedPortUrl, deadJob, fingerprint, jobCount, runMany } from './support.js';

const db = await freshDb();
const exec = db.exec;
const newer = await freshDb(); // gets a "version 9999" migration row: a newer jobq migrated it
const dir = mkdtempSync(path.join(tmpdir(), 'jobq-cli-bad-'));
const UNKNOWN = '01890000-0000-7000-8000-00000000abcd';
const NAME = /expected a name of 1-64 characters matching \[a-z0-9\]\[a-z0-9._-\]\*.*/;

interface Case {
  args: string[];
  code: number;
  /** What the message must say (checked on stderr). */
  says: RegExp;
  stdin?: string;
  env?: Record<string, string>;
}

/** Runs the cases and checks code, message and an empty stdout; returns nothing (throws on mismatch). */
async function expectRefused(cases: Case[], baseEnv: Record<string, string>): Promise<void> {
  const results = await runMany(
    cases.map((c) => ({
      args: c.args,
      env: { ...baseEnv, ...c.env },
      ...(c.stdin !== undefined ? { stdin: c.stdin } : {}),
    })),
  );
  const problems: string[] = [];
  results.forEach((r, i) => {
    const c = cases[i];
    if (!c) return;
    const line = `jobq ${c.args.join(' ').slice(0, 120)}`;
    if (r.code !== c.code) problems.push(`${line}: exit ${r.code}, expected ${c.code}; stderr: ${r.stderr}`);
    else if (!c.says.test(r.stderr))
      problems.push(`${line}: stderr ${JSON.stringify(r.stderr)} does not match ${c.says}`);
    else if (c.code !== 2 && r.stdout !== '') problems.push(`${line}: wrote to stdout: ${r.stdout}`);
  });
  expect(problems).toEqual([]);
}

/** One valid invocation of every command (the database is what is wrong in the tests using these). */
function everyCommand(id: string): Case['args'][] {
  return [
    ['enqueue', 'demo.echo', '--payload', '{"a":1}'],
    ['enqueue', '--batch', '-'],
    ['jobs', 'list'],
    ['jobs', 'show', id],
    ['retry', id],
    ['cancel', id],
    ['dead', 'list'],
    ['dead', 'retry', '--all'],
    ['dead', 'purge'],
    ['queues'],
    ['queues', 'pause', 'default'],
    ['queues', 'resume', 'default'],
    ['workers'],
  ];
}
const BATCH = '{"type":"demo.echo"}\n';

let dead = '';
let pending = '';
let completed = '';
beforeAll(async () => {
  dead = (await deadJob(exec, { type: 'seed.dead' })).id;
  pending = (await enqueue(exec, { type: 'seed.pending', queue: 'seed' })).job.id;
  const { job } = await enqueue(exec, { type: 'seed.done', queue: 'seed-done' });
  const c = await claimOne(exec, job);
  await complete(exec, 'test-worker', { id: job.id, attempt: c.attempt });
  completed = job.id;
  const { job: cancelled } = await enqueue(exec, { type: 'seed.cancelled', queue: 'seed-c' });
  await cancelJobs(exec, [cancelled.id]);
});

/** A refused invocation: args, expected exit code, what stderr must say, and optional stdin/env. */
function c(args: string[], code: number, says: RegExp, extra: Pick<Case, 'stdin' | 'env'> = {}): Case {
  return { args, code, says, ...extra };
}
const num = (flag: string, lo: number, hi: number) =>
  new RegExp(`${flag}: expected a whole number from ${lo} to ${hi}`);
const SMALL_CAP = { JOBQ_MAX_PAYLOAD_BYTES: '2048' };
const E = ['enqueue', 'demo.echo'];
const BATCH_ARGS = ['enqueue', '--batch', '-'];

describe('bad input', () => {
  it('enqueue and enqueue --batch refuse malformed JSON, bad names, bad numbers and oversize payloads, writing nothing', async () => {
    writeFileSync(path.join(dir, 'bad.json'), '{"to": "x",}');
    const big = JSON.stringify({ blob: 'x'.repeat(1_100_000) });
    const before = await fingerprint(exec);
    await expectRefused(
      [
        c([...E, '--payload', '{"a":'], 1, /--payload: expected valid JSON, got "\{\\"a\\":"/),
        c([...E, '--payload', `@${dir}/bad.json`], 1, /--payload: expected valid JSON/),
        c([...E, '--payload', '-'], 1, /--payload: expected valid JSON/, { stdin: 'not json' }),
        c([...E, '--payload', `@${dir}/missing.json`], 1, /--payload: expected a readable file.*ENOENT/),
        c(
          [...E, '--payload', '-'],
          1,
          /payload: expected at most 1048576 bytes of JSON, got 1100\d{3} bytes/,
          {
            stdin: big,
          },
        ),
        c(
          [...E, '--payload', JSON.stringify({ blob: 'y'.repeat(3000) })],
          1,
          /payload: expected at most 2048 bytes of JSON, got 30\d\d bytes/,
          {
            env: SMALL_CAP,
          },
        ),
        c(['enqueue', 'Demo.Echo'], 1, new RegExp(`type: ${NAME.source}, got "Demo.Echo"`)),
        c(['enqueue', 'x'.repeat(65)], 1, /type: expected a name of 1-64 characters/),
        c([...E, '--queue', 'Emails!'], 1, new RegExp(`queue: ${NAME.source}, got "Emails!"`)),
        c(
          [...E, '--priority', '99999'],
          1,
          /--priority: expected a whole number from -1000 to 1000, got 99999/,
        ),
        c([...E, '--max-attempts', '0'], 1, /--max-attempts: expected a whole number from 1 to 1000, got 0/),
        c(
          [...E, '--delay', '-5s'],
          1,
          /--delay: expected a duration such as 500ms, 30s, 5m, 2h or 7d, got "-5s"/,
        ),
        c([...E, '--delay', '99999d'], 1, /--delay: expected a duration of at most 10 years/),
        c([...E, '--run-at', 'tomorrow'], 1, /runAt: expected an ISO-8601 time/),
        c(
          [...E, '--idempotency-key', 'k'.repeat(300)],
          1,
          /idempotencyKey: expected a string of 1-255 characters/,
        ),
        c(['enqueue'], 2, /missing job type/),
        c([...E, '--prio', '1'], 2, /unknown option '--prio'/),
        // --batch: the bad line is named and no line is inserted (line 1 is always good)
        c(BATCH_ARGS, 1, /line 2: expected valid JSON/, { stdin: `${BATCH}{"type":"demo.echo",\n${BATCH}` }),
        c(BATCH_ARGS, 1, /line 3: priority: expected a whole number from -1000 to 1000, got 99999/, {
          stdin: `${BATCH}\n{"type":"demo.echo","priority":99999}\n`,
        }),
        c(BATCH_ARGS, 1, /line 3: type: expected a name/, { stdin: `${BATCH}${BATCH}{"type":"Nope"}\n` }),
        c(BATCH_ARGS, 1, /line 2: prio: expected one of the fields type, payload/, {
          stdin: `${BATCH}{"type":"demo.echo","prio":1}\n`,
        }),
        c(BATCH_ARGS, 1, /line 2: payload: expected at most 2048 bytes of JSON/, {
          stdin: `${BATCH}{"type":"demo.echo","payload":{"b":"${'z'.repeat(3000)}"}}\n`,
          env: SMALL_CAP,
        }),
        c(BATCH_ARGS, 1, /--batch: expected at least one NDJSON line/, { stdin: '\n\n' }),
        c(
          ['--schema', 'Bad-Schema', ...E],
          1,
          /schema \(JOBQ_SCHEMA \/ --schema\): expected a lower-case SQL identifier/,
        ),
        c(E, 1, /JOBQ_MAX_PAYLOAD_BYTES: expected a whole number/, { env: { JOBQ_MAX_PAYLOAD_BYTES: '-5' } }),
      ],
      db.env,
    );
    expect(await fingerprint(exec)).toBe(before);

    // Control: under the same small cap a smaller payload goes through (the cap, not something else, refused).
    const [ok] = await runMany([
      {
        args: [...E, '--payload', JSON.stringify({ blob: 'y'.repeat(1500) })],
        env: { ...db.env, ...SMALL_CAP },
      },
    ]);
    expect(ok?.code, ok?.stderr).toBe(0);
    expect(ok?.stdout).toMatch(/ created\n$/);
  });

  it('jobs, retry, cancel, dead, queues, workers, migrate refuse bad ids, unknown ids, bad names and numbers, writing nothing', async () => {
    const before = await fingerprint(exec);
    const limit = num('--limit', 1, 1000);
    await expectRefused(
      [
        c(['jobs', 'list', '--limit', '-1'], 1, /--limit: expected a whole number from 1 to 1000, got -1/),
        c(['jobs', 'list', '--limit', '100000'], 1, limit),
        c(
          ['jobs', 'list', '--status', 'FINISHED'],
          1,
          /--status: expected one of PENDING, RUNNING, RETRY, COMPLETED, DEAD, CANCELLED, got "FINISHED"/,
        ),
        c(['jobs', 'list', '--queue', 'Bad Queue'], 1, new RegExp(`--queue: ${NAME.source}`)),
        c(['jobs', 'list', '--type', '_private'], 1, new RegExp(`--type: ${NAME.source}`)),
        c(['jobs', 'list', '--cursor', 'page-2'], 1, /--cursor: expected a job id \(a UUID\), got "page-2"/),
        c(['jobs', 'show', '42'], 1, /id: expected a job id \(a UUID\), got "42"/),
        c(['jobs', 'show', UNKNOWN], 1, new RegExp(`job ${UNKNOWN} not found`)),
        c(['retry', 'abc'], 1, /id: expected a job id \(a UUID\), got "abc"/),
        c(['retry', UNKNOWN], 1, new RegExp(`job ${UNKNOWN} not found`)),
        c(['retry', dead, UNKNOWN], 1, new RegExp(`job ${UNKNOWN} not found`)),
        c(['retry', dead, pending], 1, /cannot retry job .*: it is PENDING \(only DEAD, RETRY or CANCELLED/),
        c(['cancel', 'abc'], 1, /id: expected a job id/),
        c(['cancel', pending, UNKNOWN], 1, new RegExp(`job ${UNKNOWN} not found`)),
        c(['cancel', pending, completed], 1, /cannot cancel job .*: it is COMPLETED/),
        c(['dead', 'list', '--limit', '-1'], 1, limit),
        c(['dead', 'list', '--queue', 'MAIL'], 1, /--queue: expected a name/),
        c(['dead', 'retry', '--type', 'x'.repeat(65)], 1, /--type: expected a name/),
        c(['dead', 'retry'], 2, /needs --queue, --type or --all/),
        c(['dead', 'purge', '--older-than', '-1d'], 1, /--older-than: expected a duration such as/),
        c(
          ['dead', 'purge', '--older-than', '99999d'],
          1,
          /--older-than: expected a duration of at most 10 years/,
        ),
        c(['queues', 'pause', 'Email'], 1, new RegExp(`queue: ${NAME.source}, got "Email"`)),
        c(['queues', 'resume', '.x'], 1, /queue: expected a name/),
        c(['workers', '--all'], 2, /unknown option '--all'/),
        c(['migrate', '--force'], 2, /unknown option '--force'/),
      ],
      db.env,
    );
    expect(await fingerprint(exec)).toBe(before);
  });

  it('a database that is down: every command exits 3 and says it cannot reach PostgreSQL', async () => {
    const url = await closedPortUrl();
    const cases = [...everyCommand(UNKNOWN), ['migrate'], ['migrate', '--status']].map((args): Case => ({
      args: ['--database-url', url, ...args],
      code: 3,
      says: /cannot reach PostgreSQL.*ECONNREFUSED/,
      stdin: BATCH,
    }));
    await expectRefused(cases, db.env);
  });

  it('bad input is refused before the database is touched: exit 1 naming the field, even with it down', async () => {
    const url = await closedPortUrl();
    const cases: Case[] = [
      {
        args: ['enqueue', 'demo', '--run-at', '2030-02-30'],
        code: 1,
        says: /^jobq: runAt: expected an ISO-8601/,
      },
      { args: ['enqueue', 'demo', '--key', 'k'.repeat(201)], code: 1, says: /^jobq: key: expected/ },
      {
        args: ['enqueue', '--batch', '-'],
        stdin: '{"type":"a"}\n{"type":"b","runAt":"2030-02-30"}\n',
        code: 1,
        says: /^jobq: line 2: runAt: expected/,
      },
      {
        args: ['schedules', 'add', 'x', '--cron', '61 * * * *', '--type', 't'],
        code: 1,
        says: /^jobq: cron: /,
      },
      {
        args: ['schedules', 'add', 'x', '--cron', '@daily', '--type', 't', '--tz', 'Mars/Olympus'],
        code: 1,
        says: /^jobq: timezone: /,
      },
      {
        args: ['queues', 'limit', 'email', '--rate', 'lots'],
        code: 1,
        says: /^jobq: --rate: expected job starts/,
      },
    ];
    await expectRefused(
      cases.map((c) => ({ ...c, args: ['--database-url', url, ...c.args] })),
      db.env,
    );
  });

  it('a database that is not migrated: every command but migrate exits 4 with "run jobq migrate" and creates nothing', async () => {
    const schema = schemaName('unmigrated');
    const env = { ...db.env, JOBQ_SCHEMA: schema };
    const cases = everyCommand(UNKNOWN).map((args): Case => ({
      args,
      code: 4,
      says: new RegExp(`schema "${schema}" is not migrated.*: run jobq migrate`),
      stdin: BATCH,
    }));
    await expectRefused(cases, env);
    const [status] = await runMany([{ args: ['migrate', '--status'], env }]);
    expect(status?.code, status?.stderr).toBe(0);
    expect(status?.stdout).toMatch(/0001_init .*pending/);
    const exists = await sql<{
      n: number;
    }>`SELECT count(*) AS n FROM pg_namespace WHERE nspname = ${schema}`.execute(exec.raw);
    expect(exists.rows[0]?.n).toBe(0);
  });

  it('a database migrated by a newer jobq: every command, migrate included, exits 4 and changes nothing', async () => {
    await enqueue(newer.exec, { type: 'demo.echo' });
    await sql`INSERT INTO ${newer.exec.t.migrations} (version, name, checksum) VALUES (9999, '9999_future', 'x')`.execute(
      newer.exec.raw,
    );
    const before = await fingerprint(newer.exec);
    const cases = [...everyCommand(UNKNOWN), ['migrate']].map((args): Case => ({
      args,
      code: 4,
      says: /schema "\w+" is at migration 9999, but this jobq only knows migrations up to \d+: upgrade jobq/,
      stdin: BATCH,
    }));
    await expectRefused(cases, newer.env);
    expect(await fingerprint(newer.exec)).toBe(before);
    expect(await jobCount(newer.exec)).toBe(1);
    const versions = await sql<{
      v: number;
    }>`SELECT version AS v FROM ${newer.exec.t.migrations} ORDER BY 1`.execute(newer.exec.raw);
    expect(versions.rows.map((r) => r.v).at(-1)).toBe(9999);
  });
});
