// Migrations: idempotent, safe when many processes run them at once, and every command refuses a
// partly migrated database or one migrated by a newer jobq.
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/db/connect.js';
import { assertMigrated, migrate, migrationFiles, migrationStatus } from '../../src/db/migrate.js';
import { NotMigratedError, SchemaTooNewError } from '../../src/errors.js';
import { databaseUrl, schemaName } from '../helpers/db.js';

const url = databaseUrl();
const schema = schemaName('m');
const conns = Array.from({ length: 6 }, () => connect({ url, schema, max: 1 }));
const [first] = conns;
if (!first) throw new Error('no connection');
const exec = first.exec;

afterAll(async () => {
  await sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`.execute(exec.raw);
  await Promise.all(conns.map((c) => c.close()));
});

describe('migrate', () => {
  it('an unmigrated schema is refused with "run jobq migrate"', async () => {
    await expect(assertMigrated(exec)).rejects.toThrow(/run jobq migrate/);
  });

  it('six processes migrating at once apply each migration exactly once', async () => {
    const results = await Promise.all(conns.map((c) => migrate(c.exec)));
    const applied = results.flat().map((f) => f.version);
    expect(applied.sort()).toEqual(migrationFiles().map((f) => f.version));
    expect(await migrate(exec)).toEqual([]);
    await assertMigrated(exec);
    expect((await migrationStatus(exec)).every((s) => s.appliedAt !== null)).toBe(true);
  });

  it('a schema missing one known migration is refused, naming it', async () => {
    const last = migrationFiles().at(-1);
    if (!last) throw new Error('no migrations');
    await sql`DELETE FROM ${exec.t.migrations} WHERE version = ${last.version}`.execute(exec.raw);
    const err = await assertMigrated(exec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotMigratedError);
    expect(String(err)).toContain(last.name);
    await sql`INSERT INTO ${exec.t.migrations} (version, name, checksum) VALUES (${last.version}, ${last.name}, ${last.checksum})`.execute(
      exec.raw,
    );
    await assertMigrated(exec);
  });

  it('a schema migrated by a newer jobq is refused by commands and by migrate', async () => {
    await sql`INSERT INTO ${exec.t.migrations} (version, name, checksum) VALUES (9999, '9999_future', 'x')`.execute(
      exec.raw,
    );
    await expect(assertMigrated(exec)).rejects.toBeInstanceOf(SchemaTooNewError);
    await expect(migrate(exec)).rejects.toBeInstanceOf(SchemaTooNewError);
  });
});
