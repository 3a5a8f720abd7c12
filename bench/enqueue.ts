// Enqueue scenarios: bulk (one statement per chunk) and single enqueues from concurrent callers (the
// client groups them into shared INSERTs).
import { createClient } from '../src/client/client.js';
import type { Database } from '../src/db/connect.js';

/** Bulk enqueue of n jobs through the client's enqueueMany, in chunks; jobs/s. */
export async function bulkEnqueue(db: Database, n: number, chunk = 10_000): Promise<number> {
  const client = createClient({ database: db });
  const t0 = performance.now();
  for (let done = 0; done < n; done += chunk) {
    const size = Math.min(chunk, n - done);
    await client.enqueueMany(
      Array.from({ length: size }, (_, i) => ({ type: 'bench.noop', payload: { i: done + i } })),
    );
  }
  return n / ((performance.now() - t0) / 1000);
}

/** `total` single enqueues from `callers` concurrent callers sharing one client; jobs/s. */
export async function concurrentEnqueue(db: Database, total: number, callers: number): Promise<number> {
  const client = createClient({ database: db });
  let left = total;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (left-- > 0) await client.enqueue({ type: 'bench.noop', payload: {} });
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}
