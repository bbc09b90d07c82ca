/**
 * The manager's statistics in Chromium, in the real app: signaling serves the built web app, a
 * manager logs in through the login page, and opens Statistics from the "Views" nav of the app shell
 * (which mounts <dl-statistics>). The day's calls are written as the sip app's CallStore writes them,
 * and callbacks as its CallbackStore does. An employee has no Statistics view, and her session gets
 * 403 from GET /api/statistics.
 *
 * SCREENSHOT_DIR=/some/dir saves what the view looks like.
 */
import type { FastifyInstance } from 'fastify';
import type { Locator, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import type { CallView, CallbackView } from '@deskline/protocol';
import { dateIn, dayBounds } from '@deskline/signaling/services/clinic-day';
import { CallStore } from '@deskline/sip/calls/call-store';
import { CallbackStore } from '@deskline/sip/callbacks/callback-store';
import { board } from '../../helpers/board-page.js';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { createClinic, STAFF } from '../../helpers/clinic.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { buildTestApp } from '../../helpers/signaling.js';
import { logIn, screenshots } from '../../helpers/web-stack.js';
import { zoneAtNoon } from '../../helpers/clinic-zone.js';

/** Generous: another test run may share this machine's two cores. */
const TIMEOUT = 15_000;

let redis: TestRedis;
let db: Redis;
let app: FastifyInstance;
let base: string;
let browser: TestBrowser;
let today: string;
let yesterday: string;
const zone = zoneAtNoon();
const pageErrors: string[] = [];

test.before(async () => {
  redis = await startTestRedis();
  db = new Redis(redis.url);
  // The built web app (web/dist), as signaling serves it by default.
  app = await buildTestApp(redis.url, { CLINIC_TIME_ZONE: zone });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  // The statistics below know Ben by his full name.
  const {
    staff: { anna, ben },
  } = await createClinic(app, { staff: ['anna', 'ben', 'maria'], variants: { ben: { displayName: 'Ben Adams' } } });

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
      ? {
          ...line,
          id,
          state: 'ended',
          startedAt: at(9, minute),
          queuedAt,
          answeredAt: until,
          endedAt: until + 120_000,
          agentUserId: agent,
          workstationId: 'w',
        }
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
    // The call plan's endings (issue 15), after hours: each counted once, in its own column.
    { ...line, id: 'p1', state: 'closed', afterHours: true, startedAt: at(20, 0), endedAt: at(20, 0) + 9000 },
    { ...line, id: 'p2', state: 'callback-requested', startedAt: at(20, 10), endedAt: at(20, 10) + 15_000 },
    {
      ...line,
      id: 'p3',
      state: 'message-left',
      afterHours: true,
      voicemailId: 'vm-p3',
      startedAt: at(20, 20),
      endedAt: at(20, 20) + 40_000,
    },
    // Yesterday evening.
    { ...line, id: 'y1', state: 'abandoned', startedAt: start - 3_600_000, endedAt: start - 3_590_000 },
  ] satisfies CallView[]) {
    await calls.record(view);
  }
  const callbacks = new CallbackStore(db, 90);
  for (const callback of [
    {
      id: 'c1',
      taskId: 't1',
      number: line.from,
      userId: ben.id,
      workstationId: 'w',
      state: 'ended',
      outcome: 'answered',
      startedAt: at(11, 0),
      answeredAt: at(11, 0) + 9000,
      endedAt: at(11, 3),
    },
    {
      id: 'c2',
      taskId: 't2',
      number: line.from,
      userId: anna.id,
      workstationId: 'w',
      state: 'ended',
      outcome: 'busy',
      startedAt: at(11, 5),
      endedAt: at(11, 5) + 4000,
    },
  ] satisfies CallbackView[]) {
    await callbacks.record(callback);
  }
  browser = await launchBrowser();
});

test.after(async () => {
  await browser?.close();
  await app?.close();
  db?.disconnect();
  await redis?.stop();
});

/** Logs in through the login page, as a person does, in a fresh session. */
async function logInAfresh(email: string, password: string): Promise<Page> {
  return logIn(browser, base, email, password, { pageErrors, timeoutMs: TIMEOUT, fresh: true });
}

function views(page: Page): Locator {
  return page.getByRole('navigation', { name: 'Views' });
}

/** The texts of a table row, found by its header cell. */
async function row(page: Page, who: string): Promise<string[]> {
  const header = page.getByRole('rowheader', { name: who, exact: true });
  await header.waitFor({ timeout: TIMEOUT });
  return (await page.getByRole('row').filter({ has: header }).getByRole('cell').allTextContents()).map((text) =>
    text.trim(),
  );
}

const REASONS = [
  'Abandoned (hung up during the intro)',
  'Unanswered (hung up waiting or ringing)',
  'Heard the closed message',
  'Asked for a callback',
  'Left a voicemail message',
];

/** The "Calls not answered" table's counts, in REASONS' order (which it must show, in that order). */
async function notAnswered(page: Page, date: string): Promise<number[]> {
  const table = page.getByRole('table', { name: `Calls not answered on ${date}` });
  await table.waitFor({ timeout: TIMEOUT });
  const headers = (await table.getByRole('rowheader').allTextContents()).map((text) => text.trim());
  assert.equal(headers, REASONS);
  return (await table.getByRole('cell').allTextContents()).map((text) => Number(text.trim()));
}

/** The chart's accessible name, which lists the busy hours. */
function chartLabel(page: Page): Promise<string | null> {
  return page.getByRole('img', { name: /^Calls per hour on / }).getAttribute('aria-label', { timeout: TIMEOUT });
}

const screenshot = screenshots('statistics', { fullPage: true });

test("a manager logs in, opens Statistics from the Views nav, and sees today's figures: the clinic, then each person who answered or called back", async () => {
  const page = await logInAfresh(STAFF.maria.email, STAFF.maria.password);
  await page.getByRole('button', { name: 'Work without a workstation' }).click();
  await board(page).waitFor({ timeout: TIMEOUT });
  assert.equal(
    (await views(page).getByRole('button').allTextContents()).map((t) => t.trim()),
    [
      'Call board',
      'Contacts',
      'Staff',
      'Workstations',
      'Subjects',
      'Statistics',
      'Callback policy',
      'Call plan',
      'Prompts',
      'Distribution',
    ],
  );

  const statisticsButton = views(page).getByRole('button', { name: 'Statistics' });
  await statisticsButton.click();
  const table = page.getByRole('table', { name: `Calls on ${today} (${zone})` });
  await table.waitFor({ timeout: TIMEOUT });
  assert.is(await statisticsButton.getAttribute('aria-current'), 'page');
  assert.is(await board(page).count(), 0, 'the view replaces the call board');
  assert.is(await page.getByLabel('Day').inputValue(), today);
  //                          received answered not-answered callbacks outcomes          avg     p90
  assert.equal(await row(page, 'All calls'), ['10', '3', '7', '2', '1 answered, 1 busy', '0:49', '1:30']);
  assert.equal(await row(page, 'Anna Reception'), ['—', '2', '—', '1', '1 busy', '0:30', '0:40']);
  assert.equal(await row(page, 'Ben Adams'), ['—', '1', '—', '1', '1 answered', '1:05', '1:05']);
  // Why the 7 calls nobody answered ended so: each once.
  assert.equal(await notAnswered(page, today), [2, 2, 1, 1, 1]);
  const rowHeaders = await table.getByRole('rowheader').allTextContents();
  assert.equal(
    rowHeaders.map((t) => t.trim()),
    ['All calls', 'Anna Reception', 'Ben Adams'],
  );
  // At 1280×800, beside the queue, the table fits its container: nothing to scroll sideways.
  assert.equal(page.viewportSize(), { width: 1280, height: 800 });
  const fit = await table.evaluate((element) => ({
    scroll: element.parentElement!.scrollWidth,
    client: element.parentElement!.clientWidth,
  }));
  assert.ok(fit.scroll <= fit.client, `the table is ${fit.scroll} px wide in ${fit.client} px`);

  assert.is(
    await chartLabel(page),
    `Calls per hour on ${today}. 09:00: 5 received, 3 answered, 2 not answered; 10:00: 2 received, 0 answered, 2 not answered; 20:00: 3 received, 0 answered, 3 not answered.`,
  );
  assert.is(
    await page
      .getByRole('img', { name: /^Calls per hour on / })
      .locator('rect')
      .count(),
    72,
    'three bars for each of 24 hours',
  );
  assert.ok(await page.getByRole('button', { name: 'Next day' }).isDisabled(), 'no statistics of tomorrow');
  await screenshot(page, 'today');

  await page.getByRole('button', { name: 'Previous day' }).click();
  await page.getByRole('table', { name: `Calls on ${yesterday} (${zone})` }).waitFor({ timeout: TIMEOUT });
  assert.equal(await row(page, 'All calls'), ['1', '0', '1', '0', '—', '—', '—']);
  assert.is(
    await page
      .getByRole('table', { name: /^Calls on / })
      .getByRole('rowheader')
      .count(),
    1,
    'nobody answered or called back yesterday',
  );
  assert.equal(await notAnswered(page, yesterday), [1, 0, 0, 0, 0]);
  assert.is(await page.getByLabel('Day').inputValue(), yesterday);
  assert.is(await chartLabel(page), `Calls per hour on ${yesterday}. 23:00: 1 received, 0 answered, 1 not answered.`);
  assert.ok(await page.getByRole('button', { name: 'Next day' }).isEnabled(), 'today is after yesterday');

  await page.getByRole('button', { name: 'Next day' }).click();
  await table.waitFor({ timeout: TIMEOUT });
  assert.equal(await row(page, 'All calls'), ['10', '3', '7', '2', '1 answered, 1 busy', '0:49', '1:30']);
  assert.ok(await page.getByRole('button', { name: 'Next day' }).isDisabled());

  // A day picked in the field.
  await page.getByLabel('Day').fill('2020-01-01');
  await page.getByRole('table', { name: `Calls on 2020-01-01 (${zone})` }).waitFor({ timeout: TIMEOUT });
  assert.equal(await row(page, 'All calls'), ['0', '0', '0', '0', '—', '—', '—']);
  assert.is(await chartLabel(page), 'Calls per hour on 2020-01-01. No calls.');

  // Back to the call board, and to Statistics again: today first.
  await views(page).getByRole('button', { name: 'Call board' }).click();
  await board(page).waitFor({ timeout: TIMEOUT });
  assert.is(await page.getByRole('table', { name: /^Calls on / }).count(), 0);
  await statisticsButton.click();
  await table.waitFor({ timeout: TIMEOUT });
  assert.equal(await row(page, 'All calls'), ['10', '3', '7', '2', '1 answered, 1 busy', '0:49', '1:30']);

  // A new call is announced to screen readers in the Statistics view too, where no board is shown.
  await new CallStore(db).record({
    from: '+48600100999',
    line: '100',
    id: 'n1',
    state: 'intro',
    startedAt: Date.now(),
  });
  await page.getByRole('status').filter({ hasText: 'New call from +48600100999' }).waitFor({ timeout: TIMEOUT });
  assert.equal(pageErrors, []);
  await page.close();
});

test('an employee has only the board and Contacts in the Views nav, no Statistics; her session gets 403 from GET /api/statistics', async () => {
  const page = await logInAfresh(STAFF.anna.email, STAFF.anna.password);
  // An employee is asked to pick a workstation (there is none here); the call board is shown all the same.
  await page.getByRole('heading', { name: 'Choose your workstation to receive calls' }).waitFor({ timeout: TIMEOUT });
  await board(page).waitFor({ timeout: TIMEOUT });
  assert.equal(
    await views(page).getByRole('button').allInnerTexts(),
    ['Call board', 'Contacts'],
    'employees have the board and Contacts only',
  );
  assert.is(await page.getByRole('button', { name: 'Statistics' }).count(), 0);
  assert.is(await page.getByRole('table', { name: /^Calls on / }).count(), 0);
  const response = await page.evaluate(async () => {
    const answer = await fetch('/api/statistics', { credentials: 'same-origin' });
    return { status: answer.status, body: (await answer.json()) as { message?: string } };
  });
  assert.equal(response, { status: 403, body: { ...response.body, message: 'Only a manager may do this.' } });
  assert.equal(pageErrors, []);
  await page.close();
});

test.run();
