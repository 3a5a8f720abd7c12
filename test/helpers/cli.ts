// Runs the real `jobq` binary (bin/jobq.js → dist/) as a child process.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const JOBQ_BIN = fileURLToPath(new URL('../../bin/jobq.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `jobq args…` to completion with the given env (merged over process.env) and optional stdin. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  stdin?: string,
  timeoutMs = 30_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [JOBQ_BIN, ...args], {
      // No /metrics port unless a test asks for one: a fixed default port may be taken (see test/setup).
      env: { ...process.env, JOBQ_LOG_LEVEL: 'warn', JOBQ_METRICS_PORT: '0', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`jobq ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin.end(stdin);
    else child.stdin.end();
  });
}
