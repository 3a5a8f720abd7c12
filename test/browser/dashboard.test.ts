// The dashboard in a real headless Chromium (playwright-core driving Debian's chromium) against a real
// API and PostgreSQL: the token prompt, the overview, jobs with filters and paging, one job's payload and
// errors (escaped), retry and cancel from the page, bulk retry of dead letters, live refresh. Screenshots
// go to test/artifacts/ for humans.
import { mkdirSync } from 'node:fs';
import { sql } from 'kysely';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueue, enqueueMany, getJob } from '../../src/queue/index.js';
import { upsertSchedule } from '../../src/queue/schedules.js';
import { freshDb } from '../helpers/db.js';
import { seedJobs, startApi, type RunningApi, type Seeded } from '../api/helpers.js';
import { CHROMIUM, hasChromium, launchChromium } from '../helpers/browser.js';

const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;
const TOKEN = 'browser-token-71c3';

const db = await freshDb();
let api: RunningApi;
let browser: Browser;
let page: Page;
let seeded: Seeded;
const pageErrors: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: `${ARTIFACTS}dashboard-${name}.png`, fullPage: true });
}

const rows = () => page.locator('tbody tr[data-job-id]');

beforeAll(async () => {
  if (!hasChromium) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  await enqueueMany(
    db.exec,
    Array.from({ length: 55 }, (_, i) => ({ type: 'bulk.item', queue: 'bulk', payload: { i } })),
  );
  seeded = await seedJobs(db.exec);
  await upsertSchedule(db.exec, 'nightly-report', {
    cron: '0 3 * * *',
    timezone: 'Europe/Berlin',
    type: 'report.build',
    queue: 'default',
  });
  api = await startApi(db, { auth: 'required', env: { JOBQ_API_TOKENS: `ui:${TOKEN}` } });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('dialog', (d) => void d.accept());
});

afterAll(async () => {
  if (!hasChromium) return;
  await browser.close();
  await api.close();
});

describe.skipIf(!hasChromium && !process.env.CI)('dashboard in Chromium', () => {
  it('has chromium (required in CI)', () => {
    expect(hasChromium, `${CHROMIUM} is required in CI`).toBe(true);
  });

  it('asks for the token on 401, refuses a wrong one, then shows the overview', async () => {
    await page.goto(`${api.url}/`);
    await expect.poll(() => page.evaluate("document.getElementById('token-dialog').open")).toBe(true);
    await shot('token-prompt');
    // dismissing it leaves an "Enter token" button that brings the prompt back
    await page.click('#token-dialog [data-action=dismiss]');
    await expect.poll(() => page.locator('#token-button').textContent()).toBe('Enter token');
    expect(await page.evaluate("document.getElementById('token-dialog').open")).toBe(false);
    expect(await page.locator('#live-text').textContent()).toContain('token is required');
    await page.click('#token-button');
    await expect.poll(() => page.evaluate("document.getElementById('token-dialog').open")).toBe(true);
    await page.fill('#token-input', 'not-the-token');
    await page.click('#token-form button[type=submit]');
    await expect.poll(() => page.locator('#token-note').textContent()).toContain('not accepted');
    await page.fill('#token-input', TOKEN);
    await page.click('#token-form button[type=submit]');
    await expect.poll(() => page.locator('tr[data-queue]').count()).toBe(4);
    expect(await page.evaluate("sessionStorage.getItem('jobq.token')")).toBe(TOKEN);
    expect(await page.locator('tr[data-queue="email"]').textContent()).toContain('email');
    await shot('overview');
  });

  it('lists jobs with filters and keyset paging', async () => {
    await page.goto(`${api.url}/#/jobs`);
    await expect.poll(() => rows().count()).toBe(50);
    await page.click('[data-action=older]');
    await expect.poll(() => rows().count()).toBe(64 - 50);
    await page.click('[data-action=newer]');
    await expect.poll(() => rows().count()).toBe(50);
    await page.selectOption('#filter-status', 'DEAD');
    await expect.poll(() => rows().count()).toBe(1);
    expect(page.url()).toContain('status=DEAD');
    await page.click('button:has-text("Clear")');
    await page.fill('#filter-queue', 'video');
    await page.click('button:has-text("Apply")');
    await expect.poll(() => rows().count()).toBe(2);
    await page.fill('#filter-queue', '');
    await page.fill('#filter-type', 'demo.echo');
    await page.click('button:has-text("Apply")');
    await expect.poll(() => rows().count()).toBe(4);
    await shot('jobs-filtered');
    // an invalid filter shows the API's message instead of a broken table
    await page.goto(`${api.url}/#/jobs?queue=Not%20Valid`);
    await expect.poll(() => page.locator('.problem').textContent()).toContain('queue: expected a name');
  });

  it('opens a job and shows its payload (escaped) and every attempt’s error', async () => {
    await page.goto(`${api.url}/#/jobs?status=DEAD`);
    await expect.poll(() => rows().count()).toBe(1);
    await rows().first().click();
    await expect.poll(() => page.locator('#job-id').textContent()).toBe(seeded.dead);
    const payload = await page.locator('#job-payload').textContent();
    expect(payload).toContain('ops@example.com');
    expect(payload).toContain('<b>Weekly</b> report');
    expect(await page.locator('#job-payload b').count()).toBe(0);
    const errors = await page.locator('#job-errors').textContent();
    expect(errors).toContain('SMTP 421: service not available (attempt 1)');
    expect(errors).toContain('SMTP 421: service not available (attempt 2)');
    expect(await page.locator('.attempt').count()).toBe(2);
    expect(await page.textContent('main')).toContain('seed-worker-1');
    await shot('job-dead');
  });

  it('retries and cancels from the page', async () => {
    await page.click('.view-head [data-action=retry]');
    await expect.poll(async () => (await getJob(db.exec, seeded.dead)).status).toBe('PENDING');
    await expect.poll(() => page.locator('.view-head .badge').textContent()).toBe('PENDING');
    await page.click('.view-head [data-action=cancel]');
    await expect.poll(async () => (await getJob(db.exec, seeded.dead)).status).toBe('CANCELLED');
    await expect.poll(() => page.locator('.view-head .badge').textContent()).toBe('CANCELLED');
    await shot('job-cancelled');
    // and from a list row
    await page.goto(`${api.url}/#/jobs?type=demo.sleep`);
    await expect.poll(() => rows().count()).toBe(1);
    await rows().first().locator('[data-action=cancel]').click();
    await expect.poll(async () => (await getJob(db.exec, seeded.pending)).status).toBe('CANCELLED');
  });

  it('retries dead letters in bulk and refreshes live', async () => {
    await sql`UPDATE ${db.exec.t.jobs} SET status = 'DEAD', finished_at = now() WHERE type = 'demo.echo'`.execute(
      db.exec.raw,
    );
    await page.goto(`${api.url}/#/dead`);
    await expect.poll(() => rows().count()).toBe(4);
    await shot('dead');
    await page.click('#retry-all');
    await expect.poll(() => rows().count()).toBe(0);
    const dead = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM ${db.exec.t.jobs} WHERE status = 'DEAD'`.execute(db.exec.raw);
    expect(dead.rows[0]?.n).toBe(0);
    // live refresh: a job enqueued elsewhere appears without a reload
    await page.goto(`${api.url}/#/jobs?queue=live`);
    await expect.poll(() => page.locator('tr.empty').count()).toBe(1);
    await enqueue(db.exec, { type: 'arrives.later', queue: 'live' });
    await expect.poll(() => rows().count(), { timeout: 6000 }).toBe(1);
  });

  it('works without a token when auth is off (jobq dev)', async () => {
    const open = await startApi(db, { auth: 'none' });
    try {
      const fresh = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await fresh.goto(`${open.url}/#/jobs`);
      await expect.poll(() => fresh.locator('tbody tr[data-job-id]').count()).toBeGreaterThan(0);
      expect(await fresh.evaluate("document.getElementById('token-dialog').open")).toBe(false);
      expect(await fresh.locator('#token-button').isHidden()).toBe(true);
      await fresh.close();
    } finally {
      await open.close();
    }
  });

  it('shows workers and schedules', async () => {
    await page.goto(`${api.url}/#/workers`);
    await expect.poll(() => page.locator('main').textContent()).toContain('worker-7f9c');
    await shot('workers');
    await page.goto(`${api.url}/#/schedules`);
    await expect.poll(() => page.locator('main tbody').textContent()).toContain('nightly-report');
    expect(await page.locator('main tbody').textContent()).toContain('0 3 * * *');
    await shot('schedules');
    await page.goto(`${api.url}/#/overview`);
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect.poll(() => page.locator('tr[data-queue]').count()).toBeGreaterThan(0);
    await shot('overview-dark');
    expect(pageErrors).toEqual([]);
  });
});
