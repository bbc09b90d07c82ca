/**
 * Subjects by category (issue 16) in Chromium, in the real app served by signaling over a real Redis:
 * Maria (manager) adds subjects under the categories, puts them in order by keyboard (Alt+Arrow, the
 * move announced to screen readers) and by dragging; Anna (employee) files her wrap-up tasks under
 * them on the call board, where the subjects are offered grouped by category in that order; Maria
 * retires one, and the statistics count the day's closed tasks per category, the retired subject's
 * included. The tasks come from patients' calls as the sip app reports them (the call-events stream,
 * projected by signaling into tasks).
 *
 * SCREENSHOT_DIR=/some/dir saves what the views look like.
 */
import type { FastifyInstance } from 'fastify';
import type { Locator, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import type { Subject } from '@deskline/protocol';
import { dateIn } from '@deskline/signaling/services/clinic-day';
import { board, openTab, taskOf } from '../../helpers/board-page.js';
import { wrapUpTask } from '../../helpers/board-tasks.js';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { createClinic, STAFF } from '../../helpers/clinic.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { buildTestApp } from '../../helpers/signaling.js';
import { waitFor } from '../../helpers/wait.js';
import { logIn, screenshots } from '../../helpers/web-stack.js';
import { zoneAtNoon } from '../../helpers/clinic-zone.js';

/** Generous: another test run may share this machine's two cores. */
const TIMEOUT = 15_000;
const PATIENTS = ['+48600100201', '+48600100202', '+48600100203'];

let redis: TestRedis;
let db: Redis;
let app: FastifyInstance;
let base: string;
let browser: TestBrowser;
let annaId: string;
const zone = zoneAtNoon();
const pageErrors: string[] = [];
const screenshot = screenshots('subjects-categories', { fullPage: true });

test.before(async () => {
  redis = await startTestRedis();
  db = new Redis(redis.url);
  app = await buildTestApp(redis.url, { CLINIC_TIME_ZONE: zone });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  const clinic = await createClinic(app, { staff: ['anna', 'maria'] });
  annaId = clinic.staff.anna.id;
  browser = await launchBrowser();
});

test.after(async () => {
  await browser?.close();
  await app?.close();
  db?.disconnect();
  await redis?.stop();
});

/** Logs in through the login page in a fresh session, and waits for the call board. */
async function logInAs(email: string, password: string): Promise<Page> {
  const page = await logIn(browser, base, email, password, { pageErrors, timeoutMs: TIMEOUT, fresh: true });
  // A manager may work without a workstation; an employee is asked for one (there is none here) and
  // sees the board all the same.
  if (email === STAFF.maria.email) await page.getByRole('button', { name: 'Work without a workstation' }).click();
  await board(page).waitFor({ timeout: TIMEOUT });
  return page;
}

async function openView(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name }).click();
}

/** A category's list in the Subjects view. */
function category(page: Page, name: string): Locator {
  return page.getByRole('region', { name: 'Subjects' }).getByRole('list', { name, exact: true });
}

/** The subjects a category lists, in the order a person reads them. */
async function namesIn(page: Page, name: string): Promise<string[]> {
  return category(page, name)
    .getByRole('listitem')
    .evaluateAll((items) => items.map((item) => item.getAttribute('aria-label') ?? ''));
}

/** Waits until a category lists `names`, in that order. */
async function shows(page: Page, name: string, names: string[]): Promise<void> {
  await waitFor(
    `${name} to list ${names.join(', ')}`,
    async () => {
      const listed = await namesIn(page, name);
      return listed.length === names.length && listed.every((n, i) => n === names[i]);
    },
    TIMEOUT,
  );
}

/** Where a person grabs a subject to drag it: its ⠿ handle, at the left of the row. */
async function byHandle(item: Locator): Promise<{ x: number; y: number }> {
  const box = await item.boundingBox();
  if (!box) throw new Error('the subject is not shown');
  return { x: 6, y: box.height / 2 };
}

/** What the server keeps: the category's subjects in use, in order. */
async function stored(categoryId: Subject['category']): Promise<string[]> {
  return (await app.subjects.list()).filter((s) => s.category === categoryId).map((s) => s.name);
}

test('a manager adds subjects under categories, orders them by keyboard and by drag, an employee files tasks under them, one is retired, and the statistics count each category', async () => {
  let maria = await logInAs(STAFF.maria.email, STAFF.maria.password);
  await openView(maria, 'Subjects');
  const admin = maria.getByRole('region', { name: 'Subjects' });
  for (const [name, group] of [
    ['Prices', 'Information'],
    ['Opening hours', 'Information'],
    ['Surgery date', 'Visit booked'],
  ] as const) {
    await admin.getByLabel('New subject').fill(name);
    await admin.getByLabel('Category', { exact: true }).selectOption({ label: group });
    await admin.getByRole('button', { name: 'Add subject' }).click();
    await admin.getByText(`Added “${name}” to ${group}.`).waitFor({ timeout: TIMEOUT });
  }
  await shows(maria, 'Information', ['Information', 'Prices', 'Opening hours']);
  await shows(maria, 'Visit booked', ['Visit booked', 'Surgery date']);
  await shows(maria, 'Visit not booked', ['Visit not booked']);

  // By keyboard: Alt+Arrow Up twice on "Opening hours"; each move is announced, and the keyboard stays on it.
  const hours = category(maria, 'Information').getByRole('listitem', { name: 'Opening hours' });
  await hours.focus();
  await maria.keyboard.press('Alt+ArrowUp');
  await admin.getByText('Moved “Opening hours” to place 2 of 3 in Information.').waitFor({ timeout: TIMEOUT });
  await shows(maria, 'Information', ['Information', 'Opening hours', 'Prices']);
  await maria.keyboard.press('Alt+ArrowUp');
  await admin.getByText('Moved “Opening hours” to place 1 of 3 in Information.').waitFor({ timeout: TIMEOUT });
  await shows(maria, 'Information', ['Opening hours', 'Information', 'Prices']);
  assert.ok(await hours.evaluate((item) => item.matches(':focus')), 'the moved subject keeps the keyboard focus');
  assert.is(
    await admin
      .locator('[aria-live]')
      .textContent()
      .then((text) => text?.trim()),
    'Moved “Opening hours” to place 1 of 3 in Information.',
  );
  // At the top, Alt+Arrow Up does nothing, and Move up is disabled.
  await maria.keyboard.press('Alt+ArrowUp');
  assert.ok(await admin.getByRole('button', { name: 'Move Opening hours up' }).isDisabled());
  assert.equal(await stored('information'), ['Opening hours', 'Information', 'Prices']);

  // By drag: "Prices" dropped on the upper half of "Opening hours" goes first.
  const prices = category(maria, 'Information').getByRole('listitem', { name: 'Prices' });
  await prices.dragTo(hours, { sourcePosition: await byHandle(prices), targetPosition: { x: 20, y: 3 } });
  await admin.getByText('Moved “Prices” to place 1 of 3 in Information.').waitFor({ timeout: TIMEOUT });
  await shows(maria, 'Information', ['Prices', 'Opening hours', 'Information']);
  // A subject cannot be dropped into another category.
  const surgery = category(maria, 'Visit booked').getByRole('listitem', { name: 'Surgery date' });
  await surgery.dragTo(prices, { sourcePosition: await byHandle(surgery), targetPosition: { x: 20, y: 3 } });
  await shows(maria, 'Information', ['Prices', 'Opening hours', 'Information']);
  await shows(maria, 'Visit booked', ['Visit booked', 'Surgery date']);
  // The Move down button moves it too.
  await admin.getByRole('button', { name: 'Move Visit booked down' }).click();
  await shows(maria, 'Visit booked', ['Surgery date', 'Visit booked']);
  await screenshot(maria, 'admin');

  // The order is the server's: another page opened afresh reads it.
  await maria.reload();
  await maria.getByRole('button', { name: 'User menu' }).waitFor({ timeout: TIMEOUT });
  await openView(maria, 'Subjects');
  await shows(maria, 'Information', ['Prices', 'Opening hours', 'Information']);
  await shows(maria, 'Visit booked', ['Surgery date', 'Visit booked']);
  assert.equal(await stored('information'), ['Prices', 'Opening hours', 'Information']);
  assert.equal(await stored('visit-booked'), ['Surgery date', 'Visit booked']);

  // Anna's three calls ended: three wrap-up tasks, which she files on the board.
  for (const patient of PATIENTS) await wrapUpTask(app, db, annaId, patient);
  const anna = await logInAs(STAFF.anna.email, STAFF.anna.password);
  const first = taskOf(anna, PATIENTS[0]!);
  await first.getByLabel('Subject').waitFor({ timeout: TIMEOUT });
  const groups = await first
    .getByLabel('Subject')
    .locator('optgroup')
    .evaluateAll((els) =>
      els.map((group) => ({
        label: group.getAttribute('label'),
        options: Array.from(group.querySelectorAll('option')).map((o) => o.textContent?.trim()),
      })),
    );
  assert.equal(groups, [
    { label: 'Information', options: ['Prices', 'Opening hours', 'Information'] },
    { label: 'Visit booked', options: ['Surgery date', 'Visit booked'] },
    { label: 'Visit not booked', options: ['Visit not booked'] },
  ]);
  for (const [patient, subject] of [
    [PATIENTS[0]!, 'Opening hours'],
    [PATIENTS[1]!, 'Prices'],
    [PATIENTS[2]!, 'Surgery date'],
  ] as const) {
    const card = taskOf(anna, patient);
    await card.getByLabel('Subject').selectOption({ label: subject });
    await card.getByText('Subject saved').waitFor({ timeout: TIMEOUT });
    await card.getByRole('button', { name: 'Close' }).click();
    await card.waitFor({ state: 'detached', timeout: TIMEOUT });
  }
  await board(anna).getByRole('tab', { name: 'Pending 0' }).waitFor({ timeout: TIMEOUT });
  await openTab(anna, 'Closed');
  await taskOf(anna, PATIENTS[0]!).getByText('Subject: Opening hours').waitFor({ timeout: TIMEOUT });

  // Maria retires "Opening hours": no longer offered, still counted.
  maria = await logInAs(STAFF.maria.email, STAFF.maria.password);
  await openView(maria, 'Subjects');
  await maria.getByRole('region', { name: 'Subjects' }).getByRole('button', { name: 'Retire Opening hours' }).click();
  await maria
    .getByRole('list', { name: 'Retired' })
    .getByRole('listitem', { name: 'Opening hours' })
    .waitFor({ timeout: TIMEOUT });
  await shows(maria, 'Information', ['Prices', 'Information']);

  await openView(maria, 'Statistics');
  const today = dateIn(zone, Date.now());
  const table = maria.getByRole('table', { name: `Tasks closed on ${today}, by subject category` });
  await table.waitFor({ timeout: TIMEOUT });
  const rows = await table
    .getByRole('row')
    .evaluateAll((trs) =>
      trs.map((tr) =>
        Array.from(tr.querySelectorAll('th, td')).map((cell) => (cell.textContent ?? '').trim().replace(/\s+/g, ' ')),
      ),
    );
  assert.equal(rows, [
    ['Category and subject', 'Tasks closed'],
    ['Information', '2'],
    ['Information: Prices', '1'],
    ['Information: Opening hours', '1'],
    ['Visit booked', '1'],
    ['Visit booked: Surgery date', '1'],
    ['Visit not booked', '0'],
  ]);
  // The subject rows are named for a screen reader with their category.
  await table.getByRole('rowheader', { name: 'Information: Opening hours' }).waitFor({ timeout: TIMEOUT });
  await screenshot(maria, 'statistics');
  assert.equal(pageErrors, []);
});

test('an employee has no Subjects view', async () => {
  const anna = await logInAs(STAFF.anna.email, STAFF.anna.password);
  assert.is(await anna.getByRole('button', { name: 'Subjects' }).count(), 0);
  assert.is(await anna.getByRole('region', { name: 'Subjects' }).count(), 0);
});

test.run();
