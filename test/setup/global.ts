// Vitest global setup: one PostgreSQL server for the whole run. TEST_DATABASE_URL or DATABASE_URL when
// set; otherwise an embedded PostgreSQL 16 in a temporary directory, stopped at the end. It also holds
// jobq's default ports (API 8000, /metrics 9464) for the whole run, when free: a test that depends on a
// fixed port being free fails here every time, instead of once in a while on a busy machine.
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbedded, type EmbeddedServer } from '../../src/db/embedded.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

let server: EmbeddedServer | undefined;
const portGuards: Server[] = [];

/** jobq's default ports: no test may need them. */
export const DEFAULT_PORTS = [8000, 9464];

async function holdPort(port: number): Promise<void> {
  const guard = createServer();
  // On every address (dual stack), so a later bind to 127.0.0.1 or 0.0.0.0 fails too. Taken already
  // (another run, another process) serves the purpose just as well.
  const held = await new Promise<boolean>((resolve) => {
    guard.once('error', () => resolve(false));
    guard.listen(port, () => resolve(true));
  });
  if (held) {
    guard.unref();
    portGuards.push(guard);
  }
}

export async function setup(project: TestProject): Promise<void> {
  for (const port of DEFAULT_PORTS) await holdPort(port);
  let url = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!url) {
    server = await startEmbedded({
      dataDir: mkdtempSync(path.join(tmpdir(), 'jobq-test-pg-')),
      persistent: false,
      fast: true,
    });
    url = server.url;
  }
  project.provide('databaseUrl', url);
}

export async function teardown(): Promise<void> {
  for (const g of portGuards) g.close();
  await server?.stop();
}
