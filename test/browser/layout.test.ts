// The dashboard's layout at a laptop's 1280 px in a real Chromium: no column header is cut, an error
// message that fits the page is shown whole, and a schedule's "last job" shows that job's outcome as a
// link to it. Screenshots of every view go to test/artifacts/ for humans.
import { mkdirSync } from 'node:fs';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claim, enqueue, fail } from '../../src/queue/index.js';
import { runSchedule, upsertSchedule } from '../../src/queue/schedules.js';
import { freshDb } from '../helpers/db.js';
import { seedJobs, startApi, type RunningApi } from '../api/helpers.js';
import { hasChromium, launchChromium } from '../helpers/browser.js';

const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;
const NO_HANDLER =
  'no handler registered for type "invoice.render" on worker worker-7f9c (it knows: email.send)';

const db = await freshDb();
let api: RunningApi;
let browser: Browser;
let page: Page;
let scheduledJob = '';

beforeAll(async () => {
  if (!hasChromium) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  await seedJobs(db.exec);
  const { job } = await enqueue(db.exec, { type: 'invoice.render', queue: 'billing', maxAttempts: 1 });
  const [c] = await claim(db.exec, {
    queue: 'billing',
    workerId: 'w',
    limit: 1,
    leaseMs: 60_000,
    starvationMs: 3_600_000,
  });
  if (!c) throw new Error('no claim');
  await fail(db.exec, {
    id: job.id,
    attempt: c.attempt,
    workerId: 'w',
    error: new Error(NO_HANDLER),
    permanent: false,
    backoff: { baseMs: 1000, maxMs: 1000 },
  });
  await upsertSchedule(db.exec, 'nightly-report', {
    cron: '0 3 * * *',
    timezone: 'Europe/Berlin',
    type: 'report.build',
    queue: 'default',
  });
  scheduledJob = (
    await runSchedule(db.exec, 'nightly-report', { maxPayloadBytes: 1_048_576, defaultMaxAttempts: 5 })
  ).jobId;
  api = await startApi(db, { auth: 'none' });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
});

afterAll(async () => {
  if (!hasChromium) return;
  await browser.close();
  await api.close();
});

/** Header cells whose text does not fit their width. */
function cutHeaders(): Promise<string[]> {
  return page.evaluate(`[...document.querySelectorAll('th')]
    .filter((th) => th.offsetParent !== null && th.scrollWidth > th.clientWidth + 1)
    .map((th) => th.textContent + ' (' + th.scrollWidth + ' > ' + th.clientWidth + ')')`);
}

async function visit(view: string, ready: string): Promise<void> {
  await page.goto(`${api.url}/#/${view}`);
  await page.locator(ready).first().waitFor();
  await page.screenshot({ path: `${ARTIFACTS}layout-1280-${view.replace(/\W+/g, '-')}.png`, fullPage: true });
}

describe.skipIf(!hasChromium && !process.env.CI)('dashboard layout at 1280 px', () => {
  it.each([
    ['overview', 'table'],
    ['jobs', 'tbody tr[data-job-id]'],
    ['dead', 'tbody tr'],
    ['workers', 'tbody tr'],
    ['schedules', 'tbody tr'],
  ])('%s: no column header is cut', async (view, ready) => {
    await visit(view, ready);
    expect(await cutHeaders()).toEqual([]);
  });

  it('an error message that fits the page is shown whole: jobs, dead letters, recent failures', async () => {
    for (const view of ['jobs?queue=billing', 'dead', 'overview']) {
      await visit(view, 'tbody tr');
      // the message's own box: cut when its text needs more lines or width than it shows
      const cells: { text: string; cut: boolean }[] =
        await page.evaluate(`[...document.querySelectorAll('td, td .clamp')]
        .filter((el) => el.children.length === 0 && el.textContent.startsWith(${JSON.stringify(NO_HANDLER.slice(0, 20))}))
        .map((el) => ({
          text: el.textContent,
          cut: el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1,
        }))`);
      expect(cells.length, view).toBeGreaterThan(0);
      for (const c of cells) expect(c, view).toEqual({ text: NO_HANDLER, cut: false });
    }
  });

  it("a schedule's last job shows its outcome and links to it", async () => {
    await visit('schedules', 'tbody tr');
    const link = page.locator(`a[href="#/jobs/${scheduledJob}"]`);
    await expect.poll(() => link.count()).toBe(1);
    expect(await link.innerText()).toMatch(/PENDING/);
    await link.click();
    await expect.poll(() => page.evaluate('location.hash')).toBe(`#/jobs/${scheduledJob}`);
  });
});
