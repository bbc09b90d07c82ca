/**
 * The manager's statistics (<dl-statistics>) in Chromium, standalone: the app shell does not mount it
 * yet, so the test serves a page of its own holding just the element (bundled by esbuild from the
 * built web app, as the app bundles it) from signaling's web root, same origin as the API. The day's
 * calls are written as the sip app's CallStore writes them, and callbacks as the sip app keeps them.
 *
 * SCREENSHOT_DIR=/some/dir saves what the element looks like.
 */
import { mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { RedisKeys, SESSION_COOKIE, type CallView, type CallbackView } from '@deskline/protocol';
import { REPO_ROOT } from '@deskline/scripts/launch-config';
import { dateIn, dayBounds } from '@deskline/signaling/services/clinic-day';
import { CallStore } from '@deskline/sip/calls/call-store';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { buildTestApp, loginOk, type LoggedIn } from '../../helpers/signaling.js';

const TIMEOUT = 10_000;
const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>Statistics</title>
    <link rel="stylesheet" href="/base.css">
    <script type="module" src="/statistics.js"></script>
  </head>
  <body><main></main></body>
</html>`;

/** A fixed-offset zone where it is about noon now, so that the morning's calls are today's whenever the test runs. */
function zoneAtNoon(): string {
  const offset = 12 - new Date().getUTCHours();
  return offset === 0 ? 'Etc/GMT' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}

let redis: TestRedis;
let db: Redis;
let app: FastifyInstance;
let base: string;
let browser: TestBrowser;
let webRoot: string;
let manager: LoggedIn;
let employee: LoggedIn;
let today: string;
let yesterday: string;
const zone = zoneAtNoon();
const pageErrors: string[] = [];

test.before(async () => {
  webRoot = mkdtempSync(path.join(os.tmpdir(), 'deskline-statistics-'));
  const bundle = await build({
    stdin: {
      contents: `import './elements/dl-statistics.js';
        document.querySelector('main').append(document.createElement('dl-statistics'));`,
      resolveDir: path.join(REPO_ROOT, 'web/build'),
    },
    bundle: true,
    format: 'esm',
    target: 'chrome110',
    write: false,
    logLevel: 'silent',
  });
  writeFileSync(path.join(webRoot, 'statistics.js'), bundle.outputFiles[0]?.text ?? '');
  writeFileSync(path.join(webRoot, 'index.html'), PAGE);
  copyFileSync(path.join(REPO_ROOT, 'web/public/base.css'), path.join(webRoot, 'base.css'));

  redis = await startTestRedis();
  db = new Redis(redis.url);
  app = await buildTestApp(redis.url, { WEB_ROOT: webRoot, CLINIC_TIME_ZONE: zone });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  const anna = await app.users.create({ email: 'anna@clinic.example', displayName: 'Anna Reception', role: 'employee', password: 'Anna Reception password' });
  const ben = await app.users.create({ email: 'ben@clinic.example', displayName: 'Ben Adams', role: 'employee', password: 'Ben Adams password' });
  await app.users.create({ email: 'maria@clinic.example', displayName: 'Maria Manager', role: 'manager', password: 'Maria Manager password' });
  manager = await loginOk(app, 'maria@clinic.example', 'Maria Manager password');
  employee = await loginOk(app, 'anna@clinic.example', 'Anna Reception password');

  today = dateIn(zone, Date.now());
  const { start } = dayBounds(today, zone);
  yesterday = dateIn(zone, start - 1);
  const at = (hour: number, minute: number): number => start + (hour * 60 + minute) * 60_000;
  const calls = new CallStore(db);
  const line = { from: '+48600100200', line: '100' };
  /** A call that reached the queue at 09:mm and waited `waitS` seconds. */
  const queued = (id: string, minute: number, waitS: number, agent?: string): CallView => {
    const queuedAt = at(9, minute) + 8000;
    const until = queuedAt + waitS * 1000;
    return agent
      ? { ...line, id, state: 'ended', startedAt: at(9, minute), queuedAt, answeredAt: until, endedAt: until + 120_000, agentUserId: agent, workstationId: 'w' }
      : { ...line, id, state: 'abandoned', startedAt: at(9, minute), queuedAt, endedAt: until };
  };
  // Waits 20, 40 and 65 s answered; 30 and 90 s abandoned: average 49 s, 90th percentile 90 s.
  for (const view of [
    queued('a1', 0, 20, anna.id),
    queued('a2', 10, 40, anna.id),
    queued('b1', 20, 65, ben.id),
    queued('w1', 30, 30),
    queued('w2', 40, 90),
    { ...line, id: 'i1', state: 'abandoned', startedAt: at(10, 0), endedAt: at(10, 0) + 3000 },
    { ...line, id: 'i2', state: 'abandoned', startedAt: at(10, 5), endedAt: at(10, 5) + 2000 },
    // Yesterday evening.
    { ...line, id: 'y1', state: 'abandoned', startedAt: start - 3_600_000, endedAt: start - 3_590_000 },
  ] satisfies CallView[]) {
    await calls.record(view);
  }
  const callbacks: CallbackView[] = [
    { id: 'c1', taskId: 't1', number: line.from, userId: ben.id, workstationId: 'w', state: 'ended', outcome: 'answered', startedAt: at(11, 0), answeredAt: at(11, 0) + 9000, endedAt: at(11, 3) },
    { id: 'c2', taskId: 't2', number: line.from, userId: anna.id, workstationId: 'w', state: 'ended', outcome: 'busy', startedAt: at(11, 5), endedAt: at(11, 5) + 4000 },
  ];
  for (const callback of callbacks) {
    await db.set(RedisKeys.callback(callback.id), JSON.stringify(callback));
    await db.zadd(RedisKeys.callbacks, callback.startedAt, callback.id);
  }
  browser = await launchBrowser();
});

test.after(async () => {
  await browser?.close();
  await app?.close();
  db?.disconnect();
  await redis?.stop();
  if (webRoot) rmSync(webRoot, { recursive: true, force: true });
});

async function openAs(who: LoggedIn): Promise<Page> {
  await browser.context.clearCookies();
  await browser.context.addCookies([{ name: SESSION_COOKIE, value: who.cookie, url: base }]);
  const page = await browser.context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(base);
  return page;
}

/** The texts of a table row, found by its header cell. */
async function row(page: Page, who: string): Promise<string[]> {
  const header = page.getByRole('rowheader', { name: who, exact: true });
  await header.waitFor({ timeout: TIMEOUT });
  return (await page.getByRole('row').filter({ has: header }).getByRole('cell').allTextContents()).map((text) => text.trim());
}

async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env['SCREENSHOT_DIR'];
  if (dir) await page.screenshot({ path: path.join(dir, `statistics-${name}.png`), fullPage: true });
}

test("a manager sees today's figures: the whole clinic, then each person who answered or called back", async () => {
  const page = await openAs(manager);
  const table = page.getByRole('table', { name: `Calls on ${today} (${zone})` });
  await table.waitFor({ timeout: TIMEOUT });
  assert.is(await page.getByLabel('Day').inputValue(), today);
  //                          received answered intro waiting callbacks outcomes               avg     p90
  assert.equal(await row(page, 'All calls'), ['7', '3', '2', '2', '2', '1 answered, 1 busy', '0:49', '1:30']);
  assert.equal(await row(page, 'Anna Reception'), ['—', '2', '—', '—', '1', '1 busy', '0:30', '0:40']);
  assert.equal(await row(page, 'Ben Adams'), ['—', '1', '—', '—', '1', '1 answered', '1:05', '1:05']);
  const rowHeaders = await table.getByRole('rowheader').allTextContents();
  assert.equal(rowHeaders.map((t) => t.trim()), ['All calls', 'Anna Reception', 'Ben Adams']);

  const chart = page.getByRole('img', { name: /^Calls per hour on / });
  assert.is(
    await chart.getAttribute('aria-label'),
    `Calls per hour on ${today}. 09:00: 5 received, 3 answered, 2 abandoned; 10:00: 2 received, 0 answered, 2 abandoned.`,
  );
  assert.is(await chart.locator('rect').count(), 72, 'three bars for each of 24 hours');
  assert.ok(await page.getByRole('button', { name: 'Next day' }).isDisabled(), 'no statistics of tomorrow');
  await screenshot(page, 'today');

  await page.getByRole('button', { name: 'Previous day' }).click();
  await page.getByRole('table', { name: `Calls on ${yesterday} (${zone})` }).waitFor({ timeout: TIMEOUT });
  assert.equal(await row(page, 'All calls'), ['1', '0', '1', '0', '0', '—', '—', '—']);
  assert.is(await page.getByLabel('Day').inputValue(), yesterday);
  assert.is(await page.getByRole('img', { name: /^Calls per hour on / }).getAttribute('aria-label'), `Calls per hour on ${yesterday}. 23:00: 1 received, 0 answered, 1 abandoned.`);

  await page.getByRole('button', { name: 'Next day' }).click();
  await table.waitFor({ timeout: TIMEOUT });
  assert.equal(await row(page, 'All calls'), ['7', '3', '2', '2', '2', '1 answered, 1 busy', '0:49', '1:30']);

  // A day picked in the field.
  await page.getByLabel('Day').fill('2020-01-01');
  await page.getByRole('table', { name: `Calls on 2020-01-01 (${zone})` }).waitFor({ timeout: TIMEOUT });
  assert.equal(await row(page, 'All calls'), ['0', '0', '0', '0', '0', '—', '—', '—']);
  assert.is(await page.getByRole('img', { name: /^Calls per hour on / }).getAttribute('aria-label'), 'Calls per hour on 2020-01-01. No calls.');
  assert.equal(pageErrors, []);
  await page.close();
});

test("an employee's browser shows the server's refusal, and no figures", async () => {
  const page = await openAs(employee);
  const alert = page.getByRole('alert');
  await alert.waitFor({ timeout: TIMEOUT });
  assert.is((await alert.textContent())?.trim(), 'Only a manager may do this.');
  assert.is(await page.getByRole('table').count(), 0);
  assert.ok(await page.getByRole('button', { name: 'Try again' }).isVisible());
  await page.close();
});

test.run();
