// ctx.transaction: the handler's fn and the job's fenced completion in one transaction, on a pool of its
// own so handlers holding transactions never starve the worker's claims and heartbeats of connections.
import type { Transaction } from 'kysely';
import { connect, Executor, type Database } from '../db/connect.js';
import { LeaseLostError } from '../errors.js';
import { completeMany } from '../queue/index.js';
import type { ActiveJob, JobState } from './active-job.js';
import type { JobMetrics } from './job-metrics.js';
import type { Outcomes } from './outcomes.js';

export interface TransactionHost {
  readonly id: string;
  readonly database: Database;
  readonly transactionPoolSize: number;
  readonly outcomes: Outcomes;
  readonly jm: JobMetrics;
}

/** The completion comes last, so the job row is locked only for the commit; a failed fence throws
 * LeaseLostError and rolls fn's writes back. */
export class JobTransactions {
  private pool: Database | undefined;

  constructor(private readonly h: TransactionHost) {}

  /** Runs fn and the fenced completion of `aj` in one transaction; returns fn's result. */
  async run<R>(aj: ActiveJob, fn: (trx: Transaction<unknown>) => Promise<R>): Promise<R> {
    const h = this.h;
    if (aj.txUsed)
      throw new Error('ctx.transaction can be called once per attempt: the job completes when it commits');
    aj.txUsed = true;
    if (aj.state !== 'running') throw aj.abortReason ?? new LeaseLostError(aj.id);
    this.pool ??= connect({
      url: h.database.url,
      schema: h.database.schema,
      max: h.transactionPoolSize,
      applicationName: 'jobq-worker-tx',
    });
    const db = this.pool;
    const fence = { failed: false };
    try {
      const result = await db.exec.raw.transaction().execute(async (trx) => {
        const r = await fn(trx as unknown as Transaction<unknown>);
        // cancelled, timed out or lost while fn ran: roll back
        if (aj.state !== 'running') throw aj.abortReason ?? new LeaseLostError(aj.id);
        aj.state = 'committing';
        const done = await completeMany(new Executor(trx, db.schema), h.id, [{ ...aj.fence, result: r }]);
        if (!done.has(aj.id)) {
          fence.failed = true;
          throw new LeaseLostError(aj.id);
        }
        return r;
      });
      aj.completedInTx = true;
      h.outcomes.finish(aj);
      h.jm.finished(aj.queue, aj.job.type, 'COMPLETED');
      return result;
    } catch (err) {
      // (aj.state changes inside the callback; TypeScript's narrowing above does not see that.)
      if ((aj.state as JobState) === 'committing') {
        if (fence.failed) h.outcomes.lost(aj);
        else aj.state = 'running'; // rolled back (or commit outcome unknown: the fenced fail decides)
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }
}
