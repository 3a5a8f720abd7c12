// Headless Chromium for the dashboard tests: Debian's /usr/bin/chromium driven by playwright-core
// (which never downloads a browser), with the flags this closed-network machine needs.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Whether the browser is installed; outside CI a missing one skips the browser tests. */
export const hasChromium = existsSync(CHROMIUM);

/** Launches a fresh headless Chromium (its own empty profile). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
