// The embeddable client: `createClient({ connectionString })` for applications that enqueue and inspect
// jobs. Concurrent enqueues share INSERTs (see group.ts); pass `{ tx }` to enqueue inside your own Kysely
// transaction instead (the job then exists only if your transaction commits).
import type { Kysely } from 'kysely';
import { connect, Executor, type Database } from '../db/connect.js';
import { assertMigrated, migrate } from '../db/migrate.js';
import { preparedExecutor } from '../db/prepared.js';
import type { DB } from '../db/schema.js';
import {
  cancelJobs,
  enqueueMany,
  getJob,
  insertRows,
  listJobs,
  pauseQueue,
  queueStats,
  resumeQueue,
  retryJobs,
  validateEnqueue,
  DEFAULT_LIMITS,
  type EnqueueResult,
  type EnqueueSpec,
  type Job,
  type Limits,
  type ListFilter,
  type Page,
  type QueueStats,
} from '../queue/index.js';
import { EnqueueGroup } from './group.js';

export interface ClientOptions {
  /** PostgreSQL URL (or give `database`). */
  connectionString?: string;
  /** An already open jobq database handle (shared with a worker, for instance). */
  database?: Database;
  schema?: string;
  poolSize?: number;
  limits?: Partial<Limits>;
  /** Run enqueues as named prepared statements (default true; falls back by itself behind a pooler). */
  preparedStatements?: boolean;
}

/** Any Kysely instance or transaction, whatever its database type (jobq qualifies its own tables). */
export type KyselyLike = Pick<Kysely<never>, 'isTransaction' | 'getExecutor'>;

export interface TxOption {
  /** Run inside this Kysely transaction (any schema scope): the job commits or rolls back with it. */
  tx?: KyselyLike;
}

export class Client {
  readonly database: Database;
  readonly limits: Limits;
  private readonly group: EnqueueGroup;
  private readonly ownsDatabase: boolean;

  constructor(opts: ClientOptions) {
    if (opts.database) {
      this.database = opts.database;
      this.ownsDatabase = false;
    } else {
      if (!opts.connectionString) throw new Error('createClient needs connectionString or database');
      this.database = connect({
        url: opts.connectionString,
        schema: opts.schema ?? 'jobq',
        max: opts.poolSize ?? 10,
        applicationName: 'jobq-client',
      });
      this.ownsDatabase = true;
    }
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.group = new EnqueueGroup(
      this.database.exec,
      opts.preparedStatements === false ? undefined : preparedExecutor(this.database),
    );
  }

  get exec(): Executor {
    return this.database.exec;
  }

  private execFor(opt?: TxOption): Executor | undefined {
    return opt?.tx ? new Executor(opt.tx as unknown as Kysely<DB>, this.database.schema) : undefined;
  }

  /** Applies pending migrations (same as `jobq migrate`). */
  async migrate(): Promise<void> {
    await migrate(this.exec);
  }

  /** Throws NotMigratedError / SchemaTooNewError / DatabaseUnavailableError when the database is not usable. */
  async assertReady(): Promise<void> {
    await assertMigrated(this.exec);
  }

  /** Enqueues one job. Returns its id and whether it was created (false: the idempotency key existed). */
  async enqueue(spec: EnqueueSpec, opt?: TxOption): Promise<EnqueueResult> {
    const row = validateEnqueue(spec, this.limits);
    const tx = this.execFor(opt);
    if (tx) return (await insertRows(tx, [row]))[0] as EnqueueResult;
    return this.group.add(row);
  }

  /** Enqueues many jobs in one statement: all or none. */
  enqueueMany(specs: EnqueueSpec[], opt?: TxOption): Promise<EnqueueResult[]> {
    return enqueueMany(this.execFor(opt) ?? this.exec, specs, this.limits);
  }

  getJob(id: string): Promise<Job> {
    return getJob(this.exec, id);
  }

  listJobs(filter?: ListFilter): Promise<Page<Job>> {
    return listJobs(this.exec, filter);
  }

  retry(ids: string[]) {
    return retryJobs(this.exec, ids);
  }

  cancel(ids: string[], by = 'client') {
    return cancelJobs(this.exec, ids, by);
  }

  queueStats(): Promise<QueueStats[]> {
    return queueStats(this.exec);
  }

  pauseQueue(name: string): Promise<void> {
    return pauseQueue(this.exec, name);
  }

  resumeQueue(name: string): Promise<void> {
    return resumeQueue(this.exec, name);
  }

  /** Closes the pool (when the client opened it). */
  async close(): Promise<void> {
    if (this.ownsDatabase) await this.database.close();
  }
}

/** Creates a client. */
export function createClient(opts: ClientOptions): Client {
  return new Client(opts);
}
