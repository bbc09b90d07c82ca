/**
 * A patient asks for a callback with the keypad while waiting (issue 15, docs/call-plan.md "Keypad"),
 * end to end: the keys go as RFC 4733 events through Kamailio's rtpengine to the sip app, the call
 * becomes callback-requested, and Maria, a manager, sees the task on her board in Chromium within a
 * second, marked "Asked for a callback", listed by the callers' places in the queue.
 */
import type { Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_CALL_PLAN } from '@deskline/protocol';
import { CallPlanStore } from '@deskline/store';
import { board, openTab, taskOf } from '../../helpers/board-page.js';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { CallEvents } from '../../helpers/call-events.js';
import { CLINIC_NUMBER, HOLD_MUSIC_HZ, PROMPT_TONES, type CallPath } from '../../helpers/call-path.js';
import { createClinic, STAFF } from '../../helpers/clinic.js';
import { PatientLine, type PatientDialog } from '../../helpers/patient-line.js';
import { PatientPhone } from '../../helpers/patient-phone.js';
import { logIn, startWebStack, type WebStack } from '../../helpers/web-stack.js';

const TIMEOUT = 15_000;
const LIVE_MS = 1000;
const CALLBACK_KEY = '4';
const EARLIER = '+48111000111';
const LATER = '+48222000222';

let stack: WebStack;
let callPath: CallPath;
let browser: TestBrowser;
let maria: Page;
let events: CallEvents;
let line: PatientLine;
const open: Array<{ close(): unknown }> = [];
const pageErrors: string[] = [];

test.before(async () => {
  stack = await startWebStack({ appEnv: { SKIP_INTRO: 'true' } });
  callPath = stack.callPath;
  await createClinic(stack.app, { staff: ['maria'], workstations: [] });
  await new CallPlanStore(callPath.redis).put({
    ...DEFAULT_CALL_PLAN,
    keypad: { callbackDigit: CALLBACK_KEY, voicemailDigit: null },
  });
  events = await CallEvents.open(callPath.redisUrl);
  line = await PatientLine.open(callPath.kamailioPort);
  browser = await launchBrowser();
});

test.after(async () => {
  for (const item of open) await item.close();
  await line?.close();
  await browser?.close();
  await events?.close();
  await stack?.stop();
});

async function waitingPatient(from: string): Promise<{ media: PatientPhone; dialog: PatientDialog; id: string }> {
  const mark = events.mark();
  const media = await PatientPhone.open();
  open.push(media);
  const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: media.port, from });
  const waiting = await events.waitFor({ state: 'waiting', from: mark }, TIMEOUT);
  await media.waitForTone(HOLD_MUSIC_HZ, TIMEOUT);
  return { media, dialog, id: waiting.call.id };
}

test("a patient presses the callback key: Maria's board shows the task, asked for a callback, within a second; tasks keep the callers' queue order", async () => {
  maria = await logIn(browser, stack.base, STAFF.maria.email, STAFF.maria.password, {
    pageErrors,
    timeoutMs: TIMEOUT,
  });
  await maria.getByRole('button', { name: 'Work without a workstation' }).click();
  await board(maria)
    .getByRole('tab', { name: /^Unanswered/ })
    .waitFor({ timeout: TIMEOUT });
  await openTab(maria, 'Unanswered');

  const first = await waitingPatient(EARLIER);
  const second = await waitingPatient(LATER);

  // The later caller asks first.
  await second.media.pressKey(CALLBACK_KEY);
  const asked = await events.waitFor({ callId: second.id, state: 'callback-requested' }, TIMEOUT);
  await taskOf(maria, LATER).getByText('Asked for a callback', { exact: true }).waitFor({ timeout: TIMEOUT });
  const ms = Date.now() - asked.at;
  console.log(`  the board shows the callback request ${ms} ms after the sip app's event`);
  assert.ok(ms < LIVE_MS, `${ms} ms`);
  await second.media.waitForTone(PROMPT_TONES['callback-confirmed'].hz, TIMEOUT);
  await second.dialog.waitForBye(TIMEOUT);

  await first.media.pressKey(CALLBACK_KEY);
  await events.waitFor({ callId: first.id, state: 'callback-requested' }, TIMEOUT);
  await taskOf(maria, EARLIER).getByText('Asked for a callback', { exact: true }).waitFor({ timeout: TIMEOUT });
  await first.dialog.waitForBye(TIMEOUT);

  const cards = await board(maria).getByRole('tabpanel').getByRole('article').allInnerTexts();
  const at = (number: string): number => cards.findIndex((text) => text.includes(number));
  assert.ok(
    at(EARLIER) >= 0 && at(EARLIER) < at(LATER),
    `the earlier caller first, as in the queue: ${JSON.stringify(cards)}`,
  );
  assert.equal(pageErrors, []);
});

test.run();
