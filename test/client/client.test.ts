// The embeddable client: grouped concurrent enqueues, enqueue inside the caller's transaction, the
// fall-back from prepared statements when the connection loses them (as behind some poolers), and text
// PostgreSQL would refuse or mangle refused before it gets there.
import { sql } from 'kysely';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/client.js';
import { connect } from '../../src/db/connect.js';
import { freshDb, resetDb } from '../helpers/db.js';

const db = await freshDb();
const count = async (): Promise<number> =>
  (await sql<{ n: number }>`SELECT count(*) AS n FROM ${db.exec.t.jobs}`.execute(db.exec.raw)).rows[0]?.n ??
  0;

beforeEach(() => resetDb(db));

describe('client', () => {
  it('200 concurrent enqueues share statements and each caller gets its own id', async () => {
    const client = createClient({ database: db });
    const res = await Promise.all(
      Array.from({ length: 200 }, (_, i) => client.enqueue({ type: 'c', payload: { i } })),
    );
    expect(new Set(res.map((r) => r.id)).size).toBe(200);
    expect(res.every((r) => r.created)).toBe(true);
    expect(await count()).toBe(200);
  });

  it('an enqueue inside a caller transaction exists only if the transaction commits', async () => {
    const client = createClient({ database: db });
    await expect(
      db.exec.raw.transaction().execute(async (tx) => {
        await client.enqueue({ type: 'c' }, { tx });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await count()).toBe(0);
    await db.exec.raw.transaction().execute(async (tx) => {
      await client.enqueue({ type: 'c' }, { tx });
    });
    expect(await count()).toBe(1);
  });

  it('falls back to unnamed statements when the connection loses its prepared statements', async () => {
    const one = connect({ url: db.url, schema: db.schema, max: 1 });
    afterAll(() => one.close());
    const client = createClient({ database: one });
    await client.enqueue({ type: 'c' });
    const prepared = await one.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_prepared_statements',
    );
    expect(prepared.rows[0]?.n).toBeGreaterThan(0); // enqueues do run as prepared statements
    await one.pool.query('DEALLOCATE ALL'); // what a transaction-mode pooler does to a session's statements
    const again = await client.enqueue({ type: 'c' });
    expect(again.created).toBe(true);
    await client.enqueue({ type: 'c' });
    expect(await count()).toBe(3);
  });

  it('refuses text PostgreSQL cannot store (a job key, who cancelled) naming the field, changing nothing', async () => {
    const client = createClient({ database: db });
    for (const key of ['tenant\u0000', 'tenant\ud800'])
      await expect(client.enqueue({ type: 'c', key })).rejects.toMatchObject({
        code: 'VALIDATION',
        field: 'key',
      });
    expect(await count()).toBe(0);
    const { id } = await client.enqueue({ type: 'c' });
    for (const by of ['ops\u0000', 'ops\udfff', ''])
      await expect(client.cancel([id], by)).rejects.toMatchObject({ code: 'VALIDATION', field: 'by' });
    const row = await sql<{ status: string }>`SELECT status FROM ${db.exec.t.jobs} WHERE id = ${id}`.execute(
      db.exec.raw,
    );
    expect(row.rows[0]?.status).toBe('PENDING');
  });
});
