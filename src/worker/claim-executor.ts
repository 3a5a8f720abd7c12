// Where the worker's claims run: named prepared statements (parsed and planned once per connection) until
// a connection shows it cannot keep them (a pooler such as PgBouncer in transaction mode), then unnamed.
import type { Database, Executor } from '../db/connect.js';
import { isPreparedStatementError, preparedExecutor } from '../db/prepared.js';
import type { Logger } from '../log.js';

/** The claim executor and its one-way switch from prepared to unnamed statements. */
export class ClaimExecutor {
  /** Where the next claim runs. */
  current: Executor;
  private readonly tried: boolean;

  constructor(
    database: Database,
    private readonly plain: Executor,
    private readonly log: Logger,
    prepared: boolean,
  ) {
    this.tried = prepared;
    this.current = prepared ? preparedExecutor(database) : plain;
  }

  /** A claim failed: true when only for being a prepared statement (claims are unnamed from now on). */
  unavailable(err: unknown): boolean {
    if (!isPreparedStatementError(err)) return false;
    // a claim already in flight when another switched: just retry (unnamed statements cannot fail so)
    if (this.current === this.plain) return this.tried;
    this.current = this.plain;
    this.log.warn(
      { err: (err as Error).message },
      'prepared statements are not available on this connection (a pooler such as PgBouncer in transaction mode?): claiming with unnamed statements from now on',
    );
    return true;
  }
}
