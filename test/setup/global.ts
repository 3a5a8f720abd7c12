// Vitest global setup: one PostgreSQL server for the whole run. TEST_DATABASE_URL or DATABASE_URL when
// set; otherwise an embedded PostgreSQL 16 in a temporary directory, stopped at the end.
import { mkdtempSync } from 'node:fs';
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

export async function setup(project: TestProject): Promise<void> {
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
  await server?.stop();
}
