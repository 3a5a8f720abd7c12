// Helpers for the scale tests: `jobq` daemons as real processes with default settings (nothing the
// test harness would normally set, such as JOBQ_METRICS_PORT=0), their output, and their exit.
import { spawnJobq, type Daemon } from '../helpers/daemon.js';

export type { Daemon };

/** Spawns `jobq args…` on its defaults: env over the runner's environment minus every JOBQ_*, PORT, QUEUE. */
export function spawnDaemon(
  args: string[],
  env: Record<string, string>,
  opts: { fixtureHandlers?: boolean } = {},
): Daemon {
  return spawnJobq(args, env, { ...opts, defaults: true });
}

/** The lines of a daemon's output that are not JSON log lines (what a person reads: errors, warnings). */
export function plainLines(out: string): string[] {
  return out
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('{'));
}

/** The JSON log lines of a daemon's output. */
export function logLines(out: string): { level: number; msg: string; [k: string]: unknown }[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string });
}
