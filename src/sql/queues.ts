// Statements on the queues table (per-queue settings shared by all processes).
import { sql } from 'kysely';
import type { Executor } from '../db/connect.js';
import { channelFor } from './jobs.js';

/** Pauses or resumes a queue (upsert); resuming wakes the queue's idle workers (NOTIFY). */
export async function queueSetPaused(exec: Executor, name: string, paused: boolean): Promise<void> {
  await sql`WITH up AS (
      INSERT INTO ${exec.t.queues} (name, paused) VALUES (${name}, ${paused})
      ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, updated_at = now() RETURNING paused)
    SELECT CASE WHEN NOT up.paused THEN pg_notify(${channelFor(exec)}, ${name}) END FROM up`.execute(
    exec.raw,
  );
}

/** Names of paused queues. */
export async function queueListPaused(exec: Executor): Promise<string[]> {
  const rows = await exec.db.selectFrom('queues').select('name').where('paused', '=', true).execute();
  return rows.map((r) => r.name);
}

/** Every queue with a settings row. */
export async function queueListSettings(exec: Executor): Promise<{ name: string; paused: boolean }[]> {
  return exec.db.selectFrom('queues').select(['name', 'paused']).orderBy('name').execute();
}
