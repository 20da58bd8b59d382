import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { Workflow, Workflows } from '@mailroom/core';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';
import { compiledBroker, startProcess, type RunningProcess } from '../support/processes';

/**
 * The dashboard in headless Chromium (Debian's `chromium`; .ci/run installs it) against
 * the compiled broker: every page loads and shows what a person needs, a redrive and a
 * purge go through their confirmation step, and user-controlled text stays text.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/**
 * `npm test` on a machine without Chromium skips this file with a notice (the README's test
 * command needs only Node); CI (`CI=true`, where .ci/run installs it) never skips it.
 */
const skipped = !existsSync(CHROMIUM) && !process.env.CI;
if (skipped) console.warn(`Dashboard browser test skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH).`);
const SHOTS = join(__dirname, '..', '..', 'test-output', 'dashboard');
const XSS = '<img src=x onerror="window.hacked=1">';

const parcel = createMachine({
  id: 'parcel',
  initial: 'packing',
  states: {
    packing: { on: { PACKED: 'shipping' } },
    shipping: {
      initial: 'waiting',
      states: { waiting: { on: { PICKED: 'moving' } }, moving: {} },
      on: { DELIVERED: 'delivered' },
    },
    delivered: { type: 'final' },
  },
});

@Workflow(parcel)
@Injectable()
class ParcelWorkflow {}

let db: TestDatabase;
let app: INestApplicationContext;
let broker: RunningProcess;
let browser: Browser;
let page: Page;
let url: string;

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status, `${method} ${path}`).toBeLessThan(300);
  return response.json() as Promise<any>;
}

async function open(path: string, shot: string): Promise<void> {
  const response = await page.goto(`${url}${path}`);
  expect(response?.status()).toBe(200);
  await page.screenshot({ path: join(SHOTS, `${shot}.png`), fullPage: true });
}

const text = (selector: string) => page.locator(selector).innerText();

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  db = await createTestDatabase();
  // The app that owns the workflow's code, on the broker's database.
  app = await startNestApp(db.url, [ParcelWorkflow]);
  const workflows = app.get(Workflows);
  await workflows.start(ParcelWorkflow, 'parcel-1');
  await workflows.send(ParcelWorkflow, 'parcel-1', { type: 'PACKED' });
  broker = startProcess(compiledBroker(), { DATABASE_URL: db.url, PORT: '0', MAILROOM_AUTH: 'none' });
  const [, port] = await broker.waitForLine(/Listening on http:\/\/localhost:(\d+)/);
  url = `http://127.0.0.1:${port}`;

  await call('PUT', '/v1/queues/orders', {});
  await call('POST', '/v1/queues/orders/messages', {
    messages: [{ body: { note: XSS } }, { body: { n: 2 }, headers: { tenant: 'acme' } }, { body: { n: 3 } }],
  });
  const { messages } = await call('POST', '/v1/queues/orders/receive', { max: 1, consumer: 'billing' });
  await call('POST', '/v1/queues/orders/nack', {
    receipts: [messages[0].receipt],
    deadLetter: true,
    reason: `card declined ${XSS}`,
  });
  await call('POST', '/v1/queues/orders/receive', { max: 1, consumer: 'billing', leaseMs: 600_000 });
  await call('PUT', '/v1/topics/events', {});
  await call('PUT', '/v1/topics/events/subscriptions/audit', { routingKey: 'order.*', headers: { region: 'eu' } });

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('dialog', (dialog) => dialog.dismiss());
});

afterAll(async () => {
  await browser?.close();
  await broker?.kill('SIGTERM');
  await app?.close();
  await db?.drop();
});

describe.skipIf(skipped)('dashboard in a browser', () => {
  it('lists the queues with their depth and sparklines', async () => {
    await open('/dashboard', 'queues');
    expect(await page.title()).toBe('Queues · Mailroom');
    const row = page.locator('tr', { has: page.locator('a', { hasText: /^orders$/ }) });
    expect(await row.locator('td').allInnerTexts()).toEqual(expect.arrayContaining(['orders', 'active', '1']));
    expect(await row.locator('svg.spark').count()).toBe(3);
  });

  it('shows a queue: its messages, its dead letters with the failure, escaped', async () => {
    await page.click('a:text-is("orders")');
    await page.waitForURL(/\/dashboard\/queues\/orders$/);
    await page.screenshot({ path: join(SHOTS, 'queue.png'), fullPage: true });
    expect(await text('h1')).toBe('Queue orders');
    expect(await text('main')).toContain('"tenant": "acme"');
    const deadLetters = await text('main');
    expect(deadLetters).toContain('rejected');
    expect(deadLetters).toContain(`card declined ${XSS}`); // shown as text, not run
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { hacked?: number }).hacked)).toBeUndefined();
  });

  it('redrives the dead letters after a confirmation', async () => {
    await page.click('button:text("Redrive all…")');
    expect(await text('.warn')).toContain('Redrive 1 dead letter(s) of orders back to orders?');
    await page.screenshot({ path: join(SHOTS, 'redrive-confirm.png'), fullPage: true });
    await page.click('button:text("Confirm")');
    await page.waitForURL(/notice=/);
    expect(await text('[role=status]')).toBe('Redrove 1 dead letter(s) to orders.');
    expect(await text('main')).toContain('No dead letters.');
    const { stats } = await call('GET', '/v1/queues/orders');
    expect(stats.available).toBe(2);
  });

  it('refuses a form post made from another site (403), purging nothing', async () => {
    const before = (await call('GET', '/v1/queues/orders')).stats;
    const foreign: Record<string, string>[] = [{ origin: 'http://evil.example' }, { 'sec-fetch-site': 'cross-site' }];
    for (const headers of foreign) {
      const response = await fetch(`${url}/dashboard/queues/orders/purge`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'confirm=yes',
      });
      expect(response.status).toBe(403);
    }
    expect((await call('GET', '/v1/queues/orders')).stats).toEqual(before);
  });

  it('purges after a confirmation; cancelling purges nothing', async () => {
    await page.click('button:text("Purge messages…")');
    await page.click('a:text("Cancel")');
    expect((await call('GET', '/v1/queues/orders')).stats.available).toBe(2);
    await page.click('button:text("Purge messages…")');
    expect(await text('.warn')).toContain('Delete the 2 message(s) of orders that are not in flight?');
    await page.click('button:text("Confirm")');
    await page.waitForURL(/notice=/);
    await page.screenshot({ path: join(SHOTS, 'purged.png'), fullPage: true });
    expect(await text('[role=status]')).toBe('Purged 2 message(s) from orders.');
    const { stats } = await call('GET', '/v1/queues/orders');
    expect(stats).toMatchObject({ available: 0, inFlight: 1 });
  });

  it('shows topics with their subscriptions and filters', async () => {
    await open('/dashboard/topics', 'topics');
    const row = await page.locator('tr', { hasText: 'audit' }).locator('td').allInnerTexts();
    expect(row[0]).toBe('audit');
    expect(row).toContain('order.*');
    expect(row.join(' ')).toContain('"region": "eu"');
  });

  it('shows consumers and the leases they hold', async () => {
    await open('/dashboard/consumers', 'consumers');
    // Each pull receive has a lease of its own: the one still holding a message shows it.
    const rows = await page
      .locator('tbody tr', { hasText: 'billing' })
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 4).map((td) => td.textContent)));
    expect(rows).toContainEqual(['billing', 'orders', 'no', '1']);
  });

  it('shows workflow instances and the machine with the active states highlighted', async () => {
    await open('/dashboard/workflows', 'workflows');
    await page.click('a:text("parcel-1")');
    await page.waitForURL(/\/dashboard\/workflows\/parcel\/parcel-1$/);
    await page.screenshot({ path: join(SHOTS, 'workflow.png'), fullPage: true });
    expect(await text('main')).toContain('Status running');
    const active = await page.locator('.state.active').allInnerTexts();
    expect(active).toEqual(['parcel', 'shipping', 'waiting']);
    expect(await page.locator('.state').count()).toBe(6);
  });
});
