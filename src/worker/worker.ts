// The worker's composition root and lifecycle: it builds the parts (pools, runner, outcomes, writer,
// heartbeat, reaper, listener), each given the collaborators it uses, then starts, stops and reports them.
// Data flows between the parts directly: claim (queue-pool) → run (job-runner) → decide (outcomes) →
// write (outcome-writer) → book (outcomes); the heartbeat and the reaper answer to outcomes.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { connect, type Database, type Executor } from '../db/connect.js';
import { Listener } from '../db/listener.js';
import { isConnectionError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { DbHealth } from '../loop.js';
import { createMetrics, type Metrics } from '../metrics/metrics.js';
import { channelFor } from '../queue/index.js';
import { registerWorker, unregisterWorker, type WorkerRegistration } from '../queue/registry.js';
import { VERSION } from '../version.js';
import type { ActiveJob } from './active-job.js';
import { ClaimExecutor } from './claim-executor.js';
import { retryPolicyJson, withBuiltins } from './handlers.js';
import { startHeartbeat, startPoll, startReaper } from './heartbeat.js';
import { JobMetrics } from './job-metrics.js';
import { JobRunner } from './job-runner.js';
import { JobTransactions } from './job-transaction.js';
import {
  workerSettings,
  type WorkerOptions,
  type WorkerPhase,
  type WorkerSettings,
  type WorkerStats,
} from './options.js';
import { OutcomeWriter } from './outcome-writer.js';
import { Outcomes, bounded } from './outcomes.js';
import { QueuePools } from './queue-pools.js';
import { startStallMonitor } from './stall-monitor.js';
import { WriteGate } from './write-gate.js';

type Stoppable = { stop(): Promise<void> };

/** A jobq worker (see createWorker). */
export class Worker {
  /** `${hostname}-${pid}-${random}`: unique per process start, so a fence never matches a past run. */
  readonly id: string;
  readonly exec: Executor;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly settings: WorkerSettings;
  readonly registration: WorkerRegistration;
  /** Rejects when the worker gave up (too many runaway handlers); its supervisor should restart it. */
  readonly failure: Promise<never>;
  private failWith: ((err: Error) => void) | undefined;
  private readonly database: Database;
  private readonly ownsDatabase: boolean;
  private readonly health: DbHealth;
  /** Jobs whose lease this worker holds, by id (the runner adds them, outcomes removes them). */
  private readonly held = new Map<string, ActiveJob>();
  private readonly claims: ClaimExecutor;
  private readonly pools: QueuePools;
  private readonly runner: JobRunner;
  private readonly outcomes: Outcomes;
  private readonly writer: OutcomeWriter;
  private readonly transactions: JobTransactions;
  private readonly gate = new WriteGate();
  private readonly channel: string;
  private readonly cancelChannel: string;
  private phase: WorkerPhase = 'new';
  private listener: Listener | undefined;
  private heartbeatLoop: Stoppable | undefined;
  private reaperLoop: Stoppable | undefined;
  private poll: Stoppable | undefined;
  private stallMonitor: { stop(): void } | undefined;
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
    const st = (this.settings = workerSettings(opts, this.database.url));
    const handlers = withBuiltins(opts.handlers, st.backoff);
    const exec = (this.exec = this.database.exec);
    const id = (this.id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`);
    const log = (this.log = (opts.logger ?? silentLogger).child({ worker: id }));
    const metrics = (this.metrics = opts.metrics ?? createMetrics());
    const jm = new JobMetrics(metrics);
    const health = (this.health = new DbHealth(log));
    const held = this.held;
    this.failure = new Promise<never>((_, reject) => (this.failWith = reject));
    void this.failure.catch(() => undefined); // observed by the service; never an unhandled rejection
    this.claims = new ClaimExecutor(this.database, exec, log, opts.preparedStatements !== false);

    // The writer answers to outcomes, and its backlog going down lets the pools claim again.
    const totalSlots = [...st.queues.values()].reduce((a, b) => a + b, 0);
    const writer = (this.writer = new OutcomeWriter(
      {
        exec,
        workerId: id,
        gate: this.gate,
        health,
        defaults: { ...st.backoff, freeReleases: st.freeReleases },
        written: (aj, item, status) => outcomes.written(aj, item, status),
        refused: (aj, item, err) => outcomes.refusedItem(aj, item, err),
        backlogCleared: () => pools.pumpAll(),
      },
      Math.max(totalSlots, 100),
    ));
    const outcomes = (this.outcomes = new Outcomes({
      workerId: id,
      log,
      jm,
      held,
      maxResultBytes: st.maxResultBytes,
      writer,
    }));
    const transactions = (this.transactions = new JobTransactions({
      workerId: id,
      database: this.database,
      poolSize: st.transactionPoolSize,
      maxResultBytes: st.maxResultBytes,
      outcomes,
      jm,
    }));
    const runner = (this.runner = new JobRunner({
      workerId: id,
      exec,
      handlers,
      held,
      outcomes,
      jm,
      metrics,
      log,
      settings: st,
      transactions,
      unhealthy: (err) => this.giveUp(err),
    }));
    const pools = (this.pools = new QueuePools(
      st.queues,
      {
        workerId: id,
        claims: this.claims,
        health,
        settings: st,
        retryPolicy: retryPolicyJson(handlers),
        runner,
        outcomes,
        writer,
        jm,
      },
      () => this.phase === 'running',
    ));
    this.channel = channelFor(exec);
    this.cancelChannel = `${this.channel}:cancel`;
    this.registration = {
      id,
      host: hostname(),
      pid: process.pid,
      queues: Object.fromEntries(st.queues),
      types: [...handlers.keys()].sort(),
      version: VERSION,
      metricsUrl: opts.metricsUrl ?? null,
    };
  }

  /** Where claims run now: named prepared statements, or unnamed ones after a pooler refused them. */
  get claimExec(): Executor {
    return this.claims.current;
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
      queues: this.pools.stats(),
    };
  }

  /** Registers the worker and starts claiming. Throws NotMigratedError when the schema is missing. */
  async start(): Promise<void> {
    if (this.phase !== 'new') throw new Error('this worker was already started');
    const { exec, health, settings: st, pools, outcomes } = this;
    try {
      await registerWorker(exec, this.registration);
    } catch (err) {
      // Unreachable now: keep going; the heartbeat registers once the database answers.
      if (!isConnectionError(err)) throw err; // (translated at the SQL boundary)
      health.failed('registering the worker', err, Math.floor(st.leaseMs / 3));
    }
    if (this.stopping) return; // stop() was called while registering
    this.phase = 'running'; // claiming opens
    const common = { exec, health, leaseMs: st.leaseMs, outcomes, pools };
    this.heartbeatLoop = startHeartbeat({
      ...common,
      workerId: this.id,
      gate: this.gate,
      registration: this.registration,
      held: this.held,
    });
    this.reaperLoop = startReaper({ ...common, defaultBackoff: st.backoff });
    this.stallMonitor = startStallMonitor(st.stallThresholdMs, (ms) => this.runner.stalled(ms));
    if (st.listenUrl) {
      this.listener = new Listener({
        url: st.listenUrl,
        channels: [this.channel, this.cancelChannel],
        log: this.log,
        onNotify: (ch: string, payload: string) => this.notified(ch, payload),
        onConnected: () => pools.wakeAll(),
      });
      this.listener.start();
    }
    this.poll = startPoll(st.pollIntervalMs, () => pools.wakeAll());
    this.log.info(
      { queues: this.registration.queues, types: this.registration.types, leaseMs: st.leaseMs },
      'worker started',
    );
    pools.wakeAll();
  }

  /** NOTIFY: jobs ready in queues (payload: their names, '' for all), or cancel requests (job ids). */
  private notified(channel: string, payload: string): void {
    if (channel === this.channel) {
      if (payload === '') this.pools.wakeAll();
      else for (const q of payload.split(',')) this.pools.wake(q);
    } else if (channel === this.cancelChannel) this.outcomes.cancelRequested(payload.split(','));
  }

  /** Too many runaway handlers: stop claiming and fail, so the supervisor restarts the process. */
  private giveUp(err: Error): void {
    if (this.phase !== 'running') return;
    this.log.error({ runaways: this.runner.runaways }, err.message);
    this.phase = 'stopping'; // claiming closes
    this.failWith?.(err);
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
    const { pools, outcomes, writer, log, settings: st } = this;
    this.phase = 'stopping'; // claiming closes
    await this.poll?.stop();
    const running = pools.running();
    log.info(
      { running, graceMs: st.shutdownGraceMs },
      `stopping: no new claims; waiting up to ${st.shutdownGraceMs}ms for ${running} running job(s)`,
    );
    // Jobs claimed ahead never started: give them back at once.
    outcomes.release(await pools.stop());
    await pools.waitIdle(st.shutdownGraceMs);
    const left = [...this.held.values()].filter((aj) => aj.state === 'running');
    if (left.length > 0) {
      outcomes.release(left);
      log.info({ released: left.length }, `released ${left.length} unfinished job(s) for other workers`);
    }
    this.stallMonitor?.stop();
    await bounded(writer.drain(), 10_000);
    const abandoned = writer.abandon();
    if (abandoned > 0)
      log.warn(
        { count: abandoned },
        'database unreachable at shutdown: outcomes not written; those jobs will be reclaimed when their lease expires',
      );
    await this.heartbeatLoop?.stop();
    await this.reaperLoop?.stop();
    await this.listener?.stop();
    try {
      await unregisterWorker(this.exec, this.id);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not unregister the worker');
    }
    this.phase = 'stopped';
    await this.transactions.close();
    if (this.ownsDatabase) await this.database.close();
    log.info('worker stopped');
  }
}
