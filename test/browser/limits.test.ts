// The dashboard's flow limits in a real headless Chromium against a real API and PostgreSQL: the limits
// panel lists each limited queue with its use, and its form sets, refuses (naming the field) and clears
// limits. Screenshots go to test/artifacts/.
import { mkdirSync } from 'node:fs';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claim, enqueueMany, listQueueLimits, setQueueLimits } from '../../src/queue/index.js';
import { freshDb } from '../helpers/db.js';
import { startApi, type RunningApi } from '../api/helpers.js';
import { hasChromium, launchChromium } from '../helpers/browser.js';

const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;

const db = await freshDb();
let api: RunningApi;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!hasChromium) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  await enqueueMany(
    db.exec,
    Array.from({ length: 6 }, (_, i) => ({ type: 'mail.send', queue: 'email', key: `k${i % 2}` })),
  );
  await setQueueLimits(db.exec, 'email', { concurrency: 2, rate: '10/s', burst: 20, perKeyConcurrency: 1 });
  await claim(db.exec, { queue: 'email', workerId: 'w1', limit: 5, leaseMs: 60_000, starvationMs: 60_000 });
  api = await startApi(db, { auth: 'none' });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

afterAll(async () => {
  if (!hasChromium) return;
  await browser.close();
  await api.close();
});

describe.skipIf(!hasChromium && !process.env.CI)('dashboard flow limits in Chromium', () => {
  it('shows each limited queue with running / limit, the rate with its tokens, and keys at their limit', async () => {
    await page.goto(`${api.url}/`);
    const row = page.locator('#flow-limits tr[data-limits="email"]');
    await expect.poll(() => row.count()).toBe(1);
    const text = (await row.textContent()) ?? '';
    expect(text).toContain('2 / 2'); // the claim of 5 took 2: the limit held
    expect(text).toContain('10/s, burst 20');
    expect(text).toContain('1 (2 of 2 at limit)'); // one job of each key runs: both keys are at 1
    await page.screenshot({ path: `${ARTIFACTS}dashboard-limits.png`, fullPage: true });
  });

  it('sets limits from the form, refuses an invalid one naming the field, and clears them', async () => {
    await page.fill('#flow-limits input[name=queue]', 'video');
    await page.fill('#flow-limits input[name=concurrency]', '3');
    await page.fill('#flow-limits input[name=perKeyConcurrency]', '1');
    await page.click('#flow-limits button[type=submit]');
    const row = page.locator('#flow-limits tr[data-limits="video"]');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain('0 / 3');
    expect(await row.textContent()).toContain('1 (0 of 0 at limit)');
    expect((await listQueueLimits(db.exec, 'video'))[0]).toMatchObject({
      concurrency: 3,
      perKeyConcurrency: 1,
    });

    await page.fill('#flow-limits input[name=rate]', 'lots');
    await page.click('#flow-limits button[type=submit]');
    await expect.poll(() => page.locator('body').textContent()).toContain('rate');
    expect((await listQueueLimits(db.exec, 'video'))[0]?.rate).toBeNull();

    await page.click('#flow-limits button:has-text("Clear limits")');
    await expect.poll(() => row.count()).toBe(0);
    expect(await listQueueLimits(db.exec, 'video')).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
