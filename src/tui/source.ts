// Where `jobq top` gets its data and sends its actions: the queue library on a database handle.
// Kept apart from rendering so the App can be driven by any source in tests.
import type { Executor } from '../db/connect.js';
import { loadOverview, type Overview } from '../queue/overview.js';
import { pauseQueue, resumeQueue, retryJobs } from '../queue/index.js';

export interface TopSource {
  load(): Promise<Overview>;
  pause(queue: string): Promise<void>;
  resume(queue: string): Promise<void>;
  retry(id: string): Promise<void>;
}

/** A TopSource reading PostgreSQL directly through the queue library. */
export function databaseSource(exec: Executor, opts: { onlineWithinMs: number }): TopSource {
  return {
    load: () => loadOverview(exec, { onlineWithinMs: opts.onlineWithinMs }),
    pause: (q) => pauseQueue(exec, q),
    resume: (q) => resumeQueue(exec, q),
    retry: async (id) => {
      await retryJobs(exec, [id]);
    },
  };
}
