/**
 * Call outcomes (issue 16, docs/managers.md "Call outcomes"), end to end: Redis, Kamailio, rtpengine,
 * the sip app and signaling as real processes, two patients on real SIP phones (PatientLine over UDP,
 * their audio measured by PatientPhone), and the board in Chromium for Anna, an employee at Reception
 * 1, and Maria, the manager. One patient hangs up while the intro is playing, the other while waiting
 * with hold music. The first shows under Abandoned without Call back, the second under Unanswered with
 * Call back; Maria turns on callbacks for abandoned calls and Anna's board offers Call back there too;
 * the statistics count one of each.
 */
import type { Locator, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { board, openTab, taskOf } from '../../helpers/board-page.js';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { CallEvents } from '../../helpers/call-events.js';
import { CLINIC_NUMBER, HOLD_MUSIC_HZ, INTRO_HZ, type CallPath } from '../../helpers/call-path.js';
import { createClinic, STAFF } from '../../helpers/clinic.js';
import { PatientLine } from '../../helpers/patient-line.js';
import { PatientPhone } from '../../helpers/patient-phone.js';
import { logIn, screenshots, startWebStack, type WebStack } from '../../helpers/web-stack.js';
import { notAnsweredCounts } from '../../helpers/statistics-page.js';

const TIMEOUT = 15_000;
/** Hangs up while the intro plays. */
const GAVE_UP_IN_INTRO = '+48500100201';
/** Hangs up while waiting with hold music. */
const GAVE_UP_WAITING = '+48500100202';

let stack: WebStack;
let callPath: CallPath;
let annaBrowser: TestBrowser;
let mariaBrowser: TestBrowser;
let anna: Page;
let maria: Page;
let events: CallEvents;
let line: PatientLine;
const phones: PatientPhone[] = [];
const pageErrors: string[] = [];
const screenshot = screenshots('outcomes', { fullPage: true });

test.before(async () => {
  stack = await startWebStack();
  callPath = stack.callPath;
  await createClinic(stack.app, { staff: ['anna', 'maria'], workstations: ['reception1'] });
  events = await CallEvents.open(callPath.redisUrl);
  line = await PatientLine.open(callPath.kamailioPort);
  annaBrowser = await launchBrowser();
  mariaBrowser = await launchBrowser();
});

test.after(async () => {
  for (const phone of phones) phone.close();
  await line?.close();
  await annaBrowser?.close();
  await mariaBrowser?.close();
  await events?.close();
  await stack?.stop();
});

/** A patient calls the clinic, hears `tone` (the intro, or the hold music of the queue) and hangs up. */
async function callsAndHangsUpOn(from: string, state: 'intro' | 'waiting', tone: number): Promise<string> {
  const mark = events.mark();
  const phone = await PatientPhone.open();
  phones.push(phone);
  const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: phone.port, from });
  const reached = await events.waitFor({ state, from: mark }, TIMEOUT);
  await phone.waitForTone(tone, TIMEOUT);
  await dialog.hangUp();
  const ended = await events.waitFor({ callId: reached.call.id, state: 'abandoned' }, TIMEOUT);
  assert.is(ended.call.abandonedIn, state, `${from} hung up in ${state}`);
  return reached.call.id;
}

function callBack(page: Page, number: string): Locator {
  return taskOf(page, number).getByRole('button', { name: 'Call back' });
}

test('A hang-up during the intro shows under Abandoned without Call back. A hang-up in the queue shows under Unanswered with Call back.', async () => {
  maria = await logIn(mariaBrowser, stack.base, STAFF.maria.email, STAFF.maria.password, {
    pageErrors,
    timeoutMs: TIMEOUT,
  });
  await maria.getByRole('button', { name: 'Work without a workstation' }).click();
  await openTab(maria, 'Abandoned');

  // Nobody is at a workstation: the second patient waits with hold music until they give up.
  await callsAndHangsUpOn(GAVE_UP_IN_INTRO, 'intro', INTRO_HZ);
  await taskOf(maria, GAVE_UP_IN_INTRO)
    .getByText('Abandoned: 1 missed call', { exact: true })
    .waitFor({ timeout: TIMEOUT });
  await callsAndHangsUpOn(GAVE_UP_WAITING, 'waiting', HOLD_MUSIC_HZ);
  await board(maria).getByRole('tab', { name: 'Unanswered 1' }).waitFor({ timeout: TIMEOUT });
  await board(maria).getByRole('tab', { name: 'Abandoned 1' }).waitFor({ timeout: TIMEOUT });

  anna = await logIn(annaBrowser, stack.base, STAFF.anna.email, STAFF.anna.password, {
    pageErrors,
    timeoutMs: TIMEOUT,
  });
  await anna.getByRole('button', { name: 'Reception 1' }).click();
  await anna.getByRole('status').filter({ hasText: 'Ready for calls on Reception 1' }).waitFor({ timeout: TIMEOUT });

  await openTab(anna, 'Unanswered');
  const waited = taskOf(anna, GAVE_UP_WAITING);
  await waited.getByText('Unanswered: 1 missed call', { exact: true }).waitFor({ timeout: TIMEOUT });
  await waited.getByText(/hung up after waiting/).waitFor({ timeout: TIMEOUT });
  await callBack(anna, GAVE_UP_WAITING).waitFor({ timeout: TIMEOUT });
  assert.ok(await callBack(anna, GAVE_UP_WAITING).isEnabled(), 'Call back on the Unanswered task');
  assert.is(await taskOf(anna, GAVE_UP_IN_INTRO).count(), 0, 'the intro hang-up is not under Unanswered');
  await screenshot(anna, 'unanswered');

  await openTab(anna, 'Abandoned');
  const gaveUp = taskOf(anna, GAVE_UP_IN_INTRO);
  await gaveUp.getByText('Abandoned: 1 missed call', { exact: true }).waitFor({ timeout: TIMEOUT });
  await gaveUp.getByText(/hung up during the intro message/).waitFor({ timeout: TIMEOUT });
  // The card is complete (its subject field is there) and has no Call back.
  await gaveUp.getByLabel('Subject').waitFor({ timeout: TIMEOUT });
  assert.is(await callBack(anna, GAVE_UP_IN_INTRO).count(), 0, 'no Call back on the Abandoned task');
  assert.is(await taskOf(anna, GAVE_UP_WAITING).count(), 0, 'the queue hang-up is not under Abandoned');
  await screenshot(anna, 'abandoned');
});

test("Maria turns on callbacks for abandoned calls: Anna's Abandoned card gets Call back; off again, it goes", async () => {
  const views = maria.getByRole('navigation', { name: 'Views' });
  await views.getByRole('button', { name: 'Callback policy' }).click();
  const outcomes = maria.getByRole('region', { name: 'Call outcomes' });
  const toggle = outcomes.getByLabel('Offer Call back on abandoned calls too');
  await toggle.waitFor({ timeout: TIMEOUT });
  assert.not.ok(await toggle.isChecked(), 'off by default');
  await toggle.check();
  await outcomes.getByRole('button', { name: 'Save call outcomes' }).click();
  await outcomes
    .getByRole('status')
    .filter({ hasText: 'Saved. Abandoned calls can be called back.' })
    .waitFor({ timeout: TIMEOUT });
  await screenshot(maria, 'setting');

  // Anna opens the tab again: the board reads the setting when a missed-calls tab is opened.
  await openTab(anna, 'Unanswered');
  await openTab(anna, 'Abandoned');
  await callBack(anna, GAVE_UP_IN_INTRO).waitFor({ timeout: TIMEOUT });
  assert.ok(await callBack(anna, GAVE_UP_IN_INTRO).isEnabled());
  assert.is(await board(anna).getByRole('tab', { name: 'Abandoned 1' }).count(), 1, 'the task stays Abandoned');

  // A reload keeps what the server says.
  await maria.reload();
  await maria.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Callback policy' }).click();
  const again = maria
    .getByRole('region', { name: 'Call outcomes' })
    .getByLabel('Offer Call back on abandoned calls too');
  await again.waitFor({ timeout: TIMEOUT });
  assert.ok(await again.isChecked());
  await again.uncheck();
  await maria
    .getByRole('region', { name: 'Call outcomes' })
    .getByRole('button', { name: 'Save call outcomes' })
    .click();
  await maria
    .getByRole('region', { name: 'Call outcomes' })
    .getByRole('status')
    .filter({ hasText: 'Saved. Only unanswered calls can be called back.' })
    .waitFor({ timeout: TIMEOUT });
  await openTab(anna, 'Unanswered');
  await openTab(anna, 'Abandoned');
  await callBack(anna, GAVE_UP_IN_INTRO).waitFor({ state: 'detached', timeout: TIMEOUT });
});

test('the statistics count the Abandoned and the Unanswered call apart', async () => {
  await maria.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Statistics' }).click();
  assert.equal(await notAnsweredCounts(maria, TIMEOUT), {
    'Abandoned (hung up during the intro)': '1',
    'Unanswered (hung up waiting or ringing)': '1',
    'Heard the closed message': '0',
    'Asked for a callback': '0',
    'Left a voicemail message': '0',
  });
  await screenshot(maria, 'statistics');
  assert.equal(pageErrors, []);
});

test.run();
