// Helpers for the scale tests: `jobq` daemons as real processes with default settings (nothing the
// test harness would normally set, such as JOBQ_METRICS_PORT=0), their output, and their exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll } from 'vitest';
import { JOBQ_BIN } from '../helpers/cli.js';
import { FIXTURE_HANDLERS } from '../worker/helpers.js';

export interface Daemon {
  child: ChildProcess;
  pid: number;
  output(): string;
  exited: Promise<number | null>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

const spawned: ChildProcess[] = [];
afterAll(() => {
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Spawns `jobq args…` with env over process.env minus every JOBQ_* the test runner may have set. */
export function spawnDaemon(
  args: string[],
  env: Record<string, string>,
  opts: { fixtureHandlers?: boolean } = {},
): Daemon {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('JOBQ_') && k !== 'PORT' && k !== 'QUEUE'),
  );
  const child = spawn(process.execPath, [JOBQ_BIN, ...args], {
    env: {
      ...base,
      JOBQ_LOG_LEVEL: 'info',
      ...(opts.fixtureHandlers === false ? {} : { JOBQ_HANDLERS: FIXTURE_HANDLERS }),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.push(child);
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    pid: child.pid ?? 0,
    output: () => out,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** The JSON log lines of a daemon's output. */
export function logLines(out: string): { level: number; msg: string; [k: string]: unknown }[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string });
}
