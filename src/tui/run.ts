// Starts the `jobq top` terminal app and resolves when it exits (q or Ctrl-C). Loaded lazily by the CLI,
// so other commands do not pay for loading Ink and React.
import { render } from 'ink';
import { createElement } from 'react';
import { App } from './App.js';
import type { TopSource } from './source.js';

/** Renders the dashboard on the terminal until the user quits. */
export async function runTop(opts: { source: TopSource; intervalMs: number; label?: string }): Promise<void> {
  const app = render(createElement(App, opts), { exitOnCtrlC: true });
  await app.waitUntilExit();
}
