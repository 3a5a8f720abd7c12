// Signals and services: SIGTERM stops services in reverse order and exits 0, also while a service is
// still starting (e.g. a daemon waiting for its database). Real child processes, real signals.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = (startForever: boolean): string => `
  import { runUntilSignal } from ${JSON.stringify(fileURLToPath(new URL('../../src/lifecycle.ts', import.meta.url)))};
  import { silentLogger } from ${JSON.stringify(fileURLToPath(new URL('../../src/log.ts', import.meta.url)))};
  const svc = (name, start) => ({ name, start, stop: async () => console.log('stop ' + name) });
  await runUntilSignal([
    svc('a', async () => console.log('start a')),
    svc('b', ${startForever ? 'async () => { console.log("start b"); await new Promise(() => {}); }' : 'async () => console.log("start b")'}),
  ], silentLogger);
  console.log('done');
  process.exit(0);
`;

function run(startForever: boolean): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script(startForever)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('start b')) child.kill('SIGTERM');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`did not exit; output: ${out}`));
    }, 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('runUntilSignal', () => {
  it('SIGTERM stops started services in reverse order and exits 0', async () => {
    const { code, out } = await run(false);
    expect(code).toBe(0);
    expect(out.trim().split('\n')).toEqual(['start a', 'start b', 'stop b', 'stop a', 'done']);
  });

  it('SIGTERM while a service is still starting stops it and those before it', async () => {
    const { code, out } = await run(true);
    expect(code).toBe(0);
    expect(out.trim().split('\n')).toEqual(['start a', 'start b', 'stop b', 'stop a', 'done']);
  });
});
