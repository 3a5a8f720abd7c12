// The worker: per-queue slot pools fed by batched claims (woken by LISTEN, a jittered poll and full
// batches), handlers run with a context and an AbortSignal, outcomes written fenced (completions batched),
// leases renewed by one heartbeat statement, expired leases reclaimed, cancel requests honoured, and a
// graceful stop that releases what did not finish within the grace period.
import { hostname } from 'node:os';
import type { Transaction } from 'kysely';
import { connect, Executor, type Database } from '../db/connect.js';
import { LeaseLostError, isConnectionError, translateDbError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { createMetrics, type Metrics } from '../metrics/metrics.js';
import {
  completeMany,
  fail,
  finishCancelled,
  release,
  type ClaimedJob,
  type Reclaimed,
} from '../queue/index.js';
import { channelFor } from '../sql/jobs.js';
import { workerUnregister } from '../sql/workers.js';
import { VERSION } from '../version.js';
import {
  ActiveJob,
  JobCancelledError,
  JobContext,
  JobTimeoutError,
  WorkerShutdownError,
  type ContextHost,
  type JobState,
} from './active-job.js';
import { Completer, type CompleterHost } from './completer.js';
import { Backoff, DbHealth } from './db-retry.js';
import { withBuiltins, unknownTypeMessage } from './handlers.js';
import { register, startHeartbeat, startReaper, type HeartbeatHost, type Registration } from './heartbeat.js';
import { JobMetrics } from './job-metrics.js';
import { Listener } from './listener.js';
import { workerSettings, type WorkerOptions, type WorkerSettings } from './options.js';
import { isPreparedStatementError, preparedExecutor } from './prepared.js';
import { QueuePool, type PoolHost } from './queue-pool.js';
import type { ResolvedHandler } from './types.js';
import { WriteGate } from './write-gate.js';
import { randomBytes } from 'node:crypto';

type Phase = 'new' | 'running' | 'stopping' | 'stopped';

export interface WorkerStats {
  id: string;
  phase: Phase;
  /** Jobs whose lease this worker holds (running, or outcome being written). */
  held: number;
  pendingCompletions: number;
  /** The LISTEN connection is up. */
  listening: boolean;
  queues: {
    name: string;
    slots: number;
    running: number;
    claims: number;
    claimsInFlight: number;
    waiting: number;
  }[];
}

/** True for errors meant to skip the remaining attempts (PermanentError, also across module copies). */
function isPermanent(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; code?: unknown };
  return e.name === 'PermanentError' || e.code === 'PERMANENT';
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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
  readonly registration: Registration;
  private readonly database: Database;
  private readonly ownsDatabase: boolean;
  private readonly pools = new Map<string, QueuePool>();
  private readonly held = new Map<string, ActiveJob>();
  private readonly completer: Completer;
  private readonly jm: JobMetrics;
  private readonly channel: string;
  private readonly cancelChannel: string;
  private phase: Phase = 'new';
  private hardStopped = false;
  private listener: Listener | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private heartbeatLoop: { stop(): Promise<void>; beat(): Promise<void> } | undefined;
  private reaperLoop: { stop(): Promise<void> } | undefined;
  private txDb: Database | undefined;
  private readonly writes = new Set<Promise<unknown>>();
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
        onNotify: (ch, payload) => this.notified(ch, payload),
        onConnected: () => this.wakeAll(),
      });
      this.listener.start();
    }
    this.schedulePoll();
    this.log.info(
      { queues: this.registration.queues, types: this.registration.types, leaseMs: this.leaseMs },
      'worker started',
    );
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const p of this.pools.values()) p.wake();
  }

  private schedulePoll(): void {
    if (this.phase !== 'running') return;
    // ±50% jitter: idle workers started together do not poll in lockstep.
    const d = Math.round(this.settings.pollIntervalMs * (0.5 + Math.random()));
    this.pollTimer = setTimeout(() => {
      this.wakeAll();
      this.schedulePoll();
    }, d);
  }

  private notified(channel: string, payload: string): void {
    if (channel === this.channel) {
      if (this.phase !== 'running') return;
      if (payload === '') return this.wakeAll();
      for (const q of payload.split(',')) this.pools.get(q)?.wake();
    } else if (channel === this.cancelChannel) {
      for (const id of payload.split(',')) {
        const aj = this.held.get(id);
        if (aj) this.cancel(aj);
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
      else this.failAttempt(aj, new Error(unknownTypeMessage(job.type, this.id, this.handlers.keys())));
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
      else this.failAttempt(aj, value);
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
    this.failAttempt(aj, err);
  }

  /** Records a failed attempt (fenced): RETRY with backoff, or DEAD. */
  private failAttempt(aj: ActiveJob, err: unknown): void {
    aj.state = 'writing';
    const permanent = isPermanent(err);
    const { job, spec } = aj;
    const write = this.persist('recording a failed attempt', () =>
      fail(this.exec, {
        id: job.id,
        attempt: job.attempt,
        workerId: this.id,
        error: err,
        permanent,
        backoff: spec?.backoff ?? this.settings.backoff,
        ...(spec?.maxAttempts !== undefined ? { maxAttempts: spec.maxAttempts } : {}),
      }),
    ).then((status) => {
      if (status === null) this.refused(aj, 'failure');
      else if (status !== undefined) {
        this.jm.finished(aj.queue, job.type, status);
        this.log.warn(
          {
            jobId: job.id,
            type: job.type,
            attempt: job.attempt,
            status,
            err: (err as Error | undefined)?.message,
          },
          status === 'DEAD' ? 'attempt failed; job is DEAD' : 'attempt failed; will retry',
        );
      }
      this.finish(aj);
    });
    this.track(write);
  }

  /** Cancel requested while running (or waiting for a slot): the signal fires, the job ends CANCELLED (fenced). */
  private cancel(aj: ActiveJob): void {
    if (aj.state !== 'running' && aj.state !== 'queued') return;
    aj.state = 'writing';
    aj.abort(new JobCancelledError(aj.id));
    const write = this.persist('recording a cancellation', () =>
      finishCancelled(this.exec, this.id, aj.fence),
    ).then((ok) => {
      if (ok === true) {
        this.jm.finished(aj.queue, aj.job.type, 'CANCELLED');
        this.log.info({ jobId: aj.id, type: aj.job.type }, 'job cancelled while running');
      } else if (ok === false) this.refused(aj, 'cancellation');
      this.finish(aj);
    });
    this.track(write);
  }

  /** Retries a write while the database is unreachable; undefined when it gave up. */
  private async persist<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    const backoff = new Backoff();
    for (;;) {
      try {
        const r = await fn();
        this.health.ok();
        return r;
      } catch (err) {
        if (!isConnectionError(err)) {
          this.log.error({ err, what }, `${what} failed; the lease will expire and the job be reclaimed`);
          return undefined;
        }
        if (this.hardStopped) return undefined;
        const delay = backoff.next();
        this.health.failed(what, err, delay);
        await sleep(delay);
      }
    }
  }

  private track(p: Promise<unknown>): void {
    this.writes.add(p);
    void p.finally(() => this.writes.delete(p));
  }

  private finish(aj: ActiveJob): void {
    aj.state = 'finished';
    if (this.held.get(aj.id) === aj) this.held.delete(aj.id);
  }

  private countLost(aj: ActiveJob): void {
    if (aj.lostCounted) return;
    aj.lostCounted = true;
    this.jm.leaseLost(aj.queue, aj.job.type);
  }

  private refused(aj: ActiveJob, what: string): void {
    this.countLost(aj);
    this.log.warn(
      { jobId: aj.id, type: aj.job.type, attempt: aj.job.attempt },
      `${what} of job ${aj.id} refused: this worker lost its lease (the job was reclaimed, released or finished elsewhere); not recorded`,
    );
  }

  private lost(aj: ActiveJob): void {
    this.finish(aj);
    aj.abort(new LeaseLostError(aj.id));
    this.countLost(aj);
    this.log.warn(
      { jobId: aj.id, type: aj.job.type, attempt: aj.job.attempt },
      `lost the lease on job ${aj.id} (it expired and was reclaimed); its signal fired and its outcome will not be recorded`,
    );
  }

  // ---- callbacks of the completer and the loops ----
  completed(aj: ActiveJob, recorded: boolean): void {
    if (recorded) this.jm.finished(aj.queue, aj.job.type, 'COMPLETED');
    else this.refused(aj, 'completion');
    this.finish(aj);
  }

  unstorable(aj: ActiveJob, err: unknown): void {
    const msg = err instanceof Error ? err.message : String(err);
    this.failAttempt(aj, new Error(`could not store the job's result: ${msg}`));
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
      if (cancelRequested === undefined) this.lost(aj);
      else if (cancelRequested) this.cancel(aj);
    }
  }

  reclaimed(rows: Reclaimed[]): void {
    for (const r of rows) {
      this.jm.reclaimed(r.queue, r.type, r.status);
      if (r.status === 'RETRY') this.pools.get(r.queue)?.wake();
      const mine = r.lockedBy === this.id ? this.held.get(r.id) : undefined;
      if (mine?.state === 'running' || mine?.state === 'queued') this.lost(mine);
    }
    this.log.info(
      { count: rows.length, from: [...new Set(rows.map((r) => r.lockedBy))] },
      `reclaimed ${rows.length} job(s) whose lease expired`,
    );
  }

  /** ctx.transaction: fn's writes and the fenced completion commit together. */
  async transaction<R>(aj: ActiveJob, fn: (trx: Transaction<unknown>) => Promise<R>): Promise<R> {
    if (aj.txUsed)
      throw new Error('ctx.transaction can be called once per attempt: the job completes when it commits');
    aj.txUsed = true;
    if (aj.state !== 'running') throw aj.abortReason ?? new LeaseLostError(aj.id);
    this.txDb ??= connect({
      url: this.database.url,
      schema: this.exec.schema,
      max: this.settings.transactionPoolSize,
      applicationName: 'jobq-worker-tx',
    });
    const txDb = this.txDb;
    const fence = { failed: false };
    try {
      const result = await txDb.exec.raw.transaction().execute(async (trx) => {
        const r = await fn(trx as unknown as Transaction<unknown>);
        if (aj.state !== 'running') throw aj.abortReason ?? new LeaseLostError(aj.id);
        aj.state = 'committing';
        const done = await completeMany(new Executor(trx, txDb.schema), this.id, [
          { ...aj.fence, result: r },
        ]);
        if (!done.has(aj.id)) {
          fence.failed = true;
          throw new LeaseLostError(aj.id);
        }
        return r;
      });
      aj.completedInTx = true;
      this.finish(aj);
      this.jm.finished(aj.queue, aj.job.type, 'COMPLETED');
      return result;
    } catch (err) {
      // (aj.state changes inside the callback; TypeScript's narrowing above does not see that.)
      if ((aj.state as JobState) === 'committing') {
        if (fence.failed) {
          this.lost(aj);
        } else aj.state = 'running'; // rolled back (or commit outcome unknown: the fenced fail decides)
      }
      throw err;
    }
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
    clearTimeout(this.pollTimer);
    const running = this.runningCount();
    this.log.info(
      { running, graceMs: this.settings.shutdownGraceMs },
      `stopping: no new claims; waiting up to ${this.settings.shutdownGraceMs}ms for ${running} running job(s)`,
    );
    await Promise.all([...this.pools.values()].map((p) => p.claimsSettled()));
    // Jobs claimed ahead never started: give them back at once.
    const queued = [...this.pools.values()].flatMap((p) => p.stop());
    if (queued.length > 0) await this.releaseJobs(queued, 'claimed-ahead (not started)');
    await this.waitIdle(this.settings.shutdownGraceMs);
    const left = [...this.held.values()].filter((aj) => aj.state === 'running');
    if (left.length > 0) await this.releaseJobs(left, 'unfinished');
    await this.bounded(this.completer.drain(), 10_000);
    await this.bounded(Promise.allSettled([...this.writes]), 10_000);
    this.hardStopped = true;
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
      await workerUnregister(this.exec, this.id);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not unregister the worker');
    }
    this.phase = 'stopped';
    await this.txDb?.close();
    if (this.ownsDatabase) await this.database.close();
    this.log.info('worker stopped');
  }

  giveBack(jobs: ActiveJob[]): void {
    this.track(this.releaseJobs(jobs, 'claimed-ahead (waited too long for a slot)', 'debug'));
  }

  /** Fires the signals of the given jobs and hands them back (PENDING at once, attempt not counted). */
  private async releaseJobs(
    jobs: ActiveJob[],
    what: string,
    level: 'info' | 'debug' = 'info',
  ): Promise<void> {
    for (const aj of jobs) {
      this.finish(aj);
      aj.abort(new WorkerShutdownError());
    }
    const n = await this.bounded(
      this.persist('releasing jobs', () =>
        this.gate.runShared(() =>
          release(
            this.exec,
            this.id,
            jobs.map((aj) => aj.fence),
          ),
        ),
      ),
      10_000,
    );
    this.log[level]({ released: n ?? 0, what }, `released ${n ?? 0} ${what} job(s) for other workers`);
  }

  private bounded<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      p,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
    ]).finally(() => clearTimeout(timer));
  }
}
