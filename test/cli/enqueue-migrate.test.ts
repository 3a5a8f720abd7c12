// The real `jobq` binary against a real PostgreSQL: enqueue (inline, @file, stdin, idempotency key,
// NDJSON batches that are all or nothing) and migrate (idempotent, concurrent, --status).
// Needs `npm run build` first.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/db/connect.js';
import { getJob, listJobs } from '../../src/queue/index.js';
import { runCli } from '../helpers/cli.js';
import { databaseUrl, freshDb, schemaName } from '../helpers/db.js';
import { jobCount, runMany } from './support.js';

const db = await freshDb();
const exec = db.exec;
const dir = mkdtempSync(path.join(tmpdir(), 'jobq-cli-enq-'));
const jobq = (args: string[], stdin?: string) => runCli(args, db.env, stdin);
const ID = /^([0-9a-f-]{36}) created\n$/;

describe('jobq enqueue', () => {
  it('takes the payload inline, from @file or from stdin, and prints the id and whether it is new', async () => {
    writeFileSync(path.join(dir, 'p.json'), JSON.stringify({ from: 'file', list: [1, 2] }));
    const [inline, file, stdin, json] = await Promise.all([
      jobq(['enqueue', 'demo.echo', '--payload', '{"from":"inline"}', '--queue', 'enq', '--priority', '7']),
      jobq(['enqueue', 'demo.echo', '--payload', `@${dir}/p.json`, '--max-attempts', '2', '--delay', '1h']),
      jobq(
        ['enqueue', 'demo.echo', '--payload', '-', '--run-at', '2031-02-03T04:05:06Z'],
        '{"from":"stdin"}',
      ),
      jobq(['enqueue', 'demo.sleep', '--json']),
    ]);
    const id = (r: { stdout: string; stderr: string }) => {
      const m = ID.exec(r.stdout);
      if (!m?.[1]) throw new Error(`no id in ${JSON.stringify(r)}`);
      return m[1];
    };
    const [a, b, c] = await Promise.all([inline, file, stdin].map((r) => getJob(exec, id(r))));
    expect(a).toMatchObject({ payload: { from: 'inline' }, queue: 'enq', priority: 7, status: 'PENDING' });
    expect(b).toMatchObject({ payload: { from: 'file', list: [1, 2] }, maxAttempts: 2, queue: 'default' });
    expect((b?.runAfter.getTime() ?? 0) - Date.now()).toBeGreaterThan(3_500_000);
    expect(c).toMatchObject({ payload: { from: 'stdin' } });
    expect(c?.runAfter.toISOString()).toBe('2031-02-03T04:05:06.000Z');
    const out = JSON.parse(json.stdout) as {
      id: string;
      created: boolean;
      job: { type: string; payload: unknown };
    };
    expect(out).toMatchObject({ created: true, job: { type: 'demo.sleep', payload: {} } });
    expect(out.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('with an idempotency key creates one job and says "exists" the second time', async () => {
    const args = ['enqueue', 'report.build', '--idempotency-key', 'report-2031-01', '--queue', 'idem'];
    const first = await jobq(args);
    const second = await jobq(args);
    const third = await jobq([...args, '--json']);
    const id = ID.exec(first.stdout)?.[1];
    expect(id).toBeDefined();
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(`${id ?? '?'} exists (same idempotency key)\n`);
    expect(JSON.parse(third.stdout)).toMatchObject({ id, created: false });
    expect((await listJobs(exec, { queue: 'idem' })).items).toHaveLength(1);
  });

  it('--batch inserts every NDJSON line in one go, from a file or stdin; a bad line N inserts nothing', async () => {
    const lines = [
      JSON.stringify({ type: 'batch.a', payload: { n: 1 }, queue: 'batch', priority: 3 }),
      '',
      JSON.stringify({ type: 'batch.b', queue: 'batch', maxAttempts: 9, runAt: '2031-01-01T00:00:00Z' }),
      JSON.stringify({ type: 'batch.c', queue: 'batch', idempotencyKey: 'batch-key' }),
    ];
    writeFileSync(path.join(dir, 'jobs.ndjson'), `${lines.join('\n')}\n`);
    const fromFile = await jobq(['enqueue', '--batch', `${dir}/jobs.ndjson`]);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromFile.stdout).toBe('created 3 jobs\n');
    const again = await jobq(['enqueue', '--batch', '-', '--json'], `${lines[3] ?? ''}\n${lines[0] ?? ''}\n`);
    const res = JSON.parse(again.stdout) as { created: number; existing: number; ids: string[] };
    expect(res).toMatchObject({ created: 1, existing: 1 });
    const batch = (await listJobs(exec, { queue: 'batch' })).items;
    expect(batch).toHaveLength(4);
    expect(batch.find((j) => j.type === 'batch.b')).toMatchObject({ maxAttempts: 9 });
    expect(batch.filter((j) => j.type === 'batch.a').map((j) => [j.priority, j.payload])).toEqual([
      [3, { n: 1 }],
      [3, { n: 1 }],
    ]);

    const before = await jobCount(exec);
    const bad = await jobq(
      ['enqueue', '--batch', '-'],
      `${JSON.stringify({ type: 'batch.ok' })}\n\n${JSON.stringify({ type: 'batch.ok' })}\n{"type": "batch.bad", "payload": {oops}}\n`,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^jobq: line 4: expected valid JSON/);
    expect(await jobCount(exec)).toBe(before);
  });
});

describe('jobq migrate', () => {
  const schemas: string[] = [];
  afterAll(async () => {
    for (const s of schemas) await sql`DROP SCHEMA IF EXISTS ${sql.id(s)} CASCADE`.execute(exec.raw);
  });

  it('applies once (also when several run at once), is idempotent, and --status lists what is applied', async () => {
    const schema = schemaName('mig');
    schemas.push(schema);
    const env = { DATABASE_URL: databaseUrl(), JOBQ_SCHEMA: schema };
    const concurrent = await runMany(
      [1, 2, 3].map(() => ({ args: ['migrate'], env })),
      3,
    );
    expect(concurrent.map((r) => r.code)).toEqual([0, 0, 0]);
    const applied = concurrent.filter((r) => r.stdout.startsWith('applied 0001_init'));
    expect(applied).toHaveLength(1);
    expect(concurrent.filter((r) => r.stdout === `schema ${schema} is up to date\n`)).toHaveLength(2);

    const [twice, status, statusJson, list] = await runMany([
      { args: ['migrate', '--json'], env },
      { args: ['migrate', '--status'], env },
      { args: ['migrate', '--status', '--json'], env },
      { args: ['jobs', 'list', '--json'], env },
    ]);
    expect(JSON.parse(twice?.stdout ?? '')).toEqual({ applied: [], schema });
    expect(status?.stdout).toMatch(/│ 1 +│ 0001_init +│ \d{4}-\d\d-\d\dT/);
    expect(status?.stdout).not.toContain('pending');
    const rows = JSON.parse(statusJson?.stdout ?? '') as {
      version: number;
      name: string;
      appliedAt: string | null;
    }[];
    expect(rows[0]).toMatchObject({ version: 1, name: '0001_init' });
    expect(rows.every((r) => r.appliedAt !== null)).toBe(true);
    expect(list?.stdout).toBe('[]\n');
    const check = connect({ url: databaseUrl(), schema, max: 1 });
    try {
      const n = await sql<{ n: number }>`SELECT count(*) AS n FROM ${check.exec.t.migrations}`.execute(
        check.exec.raw,
      );
      expect(n.rows[0]?.n).toBe(rows.length);
    } finally {
      await check.close();
    }
  });
});
