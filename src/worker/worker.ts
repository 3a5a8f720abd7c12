// The worker: per-queue slot pools fed by batched claims, handlers run with a context and an AbortSignal,
// fenced outcomes, one heartbeat statement for all leases, a reaper, cancel hints, and graceful stop.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Transaction } from 'kysely';
import { connect, type Database, type Executor } from '../db/connect.js';
import { isConnectionError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { createMetrics, type Metrics } from '../metrics/metrics.js';
import type { BackoffOptions, ClaimedJob, Reclaimed, ThrottleReason } from '../queue/index.js';
import { channelFor } from '../queue/index.js';
import { unregisterWorker, type WorkerRegistration } from '../queue/registry.js';
import { VERSION } from '../version.js';
import type { ActiveJob, ContextHost } from './active-job.js';
import { retryPolicyJson, withBuiltins } from './handlers.js';
import { register, startHeartbeat, startPoll, startReaper, type HeartbeatHost } from './heartbeat.js';
import { JobMetrics } from './job-metrics.js';
import { JobTransactions } from './job-transaction.js';
import { Listener } from '../db/listener.js';
import { DbHealth } from '../loop.js';
import {
  workerSettings,
  type WorkerOptions,
  type WorkerPhase,
  type WorkerSettings,
  type WorkerStats,
} from './options.js';
import { JobRunner } from './job-runner.js';
import { OutcomeWriter } from './outcome-writer.js';
import { Outcomes, bounded } from './outcomes.js';
import { startStallMonitor } from './stall-monitor.js';
import { isPreparedStatementError, preparedExecutor } from '../db/prepared.js';
import { QueuePool, type PoolHost } from './queue-pool.js';
import type { ResolvedHandler } from './types.js';
import { WriteGate } from './write-gate.js';

/** A jobq worker (see createWorker). */
export class Worker implements PoolHost, HeartbeatHost, ContextHost {
  /** `${hostname}-${pid}-${random}`: unique per process start, so a fence never matches a past run. */
  readonly id: string;
  readonly exec: Executor;
  /** Claims run here: named prepared statements (see prepared.ts) unless unavailable. */
  claimExec: Executor;
  private readonly preparedTried: boolean;
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
  private readonly writer: OutcomeWriter;
  /** The claim's per-type retry policy (recorded on each claimed row), as JSON. */
  readonly claimRetryPolicy: string;
  private readonly runner: JobRunner;
  private stallMonitor: { stop(): void } | undefined;
  private failWith: ((err: Error) => void) | undefined;
  /** Rejects when the worker gave up (too many runaway handlers); its supervisor should restart it. */
  readonly failure = new Promise<never>((_, reject) => (this.failWith = reject));
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
        max: opts.poolSize ?? 2,
        applicationName: 'jobq-worker',
      });
      this.ownsDatabase = true;
    }
    this.settings = workerSettings(opts, this.database.url);
    this.handlers = withBuiltins(opts.handlers, this.settings.backoff);
    this.exec = this.database.exec;
    this.preparedTried = opts.preparedStatements !== false;
    this.claimExec = this.preparedTried ? preparedExecutor(this.database) : this.exec;
    this.id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.log = (opts.logger ?? silentLogger).child({ worker: this.id });
    this.metrics = opts.metrics ?? createMetrics();
    this.jm = new JobMetrics(this.metrics);
    this.health = new DbHealth(this.log);
    void this.failure.catch(() => undefined); // observed by the service; never an unhandled rejection
    const st = this.settings;
    this.outcomes = new Outcomes({
      log: this.log,
      jm: this.jm,
      held: this.held,
      maxResultBytes: st.maxResultBytes,
    });
    this.transactions = new JobTransactions({
      workerId: this.id,
      database: this.database,
      poolSize: st.transactionPoolSize,
      maxResultBytes: st.maxResultBytes,
      outcomes: this.outcomes,
      jm: this.jm,
    });
    let total = 0;
    for (const [name, slots] of st.queues) {
      this.pools.set(name, new QueuePool(name, slots, this));
      total += slots;
    }
    this.writer = new OutcomeWriter(
      {
        exec: this.exec,
        workerId: this.id,
        gate: this.gate,
        health: this.health,
        defaults: st.backoff,
        written: (aj, item, status) => this.outcomes.written(aj, item, status),
        refused: (aj, item, err) => this.outcomes.refusedItem(aj, item, err),
        backlogCleared: () => this.backlogCleared(),
      },
      Math.max(total, 100),
    );
    this.outcomes.writer = this.writer;
    this.runner = new JobRunner({
      workerId: this.id,
      exec: this.exec,
      handlers: this.handlers,
      held: this.held,
      outcomes: this.outcomes,
      jm: this.jm,
      metrics: this.metrics,
      log: this.log,
      settings: st,
      contextHost: this,
      unhealthy: (err) => {
        if (this.phase !== 'running') return;
        this.log.error({ runaways: this.runner.runaways }, err.message);
        this.phase = 'stopping';
        this.failWith?.(err);
      },
    });
    this.claimRetryPolicy = retryPolicyJson(this.handlers);
    this.channel = channelFor(this.exec);
    this.cancelChannel = `${this.channel}:cancel`;
    this.registration = {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      queues: Object.fromEntries(this.settings.queues),
      types: [...this.handlers.keys()].sort(),
      version: VERSION,
      metricsUrl: opts.metricsUrl ?? null,
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
    return this.writer.backlogged;
  }
  get defaultBackoff(): BackoffOptions {
    return this.settings.backoff;
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
      pendingCompletions: this.writer.waiting,
      listening: this.listener?.connected ?? false,
      runaways: this.runner.runaways,
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
      if (!isConnectionError(err)) throw err; // (translated at the SQL boundary)
      this.health.failed('registering the worker', err, Math.floor(this.leaseMs / 3));
    }
    if (this.stopping) return; // stop() was called while registering
    this.phase = 'running';
    this.heartbeatLoop = startHeartbeat(this);
    this.stallMonitor = startStallMonitor(this.settings.stallThresholdMs, (ms) => this.runner.stalled(ms));
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
    this.poll = startPoll(this.settings.pollIntervalMs, this.health, () => this.wakeAll());
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

  // ---- running jobs (job-runner.ts) ----
  accept(jobs: ClaimedJob[], pool: QueuePool): ActiveJob[] {
    return this.runner.accept(jobs, pool);
  }

  run(aj: ActiveJob, pool: QueuePool): void {
    this.runner.run(aj, pool);
  }

  throttled(queue: string, reason: ThrottleReason): void {
    this.metrics.claimsThrottled.inc({ queue, reason });
  }

  // ---- callbacks of the writer and the loops ----
  preparedUnavailable(err: unknown): boolean {
    if (!isPreparedStatementError(err)) return false;
    // a claim already in flight when another switched: just retry (unnamed statements cannot fail so)
    if (this.claimExec === this.exec) return this.preparedTried;
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
    this.outcomes.leasesChecked(sent, held);
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
    this.outcomes.release([...this.pools.values()].flatMap((p) => p.stop()));
    await this.waitIdle(this.settings.shutdownGraceMs);
    const left = [...this.held.values()].filter((aj) => aj.state === 'running');
    if (left.length > 0) {
      this.outcomes.release(left);
      this.log.info({ released: left.length }, `released ${left.length} unfinished job(s) for other workers`);
    }
    this.stallMonitor?.stop();
    await bounded(this.writer.drain(), 10_000);
    const abandoned = this.writer.abandon();
    if (abandoned > 0)
      this.log.warn(
        { count: abandoned },
        'database unreachable at shutdown: outcomes not written; those jobs will be reclaimed when their lease expires',
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
    this.outcomes.release(jobs); // never started: deferred, not counted
  }
}
