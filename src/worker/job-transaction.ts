// ctx.transaction: the handler's fn and the job's fenced completion in one transaction, on connections
// opened on demand (bounded, closed when idle), so handlers that never use it cost no connection.
import type { Transaction } from 'kysely';
import { connect, Executor, type Database } from '../db/connect.js';
import { isConnectionError, LeaseLostError } from '../errors.js';
import { setOutcomes, storableResult } from '../queue/index.js';
import { UnstorableResultError, type ActiveJob, type JobState } from './active-job.js';
import type { JobMetrics } from './job-metrics.js';
import type { Outcomes } from './outcomes.js';

export interface TransactionDeps {
  workerId: string;
  database: Database;
  /** Most connections open at once for ctx.transaction. */
  poolSize: number;
  maxResultBytes: number;
  outcomes: Outcomes;
  jm: JobMetrics;
}

/**
 * The completion comes last, so the job row is locked only for the commit; a failed fence throws
 * LeaseLostError and rolls fn's writes back. When no connection can be had (the server refuses one, or
 * the pool's connect times out), the job is marked so the worker hands it back without counting an
 * attempt: a full server is not the handler's failure.
 */
export class JobTransactions {
  private pool: Database | undefined;

  constructor(private readonly d: TransactionDeps) {}

  /** Runs fn and the fenced completion of `aj` in one transaction; returns fn's result. */
  async run<R>(aj: ActiveJob, fn: (trx: Transaction<unknown>) => Promise<R>): Promise<R> {
    const d = this.d;
    if (aj.txUsed)
      throw new Error('ctx.transaction can be called once per attempt: the job completes when it commits');
    aj.txUsed = true;
    if (aj.state !== 'running') throw aj.abortReason ?? new LeaseLostError(aj.id);
    this.pool ??= connect({
      url: d.database.url,
      schema: d.database.schema,
      max: d.poolSize,
      applicationName: 'jobq-worker-tx',
      idleTimeoutMs: 5000,
      // The handler's own statements run here: only outages are translated, its own errors stay its own.
      translate: 'unavailable',
    });
    const db = this.pool;
    const fence = { failed: false };
    try {
      const result = await db.exec.raw.transaction().execute(async (trx) => {
        const r = await fn(trx as unknown as Transaction<unknown>);
        // cancelled, timed out or lost while fn ran: roll back
        if (aj.state !== 'running') throw aj.abortReason ?? new LeaseLostError(aj.id);
        const stored = storableResult(r, d.maxResultBytes);
        if (!stored.ok) throw new UnstorableResultError(stored.message);
        aj.commit();
        const done = await setOutcomes(new Executor(trx, db.schema), d.workerId, [
          { ...aj.fence, kind: 'complete', resultJson: stored.json },
        ]);
        if (done.length === 0) {
          fence.failed = true;
          throw new LeaseLostError(aj.id);
        }
        return r;
      });
      aj.completedInTx = true;
      d.outcomes.finish(aj);
      d.jm.finished(aj.queue, aj.job.type, 'COMPLETED');
      return result;
    } catch (err) {
      // (aj.state changes inside the callback; TypeScript's narrowing above does not see that.)
      if ((aj.state as JobState) === 'committing') {
        if (fence.failed) d.outcomes.lost(aj);
        else aj.rolledBack(); // rolled back (or commit outcome unknown: the fenced outcome decides)
      }
      // No connection, or the server dropped it: an outage, not the handler's failure.
      if (isConnectionError(err) && !fence.failed) aj.dbUnavailable = err;
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }
}
