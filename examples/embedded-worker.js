// Embedding a jobq worker in your own Node.js application (TypeScript works the same way).
// Run it against any PostgreSQL:  DATABASE_URL=postgres://user@host/db node examples/embedded-worker.js

// It migrates the jobq schema, starts a worker in this process, enqueues one job with the client and
// waits for it. The handler writes its effect through ctx.transaction, so the row in sent_emails and
// the job's COMPLETED status commit together: the email is recorded exactly once, even if this process
// is killed mid-job and another worker runs the job again.

import console from 'node:console';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { createClient, createWorker, PermanentError } from 'jobq';

const connectionString = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const schema = process.env.JOBQ_SCHEMA ?? 'jobq';

const client = createClient({ connectionString, schema });
await client.migrate(); // the same as `jobq migrate`; safe to run on every start

// Your application's own table (in your default schema).
await sql`CREATE TABLE IF NOT EXISTS sent_emails (
  job_id uuid PRIMARY KEY, recipient text NOT NULL, sent_at timestamptz NOT NULL DEFAULT now())`.execute(
  client.exec.raw,
);

const worker = createWorker({
  connectionString,
  schema,
  queues: 'email:5', // queue "email" with 5 slots; { email: 5 } works too
  handlers: {
    // job type → async (payload, ctx) => result
    'email.send': async (payload, ctx) => {
      if (typeof payload?.to !== 'string') throw new PermanentError('payload.to: expected an address');
      ctx.log.info('sending'); // ctx.log is bound to the job; never log whole payloads
      return ctx.transaction(async (trx) => {
        await sql`INSERT INTO sent_emails (job_id, recipient) VALUES (${ctx.job.id}, ${payload.to})`.execute(
          trx,
        );
        return { sent: payload.to }; // becomes the job's result
      });
    },
    // per-type options: a timeout (the AbortSignal fires, the attempt fails), max attempts, backoff
    'report.build': {
      timeoutMs: 60_000,
      maxAttempts: 3,
      backoff: { baseMs: 5_000, maxMs: 60_000 },
      handler: async (_payload, ctx) => {
        await sleep(10, undefined, { signal: ctx.signal });
        return { ok: true };
      },
    },
  },
});
await worker.start();
// In a long-running service, stop gracefully on SIGTERM: running jobs get the grace period, the rest
// are released for other workers at once.
process.once('SIGTERM', () => void worker.stop());

const { id } = await client.enqueue({
  type: 'email.send',
  queue: 'email',
  payload: { to: 'ada@example.com' },
});
let job = await client.getJob(id);
for (let i = 0; i < 300 && !['COMPLETED', 'DEAD'].includes(job.status); i++) {
  await sleep(100);
  job = await client.getJob(id);
}
console.log(`job ${id} ${job.status} ${JSON.stringify(job.result)}`);

await worker.stop();
await client.close();
process.exitCode = job.status === 'COMPLETED' ? 0 : 1;
