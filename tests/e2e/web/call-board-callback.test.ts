/**
 * Calling a patient back from the call board (issue 5), end to end: Anna, an employee at Reception 1,
 * clicks "Call back" on an unanswered task; signaling grants the callback, her browser's phone calls
 * the one-time target, and the sip app calls the patient through the outbound trunk, where the test
 * plays the patient's phone (TrunkPhone, over UDP): busy the first time, answering the second. Maria,
 * a manager without a workstation, watches her board follow the task: calling back, the patient's phone
 * ringing, back to Unanswered with the attempt's outcome, then on the line, and, once Anna has hung up,
 * the wrap-up and Closed. Redis, signaling, Kamailio, rtpengine and the sip app are real processes; the
 * patient who first called in is sipp.
 *
 * SCREENSHOT_DIR=/some/dir saves what the pages look like at each step.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Locator, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Workstation } from '@deskline/protocol';
import { RedisChannels, browserSipUser } from '@deskline/store';
import { freePort } from '@deskline/scripts/free-port';
import { board, openTab, taskOf } from '../../helpers/board-page.js';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { ChannelRecorder } from '../../helpers/redis-events.js';
import { CallEvents } from '../../helpers/call-events.js';
import { describeSipp, type CallPath } from '../../helpers/call-path.js';
import { createClinic, STAFF } from '../../helpers/clinic.js';
import { PATIENT_NUMBER, patientSdp } from '../../helpers/patient-line.js';
import { TrunkPhone } from '../../helpers/trunk-phone.js';
import { logIn, screenshots, startWebStack, type WebStack } from '../../helpers/web-stack.js';
import { writeTone } from '../../helpers/tones.js';

const TIMEOUT = 15_000;
/** From Anna's click to Maria's board: the grant, the browser's INVITE and the trunk's answer included. */
const CLICK_TO_BOARD_MS = 3000;

let callPath: CallPath;
let trunk: TrunkPhone;
let app: FastifyInstance;
let base: string;
let stack: WebStack;
let annaBrowser: TestBrowser;
let mariaBrowser: TestBrowser;
let anna: Page;
let maria: Page;
let annaId: string;
let workstation: Workstation;
let work: string;
const pageErrors: string[] = [];

test.before(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'deskline-board-callback-'));
  await writeTone(path.join(work, 'patient-voice.ul'), { hz: 600, seconds: 5, format: 'ulaw' });
  const trunkPort = await freePort('127.0.0.1', ['udp']);
  stack = await startWebStack({
    appEnv: {
      SKIP_INTRO: 'true',
      RING_TIMEOUT_SECONDS: '30',
      OUTBOUND_TRUNK: `127.0.0.1:${trunkPort}`,
      CALLBACK_RING_SECONDS: '10',
    },
  });
  ({ callPath, app, base } = stack);
  trunk = await TrunkPhone.open(callPath.kamailioPort, trunkPort);
  const clinic = await createClinic(app, { staff: ['anna', 'maria'], workstations: ['reception1'] });
  annaId = clinic.staff.anna.id;
  workstation = clinic.workstations.reception1;
  // The patient's number is German (PATIENT_NUMBER); the clinic's policy (PL by default) is widened to it.
  await app.outboundPolicy.set({ ...(await app.outboundPolicy.get()), allowedPrefixes: ['+48', '+49'] });
  annaBrowser = await launchBrowser();
  mariaBrowser = await launchBrowser();
});

test.after(async () => {
  await annaBrowser?.close();
  await mariaBrowser?.close();
  await trunk?.close();
  await stack?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const screenshot = screenshots('call-board-callback', { fullPage: true });

function task(page: Page): Locator {
  return taskOf(page, PATIENT_NUMBER);
}

/** Resolves when `shown` is on Maria's board, and checks that it came within a second of `since`. */
async function mariaSees(what: string, shown: Locator, since: number): Promise<void> {
  await shown.waitFor({ timeout: TIMEOUT });
  const ms = Date.now() - since;
  console.log(`  ${what}: on Maria's board ${ms} ms after Anna's click`);
  assert.ok(ms < CLICK_TO_BOARD_MS, `${what}: ${ms} ms`);
}

test('a patient gives up while Anna is paused: the task is unanswered, and Anna may call back', async () => {
  const registrations = await ChannelRecorder.subscribe<{ user: string; registered: boolean }>(
    callPath.redisUrl,
    RedisChannels.sipRegistrations,
  );
  try {
    anna = await logIn(annaBrowser, base, STAFF.anna.email, STAFF.anna.password, { pageErrors, timeoutMs: TIMEOUT });
    await anna.getByRole('button', { name: 'Reception 1' }).click();
    await anna.getByRole('status').filter({ hasText: 'Ready for calls on Reception 1' }).waitFor({ timeout: TIMEOUT });
    const user = browserSipUser(workstation.id);
    await registrations.waitFor((event) => event.user === user && event.registered, `${user} registered`, TIMEOUT);
  } finally {
    registrations.close();
  }
  maria = await logIn(mariaBrowser, base, STAFF.maria.email, STAFF.maria.password, { pageErrors, timeoutMs: TIMEOUT });
  await maria.getByRole('button', { name: 'Work without a workstation' }).click();

  await app.agents.pause(annaId, 10 * 60_000);
  const events = await CallEvents.open(callPath.redisUrl);
  try {
    const result = await callPath.sipp('uac-pcmu-answered-patient-hangs-up.xml', {
      cwd: work,
      pauseMs: 1000,
      timeoutMs: 30_000,
    });
    assert.is(result.code, 0, describeSipp(result));
    await events.waitFor({ state: 'abandoned' }, TIMEOUT);
  } finally {
    await events.close();
  }
  await anna.getByRole('region', { name: 'Incoming calls paused' }).getByRole('button', { name: "I'm back" }).click();

  await openTab(anna, 'Unanswered');
  await openTab(maria, 'Unanswered');
  await task(anna).getByText('Unanswered: 1 missed call', { exact: true }).waitFor({ timeout: TIMEOUT });
  assert.ok(await task(anna).getByRole('button', { name: 'Call back' }).isEnabled(), 'Anna has a browser workstation');
  assert.ok(await task(maria).getByRole('button', { name: 'Call back' }).isDisabled(), 'Maria has none');
});

/** Maria sets the denied prefixes in her Callback policy view and saves. */
async function mariaDenies(prefixes: string): Promise<void> {
  await maria.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Callback policy' }).click();
  const policy = maria.getByRole('region', { name: 'Callback policy' });
  await policy.getByLabel('Denied prefixes').fill(prefixes);
  await policy.getByRole('button', { name: 'Save policy' }).click();
  await policy.getByRole('status').filter({ hasText: 'Saved.' }).waitFor({ timeout: TIMEOUT });
  await maria.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Call board' }).click();
}

test("Maria's callback policy refuses the patient's prefix: Anna's Call back is refused, the card says why, nothing reaches the trunk", async () => {
  await maria.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Callback policy' }).click();
  const policy = maria.getByRole('region', { name: 'Callback policy' });
  await policy.getByLabel('Allowed prefixes').waitFor({ timeout: TIMEOUT });
  assert.is(await policy.getByLabel('Allowed prefixes').inputValue(), '+48, +49');
  assert.ok(await policy.getByRole('checkbox', { name: 'mobile', exact: true }).isChecked());
  assert.not.ok(await policy.getByRole('checkbox', { name: 'premium-rate' }).isChecked());
  assert.is(await policy.getByLabel('Callbacks per employee per day').inputValue(), '50');
  assert.is(await policy.getByLabel('Longest callback, in minutes').inputValue(), '30');
  await screenshot(maria, 'callback-policy');
  await mariaDenies('+49151');

  const calls = trunk.calls;
  await task(anna).getByRole('button', { name: 'Call back' }).click();
  await task(anna)
    .getByRole('alert')
    .filter({
      hasText: `${PATIENT_NUMBER} is outside the clinic's callback policy: numbers starting with +49151 are not allowed.`,
    })
    .waitFor({ timeout: TIMEOUT });
  await screenshot(anna, 'callback-refused');
  assert.is(trunk.calls, calls, 'nothing reached the trunk');
  await mariaDenies('');
  await openTab(maria, 'Unanswered');
});

test("Anna calls back and the patient's phone is busy: Maria sees the callback, then the task back in Unanswered with the attempt", async () => {
  await openTab(maria, 'On the line');
  const clicked = Date.now();
  await task(anna).getByRole('button', { name: 'Call back' }).click();
  const atTrunk = await trunk.nextCall(TIMEOUT);
  assert.is(atTrunk.number, PATIENT_NUMBER, "the task's number");
  await mariaSees('calling back', task(maria).getByText('Anna Reception is calling back: dialling'), clicked);
  atTrunk.ring();
  await task(maria)
    .getByText('Anna Reception is calling back: the patient’s phone is ringing')
    .waitFor({ timeout: TIMEOUT });
  await screenshot(maria, 'ringing');
  await atTrunk.refuse(486, 'Busy Here');
  await openTab(maria, 'Unanswered');
  await task(maria)
    .getByText(/Called back at .* by Anna Reception: busy/)
    .waitFor({ timeout: TIMEOUT });
  await task(anna)
    .getByText(/Called back at .* by Anna Reception: busy/)
    .waitFor({ timeout: TIMEOUT });
  await anna.getByRole('region', { name: 'Call ended' }).waitFor({ state: 'detached', timeout: TIMEOUT });
});

test('Anna calls back again and the patient answers: on the line on both boards; hung up, wrapped up and closed', async () => {
  await openTab(maria, 'On the line');
  const clicked = Date.now();
  await task(anna).getByRole('button', { name: 'Call back' }).click();
  const atTrunk = await trunk.nextCall(TIMEOUT);
  atTrunk.ring();
  await atTrunk.answer(patientSdp(40_000), TIMEOUT);
  await mariaSees('called back, on the line', task(maria).getByText('On the line: Anna Reception ↔ patient'), clicked);
  await task(maria)
    .getByText(/\(called back\)/)
    .waitFor({ timeout: TIMEOUT });
  const call = anna.getByRole('region', { name: 'Call', exact: true });
  await call.getByText(PATIENT_NUMBER).waitFor({ timeout: TIMEOUT });
  await screenshot(anna, 'on-the-line');
  await screenshot(maria, 'on-the-line');

  await openTab(anna, 'Pending');
  await call.getByRole('button', { name: 'Hang up' }).click();
  await atTrunk.waitForBye(TIMEOUT);
  await task(anna).getByText('Wrap-up: Anna Reception').waitFor({ timeout: TIMEOUT });
  await task(anna).getByLabel('Subject').selectOption({ label: 'Visit booked' });
  await task(anna).getByText('Subject saved').waitFor({ timeout: TIMEOUT });
  await task(anna).getByRole('button', { name: 'Close' }).click();
  await openTab(maria, 'Closed');
  const closed = task(maria);
  await closed.getByText('Closed by Anna Reception at', { exact: false }).waitFor({ timeout: TIMEOUT });
  assert.equal(
    (await closed.getByRole('list', { name: 'Callback attempts' }).getByRole('listitem').allTextContents()).map(
      (text) =>
        text
          .replace(/\s+/g, ' ')
          .trim()
          .replace(/at .* by/, 'at … by'),
    ),
    ['Called back at … by Anna Reception: busy', 'Called back at … by Anna Reception: answered'],
  );
  await board(anna).getByRole('tab', { name: 'Pending 0' }).waitFor({ timeout: TIMEOUT });
  await screenshot(maria, 'closed');
});

test('no page errors', () => {
  assert.equal(pageErrors, []);
});

test.run();
