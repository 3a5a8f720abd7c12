// The worker: per-queue slot pools fed by batched claims, handlers run with a context and an AbortSignal,
// fenced outcomes, one heartbeat statement for all leases, a reaper, cancel hints, and graceful stop.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Transaction } from 'kysely';
import { connect, type Database, type Executor } from '../db/connect.js';
import { isConnectionError, translateDbError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { createMetrics, type Metrics } from '../metrics/metrics.js';
import type { BackoffOptions, ClaimedJob, Reclaimed } from '../queue/index.js';
import { channelFor } from '../queue/index.js';
import { unregisterWorker, type WorkerRegistration } from '../queue/registry.js';
import { VERSION } from '../version.js';
import { ActiveJob, JobContext, JobTimeoutError, type ContextHost } from './active-job.js';
import { Completer, type CompleterHost } from './completer.js';
import { withBuiltins, unknownTypeMessage } from './handlers.js';
import { register, startHeartbeat, startReaper, type HeartbeatHost } from './heartbeat.js';
import { JobMetrics } from './job-metrics.js';
import { JobTransactions } from './job-transaction.js';
import { Listener } from '../db/listener.js';
import { DbHealth, startLoop } from '../loop.js';
import {
  workerSettings,
  type WorkerOptions,
  type WorkerPhase,
  type WorkerSettings,
  type WorkerStats,
} from './options.js';
import { Outcomes, bounded } from './outcomes.js';
import { isPreparedStatementError, preparedExecutor } from '../db/prepared.js';
import { QueuePool, type PoolHost } from './queue-pool.js';
import type { ResolvedHandler } from './types.js';
import { WriteGate } from './write-gate.js';

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** A jobq worker (see createWorker). */
export class Worker implements PoolHost, CompleterHost, HeartbeatHost, ContextHost {
  /** `${hostname}-${pid}-${random}`: unique per process start, so a fence never matches a past run. */
  readonly id: string;
  readonly exec: Executor;
  /** Claims run here: named prepared statements (see prepared.ts) unless unavailable. */
  claimExec: Executor;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly health: DbHealth;
  readonly gate = new WriteGate();
  readonly settings: WorkerSettings;
  readonly handlers: Map<string, ResolvedHandler>;
  readonly registration: WorkerRegistration;
  readonly database: Database;
  /** Jobs whose lease this worker holds, by id. */
  readonly held = new Map<string, ActiveJob>();
  readonly jm: JobMetrics;
  readonly outcomes: Outcomes;
  private readonly ownsDatabase: boolean;
  private readonly pools = new Map<string, QueuePool>();
  private readonly completer: Completer;
  private readonly transactions: JobTransactions;
  private readonly channel: string;
  private readonly cancelChannel: string;
  private phase: WorkerPhase = 'new';
  private listener: Listener | undefined;
  private poll: { stop(): Promise<void> } | undefined;
  private heartbeatLoop: { stop(): Promise<void>; beat(): Promise<void> } | undefined;
  private reaperLoop: { stop(): Promise<void> } | undefined;
  private idleWaiters: (() => void)[] = [];
  private stopping: Promise<void> | undefined;

  constructor(opts: WorkerOptions) {
    if (opts.database) {
      this.database = opts.database;
      this.ownsDatabase = false;
    } else {
      if (!opts.connectionString) throw new Error('createWorker needs connectionString or database');
      this.database = connect({
        url: opts.connectionString,
        schema: opts.schema ?? 'jobq',
        max: opts.poolSize ?? 10,
        applicationName: 'jobq-worker',
      });
      this.ownsDatabase = true;
    }
    this.settings = workerSettings(opts, this.database.url);
    this.handlers = withBuiltins(opts.handlers, this.settings.backoff);
    this.exec = this.database.exec;
    this.claimExec = opts.preparedStatements === false ? this.exec : preparedExecutor(this.database);
    this.id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.log = (opts.logger ?? silentLogger).child({ worker: this.id });
    this.metrics = opts.metrics ?? createMetrics();
    this.jm = new JobMetrics(this.metrics);
    this.health = new DbHealth(this.log);
    this.outcomes = new Outcomes(this);
    this.transactions = new JobTransactions(this);
    let total = 0;
    for (const [name, slots] of this.settings.queues) {
      this.pools.set(name, new QueuePool(name, slots, this));
      total += slots;
    }
    this.completer = new Completer(this, Math.max(total, 100), 1000, 2);
    this.channel = channelFor(this.exec);
    this.cancelChannel = `${this.channel}:cancel`;
    this.registration = {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      queues: Object.fromEntries(this.settings.queues),
      types: [...this.handlers.keys()].sort(),
      version: VERSION,
    };
  }

  // ---- host views used by the pools, the completer and the loops ----
  get leaseMs(): number {
    return this.settings.leaseMs;
  }
  get starvationMs(): number {
    return this.settings.starvationMs;
  }
  get claimBatch(): number {
    return this.settings.claimBatch;
  }
  get claiming(): boolean {
    return this.phase === 'running';
  }
  get backlogged(): boolean {
    return this.completer.backlogged;
  }
  get defaultBackoff(): BackoffOptions {
    return this.settings.backoff;
  }
  get transactionPoolSize(): number {
    return this.settings.transactionPoolSize;
  }
  /** Handlers running now, over all queues. */
  runningCount(): number {
    let n = 0;
    for (const p of this.pools.values()) n += p.running;
    return n;
  }
  heldIds(): string[] {
    return [...this.held.keys()];
  }

  /** A snapshot of the worker's state: per queue slots, running handlers and claims issued. */
  stats(): WorkerStats {
    return {
      id: this.id,
      phase: this.phase,
      held: this.held.size,
      pendingCompletions: this.completer.waiting,
      listening: this.listener?.connected ?? false,
      queues: [...this.pools.values()].map((p) => ({
        name: p.name,
        slots: p.slots,
        running: p.running,
        claims: p.claims,
        claimsInFlight: p.claimsInFlight,
        waiting: p.waitingCount,
      })),
    };
  }

  /** Registers the worker and starts claiming. Throws NotMigratedError when the schema is missing. */
  async start(): Promise<void> {
    if (this.phase !== 'new') throw new Error('this worker was already started');
    try {
      await register(this);
    } catch (err) {
      // Unreachable now: keep going; the heartbeat registers once the database answers.
      if (!isConnectionError(err)) throw translateDbError(err, this.exec.schema);
      this.health.failed('registering the worker', err, Math.floor(this.leaseMs / 3));
    }
    if (this.stopping) return; // stop() was called while registering
    this.phase = 'running';
    this.heartbeatLoop = startHeartbeat(this);
    this.reaperLoop = startReaper(this);
    if (this.settings.listenUrl) {
      this.listener = new Listener({
        url: this.settings.listenUrl,
        channels: [this.channel, this.cancelChannel],
        log: this.log,
        onNotify: (ch: string, payload: string) => this.notified(ch, payload),
        onConnected: () => this.wakeAll(),
      });
      this.listener.start();
    }
    // The poll fallback, jittered ±50% so idle workers started together do not poll in step: it keeps the
    // worker correct when NOTIFY never arrives and finds jobs that became ready by time.
    const jittered = (): number => Math.round(this.settings.pollIntervalMs * (0.5 + Math.random()));
    this.poll = startLoop({
      name: 'poll',
      health: this.health,
      firstDelayMs: jittered(),
      step: () => {
        this.wakeAll();
        return Promise.resolve(jittered());
      },
    });
    this.log.info(
      { queues: this.registration.queues, types: this.registration.types, leaseMs: this.leaseMs },
      'worker started',
    );
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const p of this.pools.values()) p.wake();
  }

  private notified(channel: string, payload: string): void {
    if (channel === this.channel) {
      if (this.phase !== 'running') return;
      if (payload === '') return this.wakeAll();
      for (const q of payload.split(',')) this.pools.get(q)?.wake();
    } else if (channel === this.cancelChannel) {
      for (const id of payload.split(',')) {
        const aj = this.held.get(id);
        if (aj) this.outcomes.cancel(aj);
      }
    }
  }

  // ---- running jobs ----
  accept(jobs: ClaimedJob[], pool: QueuePool): ActiveJob[] {
    const runnable: ActiveJob[] = [];
    for (const job of jobs) {
      const spec = this.handlers.get(job.type);
      const aj = new ActiveJob(job, spec, pool.name);
      this.held.set(job.id, aj);
      if (spec) runnable.push(aj);
      else this.outcomes.fail(aj, new Error(unknownTypeMessage(job.type, this.id, this.handlers.keys())));
    }
    return runnable;
  }

  run(aj: ActiveJob, pool: QueuePool): void {
    const { job, spec } = aj;
    if (!spec) return pool.releaseUnrun();
    aj.state = 'running';
    aj.t0 = performance.now();
    this.jm.started(pool.name, Math.max(job.runAfter.getTime(), job.createdAt.getTime()), Date.now());
    if (spec.timeoutMs !== undefined) {
      const ms = spec.timeoutMs;
      aj.timer = setTimeout(() => this.timedOut(aj, ms), ms);
    }
    let out: unknown;
    try {
      out = spec.handler(job.payload, new JobContext(aj, this));
    } catch (err) {
      this.settled(aj, pool, false, err);
      return;
    }
    if (isThenable(out))
      out.then(
        (v) => this.settled(aj, pool, true, v),
        (e: unknown) => this.settled(aj, pool, false, e),
      );
    else this.settled(aj, pool, true, out);
  }

  private settled(aj: ActiveJob, pool: QueuePool, ok: boolean, value: unknown): void {
    const ms = performance.now() - aj.t0;
    pool.release(ms);
    if (aj.timer) clearTimeout(aj.timer);
    this.jm.duration(aj.queue, aj.job.type, ms / 1000);
    if (aj.state === 'running') {
      if (ok) this.completer.add(aj, value);
      else this.outcomes.fail(aj, value);
      return;
    }
    if (aj.completedInTx) {
      if (!ok)
        this.log.warn(
          { jobId: aj.id, err: value },
          'handler threw after its ctx.transaction committed; the job stays COMPLETED',
        );
      return;
    }
    this.log.info(
      { jobId: aj.id, type: aj.job.type, attempt: aj.job.attempt, outcome: ok ? 'returned' : 'threw' },
      `late outcome of job ${aj.id} ignored: ${aj.abortReason?.message ?? 'the job is no longer held by this worker'}`,
    );
  }

  private timedOut(aj: ActiveJob, ms: number): void {
    if (aj.state !== 'running') return;
    const err = new JobTimeoutError(ms);
    aj.abort(err);
    this.outcomes.fail(aj, err);
  }

  // ---- callbacks of the completer and the loops ----
  completed(aj: ActiveJob, recorded: boolean): void {
    this.outcomes.completed(aj, recorded);
  }

  unstorable(aj: ActiveJob, err: unknown): void {
    const msg = err instanceof Error ? err.message : String(err);
    this.outcomes.fail(aj, new Error(`could not store the job's result: ${msg}`));
  }

  preparedUnavailable(err: unknown): boolean {
    if (!isPreparedStatementError(err) || this.claimExec === this.exec) return false;
    this.claimExec = this.exec;
    this.log.warn(
      { err: (err as Error).message },
      'prepared statements are not available on this connection (a pooler such as PgBouncer in transaction mode?): claiming with unnamed statements from now on',
    );
    return true;
  }

  backlogCleared(): void {
    if (this.phase === 'running') for (const p of this.pools.values()) p.pump();
  }

  slotFreed(): void {
    if (this.idleWaiters.length > 0 && this.allIdle()) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of w) resolve();
    }
  }

  leasesChecked(sent: string[], held: Map<string, boolean>): void {
    for (const id of sent) {
      const aj = this.held.get(id);
      if (aj?.state !== 'running' && aj?.state !== 'queued') continue;
      const cancelRequested = held.get(id);
      if (cancelRequested === undefined) this.outcomes.lost(aj);
      else if (cancelRequested) this.outcomes.cancel(aj);
    }
  }

  reclaimed(rows: Reclaimed[]): void {
    for (const r of rows) {
      this.jm.reclaimed(r.queue, r.type, r.status);
      if (r.status === 'RETRY') this.pools.get(r.queue)?.wake();
      const mine = r.lockedBy === this.id ? this.held.get(r.id) : undefined;
      if (mine?.state === 'running' || mine?.state === 'queued') this.outcomes.lost(mine);
    }
    this.log.info(
      { count: rows.length, from: [...new Set(rows.map((r) => r.lockedBy))] },
      `reclaimed ${rows.length} job(s) whose lease expired`,
    );
  }

  /** ctx.transaction: fn's writes and the fenced completion commit together (job-transaction.ts). */
  transaction<R>(aj: ActiveJob, fn: (trx: Transaction<unknown>) => Promise<R>): Promise<R> {
    return this.transactions.run(aj, fn);
  }

  // ---- shutdown ----
  private allIdle(): boolean {
    for (const p of this.pools.values()) if (!p.idle) return false;
    return true;
  }

  private waitIdle(ms: number): Promise<boolean> {
    if (this.allIdle()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.allIdle()), ms);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /**
   * Stops: no new claims; waits up to the grace period for running handlers; then fires the signals of
   * the rest and releases their jobs (PENDING at once, attempt not counted) for other workers;
   * writes pending outcomes; unregisters. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    if (this.phase === 'new') {
      this.phase = 'stopped';
      if (this.ownsDatabase) await this.database.close();
      return;
    }
    this.phase = 'stopping';
    await this.poll?.stop();
    const running = this.runningCount();
    this.log.info(
      { running, graceMs: this.settings.shutdownGraceMs },
      `stopping: no new claims; waiting up to ${this.settings.shutdownGraceMs}ms for ${running} running job(s)`,
    );
    await Promise.all([...this.pools.values()].map((p) => p.claimsSettled()));
    // Jobs claimed ahead never started: give them back at once.
    const queued = [...this.pools.values()].flatMap((p) => p.stop());
    if (queued.length > 0) await this.outcomes.release(queued, 'claimed-ahead (not started)');
    await this.waitIdle(this.settings.shutdownGraceMs);
    const left = [...this.held.values()].filter((aj) => aj.state === 'running');
    if (left.length > 0) await this.outcomes.release(left, 'unfinished');
    await bounded(this.completer.drain(), 10_000);
    await this.outcomes.settle(10_000);
    const abandoned = this.completer.abandon();
    if (abandoned.length > 0)
      this.log.warn(
        { count: abandoned.length },
        'database unreachable at shutdown: completions not written; those jobs will be reclaimed when their lease expires',
      );
    await this.heartbeatLoop?.stop();
    await this.reaperLoop?.stop();
    await this.listener?.stop();
    try {
      await unregisterWorker(this.exec, this.id);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not unregister the worker');
    }
    this.phase = 'stopped';
    await this.transactions.close();
    if (this.ownsDatabase) await this.database.close();
    this.log.info('worker stopped');
  }

  giveBack(jobs: ActiveJob[]): void {
    this.outcomes.track(this.outcomes.release(jobs, 'claimed-ahead (waited too long for a slot)', 'debug'));
  }
}
