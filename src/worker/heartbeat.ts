// The worker's periodic database work: the heartbeat (every lease/3: one statement renews all held leases
// and reports lost leases and cancel requests, then the registry row) and the reaper (~lease/2, jittered).
import type { Executor } from '../db/connect.js';
import { heartbeat, reclaimExpired, type Reclaimed } from '../queue/index.js';
import { recordWorkerHeartbeat, registerWorker, type WorkerRegistration } from '../queue/registry.js';
import { Backoff, type DbHealth } from './db-retry.js';
import type { WriteGate } from './write-gate.js';

export interface HeartbeatHost {
  readonly exec: Executor;
  readonly id: string;
  readonly health: DbHealth;
  readonly gate: WriteGate;
  readonly leaseMs: number;
  readonly registration: WorkerRegistration;
  /** Ids of every job whose lease this worker holds. */
  heldIds(): string[];
  /** The heartbeat answered: `held` maps each still-held id to whether cancellation was requested. */
  leasesChecked(sent: string[], held: Map<string, boolean>): void;
  runningCount(): number;
  reclaimed(rows: Reclaimed[]): void;
}

/** Registers the worker (also used to re-register after its row was pruned). */
export async function register(host: HeartbeatHost): Promise<void> {
  await registerWorker(host.exec, host.registration);
}

/** A self-rescheduling timer loop: runs `tick`, then waits `delay()` (or the backoff after a failure). */
class Loop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly backoff = new Backoff();

  constructor(
    private readonly what: string,
    private readonly health: DbHealth,
    private readonly delay: () => number,
    private readonly tick: () => Promise<void>,
  ) {}

  start(firstDelay: number): void {
    this.schedule(firstDelay);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().then(
        () => {
          this.backoff.reset();
          this.health.ok();
          this.schedule(this.delay());
        },
        (err: unknown) => {
          const d = Math.min(this.backoff.next(), this.delay());
          this.health.failed(this.what, err, d);
          this.schedule(d);
        },
      );
    }, ms);
  }

  /** Runs a tick now (e.g. a last heartbeat); errors are the caller's. */
  async runNow(): Promise<void> {
    await this.running;
    await this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}

/** Starts the heartbeat loop (leases + registry). */
export function startHeartbeat(host: HeartbeatHost): { stop(): Promise<void>; beat(): Promise<void> } {
  const every = Math.max(50, Math.floor(host.leaseMs / 3));
  const tick = async (): Promise<void> => {
    const ids = host.heldIds();
    if (ids.length > 0) {
      const rows = await host.gate.runExclusive(() => heartbeat(host.exec, host.id, ids, host.leaseMs));
      host.leasesChecked(ids, new Map(rows.map((r) => [r.id, r.cancelRequested])));
    }
    if (!(await recordWorkerHeartbeat(host.exec, host.id, host.runningCount()))) await register(host);
  };
  const loop = new Loop('heartbeat', host.health, () => every, tick);
  loop.start(every);
  return { stop: () => loop.stop(), beat: () => loop.runNow() };
}

/** Starts the reaper loop (reclaims expired leases of any worker). */
export function startReaper(host: HeartbeatHost): { stop(): Promise<void> } {
  const half = host.leaseMs / 2;
  const jittered = (): number => Math.round(half * (0.75 + Math.random() * 0.5));
  const tick = async (): Promise<void> => {
    for (;;) {
      const rows = await reclaimExpired(host.exec, 1000);
      if (rows.length > 0) host.reclaimed(rows);
      if (rows.length < 1000) return;
    }
  };
  const loop = new Loop('reclaiming expired leases', host.health, jittered, tick);
  loop.start(jittered());
  return { stop: () => loop.stop() };
}
