import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    globalSetup: ['test/setup/global.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    // expect.poll waits for something to become true (a page to render, a row to change); its 1 s default
    // is too short on a loaded 2-core machine. A poll that never succeeds still fails, after 10 s.
    expect: { poll: { timeout: 10_000, interval: 50 } },
  },
});
