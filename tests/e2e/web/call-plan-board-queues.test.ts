/**
 * The board's queue filter and the call plan's statistics (issue 15, docs/call-board.md "Filtering by
 * queue", "Statistics"), end to end with real Redis, Kamailio, rtpengine, the sip app and signaling:
 * patients pick one of two queues with the keypad (RFC 4733 through rtpengine); in one queue a call is
 * answered by Ben's workstation, another asks for a callback; in the other a call waits and another
 * leaves a voicemail message. Anna, an employee in Chromium, filters the board by queue: the live
 * queue and every tab show only that queue's calls and tasks, and her choice is still there after a
 * reload. A call outside the opening hours (in no queue) shows under every queue. Then Maria, a
 * manager, sees the day's statistics: closed, asked for a callback and voicemail, each call once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_CALL_PLAN, WEEKDAYS, type CallPlan, type WeeklyHours } from '@deskline/protocol';
import { KEY_SPACING_MS } from '@deskline/sip/media/keypresses';
import { CallPlanStore } from '@deskline/store';
import { AgentPhone, type IncomingRing } from '../../helpers/agent-phone.js';
import { board, openTab, taskOf } from '../../helpers/board-page.js';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { CallEvents } from '../../helpers/call-events.js';
import { CLINIC_NUMBER, HOLD_MUSIC_HZ, PROMPT_TONES } from '../../helpers/call-path.js';
import { createClinic, STAFF } from '../../helpers/clinic.js';
import { PatientLine, type PatientDialog } from '../../helpers/patient-line.js';
import { PatientPhone } from '../../helpers/patient-phone.js';
import { Staff } from '../../helpers/staff.js';
import { VOICEMAIL_TONES, heardTone, prepareVoicemail } from '../../helpers/voicemail.js';
import { logIn, screenshots, startWebStack, type WebStack } from '../../helpers/web-stack.js';
import { notAnsweredCounts } from '../../helpers/statistics-page.js';

const TIMEOUT = 15_000;
const CALLBACK_KEY = '4';
const VOICEMAIL_KEY = '5';
const screenshot = screenshots('call-plan-board-queues', { fullPage: true });

/** Appointments (key 1): a patient who waits, and one who leaves a message. */
const WAITS = '+48500100001';
const MESSAGE = '+48500100004';
/** Test results (key 2): a patient Ben answers, and one who asks for a callback. */
const ANSWERED = '+48500100002';
const CALLBACK = '+48500100003';
/** Outside the opening hours: in no queue. */
const AFTER_HOURS = '+48500100005';

let stack: WebStack;
let work: string;
let browser: TestBrowser;
let events: CallEvents;
let line: PatientLine;
let plans: CallPlanStore;
let plan: CallPlan;
let benPhone: AgentPhone;
const open: Array<{ close(): unknown }> = [];
const pageErrors: string[] = [];

test.before(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'deskline-board-queues-e2e-'));
  stack = await startWebStack({ appEnv: { SKIP_INTRO: 'true', RECORDINGS_DIR: path.join(work, 'recordings') } });
  const { callPath } = stack;
  // The greeting ends with a beep: the message is recorded from then on.
  await prepareVoicemail(callPath.redis, callPath.appEnv['MEDIA_DIR'] ?? '', { maxWaitSeconds: 0 });
  const { staff } = await createClinic(stack.app, { staff: ['anna', 'ben', 'maria'] });
  plan = {
    ...DEFAULT_CALL_PLAN,
    keypad: { callbackDigit: CALLBACK_KEY, voicemailDigit: VOICEMAIL_KEY },
    queues: [
      { id: 'appointments', name: 'Appointments', digit: '1', memberIds: [staff.anna.id], musicId: null },
      { id: 'results', name: 'Test results', digit: '2', memberIds: [staff.ben.id], musicId: null },
    ],
  };
  plans = new CallPlanStore(callPath.redis);
  await plans.put(plan);
  // Ben takes the test results at his workstation; Anna, the appointments' member, is at none.
  const team = new Staff(callPath.redis, callPath.kamailio.domain);
  const desk = await team.workstation('Results desk');
  const ben = await AgentPhone.register(callPath.kamailio, desk.id);
  open.push(ben);
  await team.available(staff.ben.id, desk.id);
  benPhone = ben;
  events = await CallEvents.open(callPath.redisUrl);
  line = await PatientLine.open(callPath.kamailioPort);
  browser = await launchBrowser();
});

test.after(async () => {
  for (const item of open.reverse()) await item.close();
  await line?.close();
  await events?.close();
  await browser?.close();
  await stack?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Caller {
  media: PatientPhone;
  dialog: PatientDialog;
  id: string;
}

/** The patient calls, hears the menu and presses `key`; resolves once the call waits in that queue. */
async function callerInQueue(from: string, key: string, queueId: string): Promise<Caller> {
  const mark = events.mark();
  const media = await PatientPhone.open();
  media.mute(true);
  open.push(media);
  const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: media.port, from });
  const menu = await events.waitFor({ state: 'menu', from: mark }, TIMEOUT);
  await media.waitForTone(PROMPT_TONES.menu.hz, TIMEOUT);
  await media.pressKey(key);
  const pressedAt = Date.now();
  const waiting = await events.waitFor({ callId: menu.call.id, state: 'waiting' }, TIMEOUT);
  assert.is(waiting.call.queueId, queueId, `${from} pressed ${key}`);
  // In the queue: the keys pressed from now on are the waiting keys (callback, message). The sip app
  // drops a key closer than KEY_SPACING_MS to the one before (a burst): the next comes after that.
  await media.waitForTone(HOLD_MUSIC_HZ, TIMEOUT);
  const spacing = pressedAt + KEY_SPACING_MS + 200 - Date.now();
  if (spacing > 0) await new Promise((resolve) => setTimeout(resolve, spacing));
  return { media, dialog, id: menu.call.id };
}

function queueFilter(page: Page): Locator {
  return board(page).getByRole('combobox', { name: 'Queue' });
}

/** The numbers the live queue beside the board lists. */
async function liveQueue(page: Page): Promise<string[]> {
  const region = page.getByRole('region', { name: /^Queue/ });
  return (await region.getByRole('listitem').allInnerTexts()).map((text) => text.split('\n')[0]!.trim()).sort();
}

/** The numbers of the cards in a board tab. */
async function tabNumbers(page: Page, tab: string): Promise<string[]> {
  await openTab(page, tab);
  const cards = board(page).getByRole('tabpanel').getByRole('article');
  const names = await cards.evaluateAll((elements) =>
    elements.map((e) => e.querySelector('#number')?.textContent?.trim() ?? ''),
  );
  return names.sort();
}

/** Waits until `read` gives `expected` (the board follows pushes), then asserts it. */
async function shows(what: string, read: () => Promise<string[]>, numbers: string[]): Promise<void> {
  const expected = [...numbers].sort();
  const until = Date.now() + TIMEOUT;
  let seen = await read();
  while (JSON.stringify(seen) !== JSON.stringify(expected) && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    seen = await read();
  }
  assert.equal(seen, expected, what);
}

let waits: Caller;
let answered: Caller;

test('two queues: the filter shows only the chosen queue in the live queue and every tab, and is remembered', async () => {
  const anna = await logIn(browser, stack.base, STAFF.anna.email, STAFF.anna.password, {
    pageErrors,
    timeoutMs: TIMEOUT,
  });
  await board(anna).waitFor({ timeout: TIMEOUT });
  // An employee sees the queues by name (GET /api/queues), with All queues first.
  await queueFilter(anna).waitFor({ timeout: TIMEOUT });
  assert.equal(
    (await queueFilter(anna).getByRole('option').allTextContents()).map((t) => t.trim()),
    ['All queues', 'Appointments', 'Test results'],
  );
  assert.is(await queueFilter(anna).inputValue(), '', 'All queues at first');

  waits = await callerInQueue(WAITS, '1', 'appointments');

  const ringing = benPhone.nextInvite(TIMEOUT);
  answered = await callerInQueue(ANSWERED, '2', 'results');
  const ring: IncomingRing = await ringing;
  open.push(await ring.answer());
  await events.waitFor({ callId: answered.id, state: 'bridged' }, TIMEOUT);

  // Ben is on the line: the next test results caller waits, then asks for a callback.
  const callback = await callerInQueue(CALLBACK, '2', 'results');
  await callback.media.pressKey(CALLBACK_KEY);
  await events.waitFor({ callId: callback.id, state: 'callback-requested' }, TIMEOUT);
  await callback.dialog.waitForBye(TIMEOUT);

  // Nobody takes the appointments: this caller leaves a message of 2 s, and hangs up.
  const message = await callerInQueue(MESSAGE, '1', 'appointments');
  await message.media.pressKey(VOICEMAIL_KEY);
  await events.waitFor({ callId: message.id, state: 'voicemail' }, TIMEOUT);
  await heardTone(message.media, VOICEMAIL_TONES.beepHz, TIMEOUT);
  message.media.mute(false);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await message.dialog.hangUp();
  const left = await events.waitFor({ callId: message.id, state: 'message-left' }, TIMEOUT);
  assert.is(left.call.queueId, 'appointments', 'the message keeps the queue the caller waited in');

  // All queues: everything.
  await shows('the live queue, all queues', () => liveQueue(anna), [ANSWERED, WAITS].sort());
  await shows('Pending, all queues', () => tabNumbers(anna, 'Pending'), [WAITS]);
  await shows('On the line, all queues', () => tabNumbers(anna, 'On the line'), [ANSWERED]);
  await shows('Unanswered, all queues', () => tabNumbers(anna, 'Unanswered'), [CALLBACK, MESSAGE].sort());
  // Under All queues each card and each live call names its queue.
  await taskOf(anna, CALLBACK).getByText('Test results', { exact: true }).waitFor({ timeout: TIMEOUT });
  await taskOf(anna, MESSAGE).getByText('Appointments', { exact: true }).waitFor({ timeout: TIMEOUT });
  await anna
    .getByRole('region', { name: /^Queue/ })
    .getByRole('listitem')
    .filter({ hasText: WAITS })
    .getByText('Waiting · Appointments', { exact: true })
    .waitFor({ timeout: TIMEOUT });

  await queueFilter(anna).selectOption({ label: 'Test results' });
  await shows('the live queue, test results', () => liveQueue(anna), [ANSWERED]);
  assert.ok(
    await anna.getByRole('heading', { name: /^Queue: Test results/ }).isVisible(),
    'the live queue names the queue shown',
  );
  await shows('Pending, test results', () => tabNumbers(anna, 'Pending'), []);
  await shows('On the line, test results', () => tabNumbers(anna, 'On the line'), [ANSWERED]);
  await shows('Unanswered, test results', () => tabNumbers(anna, 'Unanswered'), [CALLBACK]);
  await taskOf(anna, CALLBACK).getByText('Asked for a callback', { exact: true }).waitFor({ timeout: TIMEOUT });
  await screenshot(anna, 'test-results');
  assert.is(
    await taskOf(anna, CALLBACK).getByText('Test results', { exact: true }).count(),
    0,
    'one queue shown: the cards need not name it',
  );

  await queueFilter(anna).selectOption({ label: 'Appointments' });
  await shows('the live queue, appointments', () => liveQueue(anna), [WAITS]);
  await shows('Pending, appointments', () => tabNumbers(anna, 'Pending'), [WAITS]);
  await shows('On the line, appointments', () => tabNumbers(anna, 'On the line'), []);
  await shows('Unanswered, appointments', () => tabNumbers(anna, 'Unanswered'), [MESSAGE]);
  await taskOf(anna, MESSAGE).getByText('Voicemail', { exact: true }).waitFor({ timeout: TIMEOUT });

  // This browser remembers the choice.
  await anna.reload();
  await queueFilter(anna).waitFor({ timeout: TIMEOUT });
  assert.is(await queueFilter(anna).inputValue(), 'appointments');
  await shows('Unanswered, appointments, after a reload', () => tabNumbers(anna, 'Unanswered'), [MESSAGE]);
  await shows('the live queue, appointments, after a reload', () => liveQueue(anna), [WAITS]);

  // A call outside the opening hours is in no queue: every queue's filter shows it.
  const closed: WeeklyHours = Object.fromEntries(WEEKDAYS.map((day) => [day, []])) as unknown as WeeklyHours;
  await plans.put({ ...plan, hours: closed, closedAction: 'hang-up' });
  const mark = events.mark();
  const media = await PatientPhone.open();
  open.push(media);
  const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: media.port, from: AFTER_HOURS });
  await media.waitForTone(PROMPT_TONES.closed.hz, TIMEOUT);
  await dialog.waitForBye(TIMEOUT);
  const after = await events.waitFor({ state: 'closed', from: mark }, TIMEOUT);
  assert.is(after.call.queueId, undefined);
  await plans.put(plan);
  await shows('Unanswered, appointments, with the after-hours call', () => tabNumbers(anna, 'Unanswered'), [
    AFTER_HOURS,
    MESSAGE,
  ]);
  await queueFilter(anna).selectOption({ label: 'Test results' });
  await shows('Unanswered, test results, with the after-hours call', () => tabNumbers(anna, 'Unanswered'), [
    AFTER_HOURS,
    CALLBACK,
  ]);
  await queueFilter(anna).selectOption({ label: 'All queues' });
  await shows('Unanswered, all queues', () => tabNumbers(anna, 'Unanswered'), [AFTER_HOURS, CALLBACK, MESSAGE]);
  assert.equal(pageErrors, []);
  await anna.close();
});

test("Maria's statistics count the closed call, the callback request and the voicemail message, each once", async () => {
  await waits.dialog.hangUp();
  await events.waitFor({ callId: waits.id, state: 'abandoned' }, TIMEOUT);
  await answered.dialog.hangUp();
  await events.waitFor({ callId: answered.id, state: 'ended' }, TIMEOUT);

  await browser.context.clearCookies();
  const maria = await logIn(browser, stack.base, STAFF.maria.email, STAFF.maria.password, {
    pageErrors,
    timeoutMs: TIMEOUT,
  });
  await maria.getByRole('button', { name: 'Work without a workstation' }).click();
  await maria.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Statistics' }).click();
  const table = maria.getByRole('table', { name: /^Calls on / });
  await table.waitFor({ timeout: TIMEOUT });
  const all = maria.getByRole('rowheader', { name: 'All calls', exact: true });
  const cells = (await table.getByRole('row').filter({ has: all }).getByRole('cell').allTextContents()).map((t) =>
    t.trim(),
  );
  // received, answered, not answered
  assert.equal(cells.slice(0, 3), ['5', '1', '4']);
  assert.equal(await notAnsweredCounts(maria, TIMEOUT), {
    'Abandoned (hung up during the intro)': '0',
    'Unanswered (hung up waiting or ringing)': '1',
    'Heard the closed message': '1',
    'Asked for a callback': '1',
    'Left a voicemail message': '1',
  });
  await screenshot(maria, 'statistics');
  assert.equal(pageErrors, []);
  await maria.close();
});

test.run();
