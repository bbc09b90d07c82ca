/**
 * The managers' Call plan view in Chromium, in the real app (docs/call-plan.md): signaling serves the
 * built web app over a real Redis; a manager opens Call plan from the Views nav, sets Monday–Friday
 * 08:00–16:00 and closes the weekend, adds a holiday, saves, reloads and finds it all; an overlapping
 * interval is refused with the server's words beside the form, the draft is kept and the saved plan
 * is unchanged; the preview of a Sunday says closed. An employee has no such view, and her session
 * gets 403 from the plan's route.
 *
 * SCREENSHOT_DIR=/some/dir saves what the view looks like.
 */
import type { FastifyInstance } from 'fastify';
import type { Locator, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CallPlan, CallPlanResponse } from '@deskline/protocol';
import { board } from '../../helpers/board-page.js';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { createClinic, STAFF } from '../../helpers/clinic.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { buildTestApp } from '../../helpers/signaling.js';
import { logIn, screenshots } from '../../helpers/web-stack.js';

/** Generous: another test run may share this machine's two cores. */
const TIMEOUT = 15_000;
const ZONE = 'Europe/Warsaw';
const WORKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'];

let redis: TestRedis;
let app: FastifyInstance;
let base: string;
let browser: TestBrowser;
const pageErrors: string[] = [];
const screenshot = screenshots('call-plan', { fullPage: true });
const holidayYear = new Date().getUTCFullYear() + 1;

test.before(async () => {
  redis = await startTestRedis();
  app = await buildTestApp(redis.url, { CLINIC_TIME_ZONE: ZONE });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  await createClinic(app, { staff: ['anna', 'maria'] });
  browser = await launchBrowser();
});

test.after(async () => {
  await browser?.close();
  await app?.close();
  await redis?.stop();
});

async function logInAfresh(email: string, password: string): Promise<Page> {
  await browser.context.clearCookies();
  return logIn(browser, base, email, password, { pageErrors, timeoutMs: TIMEOUT });
}

const views = (page: Page): Locator => page.getByRole('navigation', { name: 'Views' });

async function openCallPlan(page: Page): Promise<Locator> {
  await views(page).getByRole('button', { name: 'Call plan' }).click();
  const form = page.getByRole('region', { name: 'Call plan' });
  await form.getByLabel('Monday 1: from').waitFor({ timeout: TIMEOUT });
  return form;
}

/** The plan the server has, as the page's session reads it. */
async function savedPlan(page: Page): Promise<CallPlan> {
  return page.evaluate(async () => {
    const answer = await fetch('/api/settings/call-plan', { credentials: 'same-origin' });
    return ((await answer.json()) as CallPlanResponse).plan;
  });
}

test('a manager sets Mon–Fri 08:00–16:00, closes the weekend, adds a holiday, saves, and finds it after a reload', async () => {
  const page = await logInAfresh(STAFF.maria.email, STAFF.maria.password);
  await page.getByRole('button', { name: 'Work without a workstation' }).click();
  await board(page).waitFor({ timeout: TIMEOUT });
  let view = await openCallPlan(page);

  // Keyboard only for the first interval: type, Tab, type.
  await view.getByLabel('Monday 1: from').fill('08:00');
  await view.getByLabel('Monday 1: from').press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('16:00');
  await view.getByRole('button', { name: 'Copy Monday to Tuesday–Friday' }).click();
  for (const day of ['Saturday', 'Sunday'])
    await view.getByRole('button', { name: `Remove ${day} 00:00–24:00` }).click();
  await view.getByLabel('First day').fill(`${holidayYear}-12-25`);
  await view.getByLabel('Last day').fill(`${holidayYear}-12-26`);
  await view.getByLabel('Kind').selectOption('holiday');
  await view.getByLabel('Reason').fill('Christmas');
  await view.getByRole('button', { name: 'Add closure' }).click();
  await view.getByLabel('Announcement interval, in seconds').fill('30');
  await view.getByRole('button', { name: 'Save call plan' }).click();
  await view
    .getByRole('status')
    .filter({ hasText: 'Saved. The next call follows the new plan.' })
    .waitFor({ timeout: TIMEOUT });
  await screenshot(page, 'saved');

  const saved = await savedPlan(page);
  for (const day of ['mon', 'tue', 'wed', 'thu', 'fri'] as const)
    assert.equal(saved.hours[day], [{ start: '08:00', end: '16:00' }], day);
  assert.equal(saved.hours.sat, []);
  assert.equal(saved.hours.sun, []);
  assert.equal(saved.closures, [
    { from: `${holidayYear}-12-25`, to: `${holidayYear}-12-26`, kind: 'holiday', reason: 'Christmas' },
  ]);
  assert.is(saved.announcements.intervalSeconds, 30);

  await page.reload();
  await page.getByRole('button', { name: 'User menu' }).waitFor({ timeout: TIMEOUT });
  view = await openCallPlan(page);
  for (const day of WORKDAYS) {
    assert.is(await view.getByLabel(`${day} 1: from`).inputValue(), '08:00', day);
    assert.is(await view.getByLabel(`${day} 1: to`).inputValue(), '16:00', day);
  }
  assert.is(await view.getByLabel('Saturday 1: from').count(), 0, 'Saturday is closed');
  const closures = view.getByRole('table');
  assert.equal(
    (await closures.getByRole('row').nth(1).getByRole('cell').allTextContents()).map((t) => t.trim()).slice(0, 4),
    [`${holidayYear}-12-25`, `${holidayYear}-12-26`, 'Holiday', 'Christmas'],
  );
  assert.is(await view.getByLabel('Announcement interval, in seconds').inputValue(), '30');
  assert.equal(pageErrors, []);
  await page.close();
});

test("an overlapping interval shows the server's problem beside the form; the draft is kept and the saved plan is unchanged", async () => {
  const page = await logInAfresh(STAFF.maria.email, STAFF.maria.password);
  await page.getByRole('button', { name: 'Work without a workstation' }).click();
  const view = await openCallPlan(page);
  const before = await savedPlan(page);
  await view.getByRole('button', { name: 'Add an interval on Monday' }).click();
  await view.getByLabel('Monday 2: from').fill('15:00');
  await view.getByLabel('Monday 2: to').fill('18:00');
  await view.getByRole('button', { name: 'Save call plan' }).click();
  const problems = view.getByRole('alert').filter({ hasText: 'The call plan was not saved:' });
  await problems.waitFor({ timeout: TIMEOUT });
  assert.equal(
    (await problems.getByRole('listitem').allTextContents()).map((t) => t.trim()),
    ['Monday: 08:00–16:00 and 15:00–18:00 overlap.'],
  );
  await screenshot(page, 'refused');
  assert.is(await view.getByLabel('Monday 2: from').inputValue(), '15:00', 'the draft is kept');
  assert.equal(await savedPlan(page), before, 'the saved plan is unchanged');

  // Fixed in place, it saves.
  await view.getByLabel('Monday 2: from').fill('16:00');
  await view.getByRole('button', { name: 'Save call plan' }).click();
  await view.getByRole('status').filter({ hasText: 'Saved.' }).waitFor({ timeout: TIMEOUT });
  assert.is(await problems.count(), 0, 'the problems are gone');
  assert.equal((await savedPlan(page)).hours.mon, [
    { start: '08:00', end: '16:00' },
    { start: '16:00', end: '18:00' },
  ]);
  assert.equal(pageErrors, []);
  await page.close();
});

test('the preview of a Sunday says closed; of a Monday morning, what a waiting caller hears', async () => {
  const page = await logInAfresh(STAFF.maria.email, STAFF.maria.password);
  await page.getByRole('button', { name: 'Work without a workstation' }).click();
  const view = await openCallPlan(page);
  // 2030-01-06 is a Sunday, 2030-01-07 a Monday.
  await view.getByLabel('Date and time (clinic time)').fill('2030-01-06T10:00');
  await view.getByRole('button', { name: 'Preview', exact: true }).click();
  const result = page.locator('#preview-result');
  await result.getByText('Closed', { exact: true }).waitFor({ timeout: TIMEOUT });
  assert.equal(
    (await result.getByRole('listitem').allTextContents()).map((t) => t.trim()),
    ['the closed message (outside the opening hours)', 'the clinic hangs up'],
  );
  await view.getByLabel('Date and time (clinic time)').fill('2030-01-07T09:00');
  await view.getByRole('button', { name: 'Preview', exact: true }).click();
  await result.getByText('Open', { exact: true }).waitFor({ timeout: TIMEOUT });
  assert.equal(
    (await result.getByRole('listitem').allTextContents()).map((t) => t.trim()),
    ['the intro', 'hold music with the position and the expected wait every 30 s'],
  );
  await view.getByLabel('Date and time (clinic time)').fill(`${holidayYear}-12-25T10:00`);
  await view.getByRole('button', { name: 'Preview', exact: true }).click();
  await result.getByRole('listitem').getByText('the closed message (Christmas)').waitFor({ timeout: TIMEOUT });
  assert.equal(
    (await result.getByRole('listitem').allTextContents()).map((t) => t.trim()),
    ['the closed message (Christmas)', 'the clinic hangs up'],
  );
  assert.equal(pageErrors, []);
  await page.close();
});

test('an employee has no Call plan view; her session gets 403 from the plan and its preview', async () => {
  const page = await logInAfresh(STAFF.anna.email, STAFF.anna.password);
  await board(page).waitFor({ timeout: TIMEOUT });
  assert.equal(
    await views(page).getByRole('button').allInnerTexts(),
    ['Call board', 'Contacts'],
    'employees have the board and Contacts only',
  );
  assert.is(await page.getByRole('button', { name: 'Call plan' }).count(), 0);
  assert.is(await page.getByLabel('Monday 1: from').count(), 0);
  const statuses = await page.evaluate(async () =>
    Promise.all(
      ['/api/settings/call-plan', '/api/settings/call-plan/preview'].map(
        async (url) => (await fetch(url, { credentials: 'same-origin' })).status,
      ),
    ),
  );
  assert.equal(statuses, [403, 403]);
  assert.equal(pageErrors, []);
  await page.close();
});

test.run();
