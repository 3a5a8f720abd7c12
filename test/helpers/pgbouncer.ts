// A real PgBouncer (Debian package) in transaction mode in front of the test PostgreSQL, on a free port.
// It refuses to run as root, so it runs as the `postgres` OS user with its files in a directory of its own.
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/db/embedded.js';

export interface Bouncer {
  /** DATABASE_URL through PgBouncer. */
  url: string;
  /** PgBouncer's log so far. */
  log(): string;
  stop(): Promise<void>;
}

/** Starts PgBouncer (transaction pooling, poolSize server connections) in front of `url`. */
export async function startPgBouncer(url: string, opts: { poolSize?: number } = {}): Promise<Bouncer> {
  const u = new URL(url);
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'jobq-pgbouncer-'));
  const ini = path.join(dir, 'pgbouncer.ini');
  writeFileSync(path.join(dir, 'users.txt'), `"${decodeURIComponent(u.username || 'postgres')}" ""\n`);
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = host=${u.hostname} port=${u.port || '5432'}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'auth_type = trust',
      `auth_file = ${dir}/users.txt`,
      'pool_mode = transaction',
      `default_pool_size = ${opts.poolSize ?? 20}`,
      'max_client_conn = 2000',
      'unix_socket_dir =',
      `logfile = ${dir}/pgbouncer.log`,
      `pidfile = ${dir}/pgbouncer.pid`,
      '',
    ].join('\n'),
  );
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    for (const f of ['', 'pgbouncer.ini', 'users.txt']) chownSync(path.join(dir, f), uid, gid);
  }
  const child = asRoot
    ? spawn('su', ['postgres', '-s', '/bin/sh', '-c', `exec /usr/sbin/pgbouncer ${ini}`], { stdio: 'ignore' })
    : spawn('/usr/sbin/pgbouncer', [ini], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const readLog = (): string => {
    try {
      return readFileSync(path.join(dir, 'pgbouncer.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const deadline = Date.now() + 15_000;
  while (!/process up/.test(readLog())) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`pgbouncer did not start: ${readLog()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const through = new URL(url);
  through.hostname = '127.0.0.1';
  through.port = String(port);
  return {
    url: through.toString(),
    log: readLog,
    async stop() {
      try {
        const pid = Number(readFileSync(path.join(dir, 'pgbouncer.pid'), 'utf8').trim());
        if (pid) process.kill(pid, 'SIGTERM');
      } catch {
        child.kill('SIGTERM');
      }
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
