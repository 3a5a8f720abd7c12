// The worker's periodic work: the heartbeat (every lease/3: one statement renews all held leases and
// reports lost leases and cancel requests, then the registry row), the reaper (~lease/2, jittered), the poll.
import type { Executor } from '../db/connect.js';
import { heartbeat, reclaimExpired, type BackoffOptions, type Reclaimed } from '../queue/index.js';
import { recordWorkerHeartbeat, registerWorker, type WorkerRegistration } from '../queue/registry.js';
import { startLoop, type DbHealth } from '../loop.js';
import type { WriteGate } from './write-gate.js';

/** What the heartbeat is given. */
export interface HeartbeatDeps {
  exec: Executor;
  workerId: string;
  health: DbHealth;
  gate: WriteGate;
  leaseMs: number;
  registration: WorkerRegistration;
  /** Jobs whose lease this worker holds, by id (their leases are renewed). */
  held: ReadonlyMap<string, unknown>;
  /** Gets the heartbeat's answer: `held` maps each still-held id to whether cancellation was requested. */
  outcomes: { leasesChecked(sent: string[], held: Map<string, boolean>): void };
  /** Handlers running now (recorded in the registry row). */
  pools: { running(): number };
}

/** Starts the heartbeat loop (leases + registry; re-registers when the worker's row was pruned). */
export function startHeartbeat(d: HeartbeatDeps): { stop(): Promise<void> } {
  const every = Math.max(50, Math.floor(d.leaseMs / 3));
  const tick = async (): Promise<void> => {
    const ids = [...d.held.keys()];
    if (ids.length > 0) {
      const rows = await d.gate.runExclusive(() => heartbeat(d.exec, d.workerId, ids, d.leaseMs));
      d.outcomes.leasesChecked(ids, new Map(rows.map((r) => [r.id, r.cancelRequested])));
    }
    if (!(await recordWorkerHeartbeat(d.exec, d.workerId, d.pools.running())))
      await registerWorker(d.exec, d.registration);
  };
  const loop = startLoop({
    name: 'heartbeat',
    health: d.health,
    firstDelayMs: every,
    maxBackoffMs: every,
    step: async () => {
      await tick();
      return every;
    },
  });
  return { stop: () => loop.stop() };
}

/** What the reaper is given. */
export interface ReaperDeps {
  exec: Executor;
  health: DbHealth;
  leaseMs: number;
  /** Retry backoff of reclaimed jobs whose claim recorded none. */
  defaultBackoff: BackoffOptions;
  /** Books reclaimed jobs (metrics, and the signal of any this worker still ran). */
  outcomes: { reclaimed(rows: Reclaimed[]): void };
  /** Jobs back in RETRY may be claimable: their queues' pools look. */
  pools: { wake(queue: string): void };
}

/** Starts the reaper loop (reclaims expired leases of any worker). */
export function startReaper(d: ReaperDeps): { stop(): Promise<void> } {
  const half = d.leaseMs / 2;
  const jittered = (): number => Math.round(half * (0.75 + Math.random() * 0.5));
  const tick = async (): Promise<void> => {
    for (;;) {
      const rows = await reclaimExpired(d.exec, 1000, d.defaultBackoff);
      if (rows.length > 0) {
        d.outcomes.reclaimed(rows);
        for (const q of new Set(rows.filter((r) => r.status === 'RETRY').map((r) => r.queue)))
          d.pools.wake(q);
      }
      if (rows.length < 1000) return;
    }
  };
  const loop = startLoop({
    name: 'reclaiming expired leases',
    health: d.health,
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
export function startPoll(intervalMs: number, tick: () => void): { stop(): Promise<void> } {
  const jittered = (): number => Math.round(intervalMs * (0.5 + Math.random()));
  return startLoop({
    name: 'poll',
    firstDelayMs: jittered(),
    step: () => {
      tick();
      return Promise.resolve(jittered());
    },
  });
}
