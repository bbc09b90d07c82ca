/**
 * The Distribution settings end to end (issue 16, docs/managers.md "Distribution"): Maria, a manager,
 * sets them in her browser; Anna takes calls in hers, at Reception 1. Redis, signaling, Kamailio,
 * rtpengine and the sip app are real processes; patients are PatientLine calls over UDP. The sip app
 * started with RING_TIMEOUT_SECONDS=20: the 3 s Maria saves is what the rings last, with no restart.
 *
 * SCREENSHOT_DIR=/some/dir saves what the pages look like at each step.
 */
import type { Locator, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisChannels, browserSipUser } from '@deskline/store';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { CallEvents } from '../../helpers/call-events.js';
import { CLINIC_NUMBER, type CallPath } from '../../helpers/call-path.js';
import { createClinic, STAFF } from '../../helpers/clinic.js';
import { PatientLine, type PatientDialog } from '../../helpers/patient-line.js';
import { PatientPhone } from '../../helpers/patient-phone.js';
import { ChannelRecorder } from '../../helpers/redis-events.js';
import { logIn, screenshots, startWebStack, type WebStack } from '../../helpers/web-stack.js';

const TIMEOUT = 10_000;

let stack: WebStack;
let callPath: CallPath;
let annaBrowser: TestBrowser;
let mariaBrowser: TestBrowser;
let anna: Page;
let maria: Page;
let line: PatientLine;
let events: CallEvents;
const open: Array<{ close(): unknown }> = [];
const pageErrors: string[] = [];
const screenshot = screenshots('distribution', { fullPage: true });

test.before(async () => {
  stack = await startWebStack({ appEnv: { SKIP_INTRO: 'true', RING_TIMEOUT_SECONDS: '20' } });
  callPath = stack.callPath;
  const clinic = await createClinic(stack.app, { staff: ['anna', 'maria'], workstations: ['reception1'] });
  events = await CallEvents.open(callPath.redisUrl);
  line = await PatientLine.open(callPath.kamailioPort);
  annaBrowser = await launchBrowser();
  mariaBrowser = await launchBrowser();
  maria = await logIn(mariaBrowser, stack.base, STAFF.maria.email, STAFF.maria.password, {
    pageErrors,
    timeoutMs: TIMEOUT,
  });
  const registrations = await ChannelRecorder.subscribe<{ user: string; registered: boolean }>(
    callPath.redisUrl,
    RedisChannels.sipRegistrations,
  );
  try {
    anna = await logIn(annaBrowser, stack.base, STAFF.anna.email, STAFF.anna.password, {
      pageErrors,
      timeoutMs: TIMEOUT,
    });
    await anna.getByRole('button', { name: 'Reception 1' }).click();
    const user = browserSipUser(clinic.workstations.reception1.id);
    await registrations.waitFor((event) => event.user === user && event.registered, `${user} registered`, TIMEOUT);
  } finally {
    registrations.close();
  }
});

test.after(async () => {
  for (const item of open.reverse()) await item.close();
  await line?.close();
  await events?.close();
  await annaBrowser?.close();
  await mariaBrowser?.close();
  await stack?.stop();
});

const views = (page: Page): Locator => page.getByRole('navigation', { name: 'Views' });
const incomingCall = (page: Page): Locator => page.getByRole('region', { name: 'Incoming call', exact: true });
const activeCall = (page: Page): Locator => page.getByRole('region', { name: 'Call', exact: true });
const teamRow = (page: Page, name: string): Locator =>
  page.getByRole('region', { name: 'Team' }).getByRole('listitem', { name });

async function patientCalls(): Promise<{ dialog: PatientDialog; id: string }> {
  const mark = events.mark();
  const media = await PatientPhone.open();
  media.mute(true);
  open.push(media);
  const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: media.port });
  open.push(dialog);
  const waiting = await events.waitFor({ state: 'waiting', from: mark }, TIMEOUT);
  return { dialog, id: waiting.call.id };
}

test('Maria sets the distribution in the Distribution view; Anna, an employee, has no such view', async () => {
  assert.is(await views(anna).getByRole('button', { name: 'Distribution' }).count(), 0);
  await views(maria).getByRole('button', { name: 'Distribution' }).click();
  const form = maria.getByRole('region', { name: 'Distribution' });
  await form.getByLabel('Wrap-up time, in seconds').waitFor({ timeout: TIMEOUT });
  assert.is(await form.getByLabel('Ring strategy').inputValue(), 'longest-idle');
  assert.is(await form.getByLabel('Ring timeout, in seconds').inputValue(), '');

  // A number out of range is refused before anything is sent.
  await form.getByLabel('Wrap-up time, in seconds').fill('601');
  await form.getByRole('button', { name: 'Save distribution' }).click();
  await form
    .getByRole('alert')
    .filter({ hasText: 'Wrap-up time: a whole number of seconds from 0 to 600.' })
    .waitFor({ timeout: TIMEOUT });
  assert.equal((await stack.app.distribution.get()).wrapUpSeconds, 0);

  await form.getByLabel('Ring timeout, in seconds').fill('3');
  await form.getByLabel('Wrap-up time, in seconds').fill('10');
  await form.getByLabel('Auto-pause after unanswered rings').fill('2');
  await form.getByRole('button', { name: 'Save distribution' }).click();
  await form
    .getByRole('status')
    .filter({ hasText: 'Saved. The next call follows these settings.' })
    .waitFor({ timeout: TIMEOUT });
  await screenshot(maria, 'settings');
  assert.equal(await stack.app.distribution.get(), {
    strategy: 'longest-idle',
    fixedOrder: [],
    wrapUpSeconds: 10,
    autoPauseAfter: 2,
    ringTimeoutSeconds: 3,
  });
});

test('Wrap-up time 10 s: the waiting call rings Anna only after 10 ± 1 s, with a countdown; or at once after "Ready now"', async () => {
  const first = await patientCalls();
  await incomingCall(anna).getByRole('button', { name: 'Answer' }).click();
  await events.waitFor({ callId: first.id, state: 'bridged' }, TIMEOUT);
  const second = await patientCalls();

  await activeCall(anna).getByRole('button', { name: 'Hang up' }).click();
  const endedAt = Date.now();
  await first.dialog.waitForBye();
  const band = anna.getByRole('region', { name: 'Wrap-up after the call' });
  await band.waitFor({ timeout: TIMEOUT });
  const left = Number(((await band.getByRole('timer', { name: 'Time left' }).textContent()) ?? '').split(':')[1]);
  assert.ok(left >= 8 && left <= 10, `the countdown shows ${left} s`);
  await teamRow(maria, 'Anna Reception')
    .getByText(/^Wrap-up until /)
    .waitFor({ timeout: TIMEOUT });
  await screenshot(anna, 'wrap-up');

  await incomingCall(anna).getByRole('button', { name: 'Answer' }).waitFor({ timeout: 15_000 });
  const after = Date.now() - endedAt;
  console.log(`  wrap-up 10 s: the waiting call rang in Anna's browser ${after} ms after she hung up`);
  assert.ok(after >= 9000 && after <= 11_000, `${after} ms`);
  assert.is(await band.count(), 0, 'the band is gone');

  await incomingCall(anna).getByRole('button', { name: 'Answer' }).click();
  await events.waitFor({ callId: second.id, state: 'bridged' }, TIMEOUT);
  const third = await patientCalls();
  await activeCall(anna).getByRole('button', { name: 'Hang up' }).click();
  await second.dialog.waitForBye();
  await band.getByRole('button', { name: 'Ready now' }).waitFor({ timeout: TIMEOUT });
  const readyAt = Date.now();
  await band.getByRole('button', { name: 'Ready now' }).click();
  await incomingCall(anna).getByRole('button', { name: 'Answer' }).waitFor({ timeout: TIMEOUT });
  const latency = Date.now() - readyAt;
  console.log(`  "Ready now" -> the waiting call rang in Anna's browser ${latency} ms after the click`);
  assert.ok(latency < 1500, `${latency} ms`);
  await third.dialog.hangUp();
  await incomingCall(anna).waitFor({ state: 'detached', timeout: TIMEOUT });
});

test('Auto-pause after 2 unanswered rings (ring timeout 3 s): Anna is paused and sees why; Maria sees it in the team', async () => {
  const logs = callPath.app.logs.length;
  const caller = await patientCalls();
  await incomingCall(anna).waitFor({ timeout: TIMEOUT });
  const firstRingAt = Date.now();
  // The only one on duty: the call rings her again when the first ring times out, and the second
  // unanswered ring pauses her.
  const band = anna.getByRole('region', { name: 'Incoming calls paused: calls rang unanswered' });
  await band.waitFor({ timeout: TIMEOUT });
  const pausedAfter = Date.now() - firstRingAt;
  const missed = callPath.app.logs
    .slice(logs)
    .filter((entry) => entry.msg === 'the agent did not answer; back to the queue' && entry['reason'] === 'no-answer');
  console.log(`  Anna auto-paused ${pausedAfter} ms after her browser first rang (two rings of 3 s)`);
  assert.is(missed.length, 2, 'two rings timed out');
  assert.ok(pausedAfter >= 5500 && pausedAfter < 8000, `${pausedAfter} ms`);
  assert.is(await incomingCall(anna).count(), 0, 'her browser stopped ringing');
  await band.getByText('Your workstation did not answer several calls in a row').waitFor({ timeout: TIMEOUT });
  await teamRow(maria, 'Anna Reception')
    .getByText(/^Paused after unanswered calls until /)
    .waitFor({ timeout: TIMEOUT });
  await screenshot(anna, 'auto-paused');
  await screenshot(maria, 'team-auto-paused');

  // While she is paused the patient keeps waiting; "I'm back" rings her at once.
  await band.getByRole('button', { name: "I'm back" }).click();
  await incomingCall(anna).waitFor({ timeout: 3000 });
  await caller.dialog.hangUp();
  await incomingCall(anna).waitFor({ state: 'detached', timeout: TIMEOUT });
  assert.equal(pageErrors, []);
});

test.run();
