// Real `jobq` daemons as child processes (bin/jobq.js; build first): their output, their exit, a SIGTERM
// stop, and a kill -9 of any still running after the test file.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { JOBQ_BIN } from './cli.js';

/** The test handlers module the spawned daemons load by default. */
export const FIXTURE_HANDLERS = fileURLToPath(
  new URL('../fixtures/handlers/test-handlers.js', import.meta.url),
);

export interface Daemon {
  child: ChildProcess;
  pid: number;
  /** stdout + stderr so far (JSON log lines). */
  output(): string;
  exited: Promise<number | null>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

const spawned: ChildProcess[] = [];
afterAll(() => {
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export interface SpawnOptions {
  /**
   * Drop every JOBQ_*, PORT and QUEUE the test runner's environment carries, so the daemon runs on its
   * defaults except what `env` sets (default: keep them).
   */
  defaults?: boolean;
  /** Load FIXTURE_HANDLERS (default true). */
  fixtureHandlers?: boolean;
}

/** Spawns `jobq args…` at log level info, with env over the test runner's environment. */
export function spawnJobq(args: string[], env: Record<string, string>, opts: SpawnOptions = {}): Daemon {
  const base = opts.defaults
    ? Object.fromEntries(
        Object.entries(process.env).filter(([k]) => !k.startsWith('JOBQ_') && k !== 'PORT' && k !== 'QUEUE'),
      )
    : process.env;
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
