// The worker's periodic work (the poll fallback, and its periodic database work): the heartbeat (every lease/3: one statement renews all held leases
// and reports lost leases and cancel requests, then the registry row) and the reaper (~lease/2, jittered).
import type { Executor } from '../db/connect.js';
import { heartbeat, reclaimExpired, type BackoffOptions, type Reclaimed } from '../queue/index.js';
import { recordWorkerHeartbeat, registerWorker, type WorkerRegistration } from '../queue/registry.js';
import { startLoop, type DbHealth } from '../loop.js';
import type { WriteGate } from './write-gate.js';

export interface HeartbeatHost {
  readonly exec: Executor;
  readonly id: string;
  readonly health: DbHealth;
  readonly gate: WriteGate;
  readonly leaseMs: number;
  readonly registration: WorkerRegistration;
  /** Retry backoff of reclaimed jobs whose claim recorded none. */
  readonly defaultBackoff: BackoffOptions;
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
  const loop = startLoop({
    name: 'heartbeat',
    health: host.health,
    firstDelayMs: every,
    maxBackoffMs: every,
    step: async () => {
      await tick();
      return every;
    },
  });
  return { stop: () => loop.stop(), beat: () => loop.runNow() };
}

/** Starts the reaper loop (reclaims expired leases of any worker). */
export function startReaper(host: HeartbeatHost): { stop(): Promise<void> } {
  const half = host.leaseMs / 2;
  const jittered = (): number => Math.round(half * (0.75 + Math.random() * 0.5));
  const tick = async (): Promise<void> => {
    for (;;) {
      const rows = await reclaimExpired(host.exec, 1000, host.defaultBackoff);
      if (rows.length > 0) host.reclaimed(rows);
      if (rows.length < 1000) return;
    }
  };
  const loop = startLoop({
    name: 'reclaiming expired leases',
    health: host.health,
    firstDelayMs: jittered(),
    maxBackoffMs: half,
    step: async () => {
      await tick();
      return jittered();
    },
  });
  return { stop: () => loop.stop() };
}

/**
 * The poll fallback: wakes the pools every intervalMs ±50% (so idle workers started together do not poll
 * in step). It keeps the worker correct when NOTIFY never arrives and finds jobs ready by time.
 */
export function startPoll(intervalMs: number, health: DbHealth, tick: () => void): { stop(): Promise<void> } {
  const jittered = (): number => Math.round(intervalMs * (0.5 + Math.random()));
  return startLoop({
    name: 'poll',
    health,
    firstDelayMs: jittered(),
    step: () => {
      tick();
      return Promise.resolve(jittered());
    },
  });
}
