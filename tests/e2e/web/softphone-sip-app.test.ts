/**
 * The web app's softphone with the real sip app: a patient calls the clinic line, the sip app queues
 * the call and rings the receptionist's browser through Kamailio, and the receptionist answers in
 * the web app. Redis, signaling, Kamailio, rtpengine and the sip app are real processes; the patient
 * is a SIP peer over UDP with an RTP endpoint sending a 300 Hz tone, and Chromium's fake microphone
 * beeps back.
 */
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Workstation } from '@deskline/protocol';
import { RedisChannels, browserSipUser } from '@deskline/store';
import { installAudioProbe, speakerSources, takeSpeakerPeak, waitForElementAudio } from '../../helpers/audio-probe.js';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { createClinic, STAFF } from '../../helpers/clinic.js';
import { ChannelRecorder } from '../../helpers/redis-events.js';
import { waitFor } from '../../helpers/wait.js';
import { CLINIC_NUMBER, type CallPath } from '../../helpers/call-path.js';
import { PATIENT_NUMBER, PatientLine, type PatientDialog } from '../../helpers/patient-line.js';
import { PatientPhone } from '../../helpers/patient-phone.js';
import { startWebStack, type WebStack } from '../../helpers/web-stack.js';

const TIMEOUT = 10_000;

let path: CallPath;
let app: FastifyInstance;
let base: string;
let stack: WebStack;
let browser: TestBrowser;
let line: PatientLine;
let page: Page;
let workstation: Workstation;
const pageErrors: string[] = [];

test.before(async () => {
  stack = await startWebStack({ appEnv: { SKIP_INTRO: 'true', RING_TIMEOUT_SECONDS: '15' } });
  ({ callPath: path, app, base } = stack);
  workstation = (await createClinic(app, { staff: ['anna'], workstations: ['reception1'] })).workstations.reception1;
  line = await PatientLine.open(path.kamailioPort);
  browser = await launchBrowser();
  await installAudioProbe(browser.context);
});

test.after(async () => {
  await browser?.close();
  await line?.close();
  await stack?.stop();
});

function incomingCall() {
  return page.getByRole('region', { name: 'Incoming call' });
}

function queue() {
  return page.getByRole('region', { name: /Queue/ });
}

/** The patient dials the clinic line; the sip app answers at once and plays the hold music. */
async function patientCalls(): Promise<{ dialog: PatientDialog; media: PatientPhone }> {
  const media = await PatientPhone.open();
  try {
    return { dialog: await line.call({ line: CLINIC_NUMBER, rtpPort: media.port, timeoutMs: TIMEOUT }), media };
  } catch (error) {
    media.close();
    throw error;
  }
}

test('the receptionist logs in and picks Reception 1: the browser registers and the sip app may ring it', async () => {
  const registrations = await ChannelRecorder.subscribe<{ user: string; registered: boolean }>(
    path.redisUrl,
    RedisChannels.sipRegistrations,
  );
  try {
    page = await browser.context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(base);
    await page.getByLabel('Email').fill(STAFF.anna.email);
    await page.getByLabel('Password').fill(STAFF.anna.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('button', { name: 'Reception 1' }).click();
    await page.getByRole('status').filter({ hasText: 'Ready for calls on Reception 1' }).waitFor({ timeout: TIMEOUT });
    const user = browserSipUser(workstation.id);
    await registrations.waitFor((event) => event.user === user && event.registered, `${user} registered`, TIMEOUT);
  } finally {
    registrations.close();
  }
});

test("a patient's call rings the browser; Answer connects them both ways; Hang up ends it for the patient", async () => {
  const { dialog, media } = await patientCalls();
  try {
    const panel = incomingCall();
    await panel.getByText(PATIENT_NUMBER).waitFor({ timeout: TIMEOUT });
    await queue().getByText('Ringing · Reception 1').waitFor({ timeout: TIMEOUT });
    await waitFor(
      'the ringtone',
      async () => (await speakerSources(page)) > 0 && (await takeSpeakerPeak(page)) > 0.05,
      TIMEOUT,
    );

    await panel.getByRole('button', { name: 'Answer' }).click();
    const call = page.getByRole('region', { name: 'Call', exact: true });
    await call.getByText('In call').waitFor({ timeout: TIMEOUT });
    await queue().getByText('In call · Reception 1').waitFor({ timeout: TIMEOUT });
    await waitFor('the ringtone to stop', async () => (await speakerSources(page)) === 0, TIMEOUT);
    const answeredAt = Date.now();
    // The receptionist's microphone reaches the patient, the patient's tone reaches the page.
    await media.waitUntil(
      "the receptionist's voice",
      (received) => received.find((p) => p.at > answeredAt && p.rms > 300),
      TIMEOUT,
    );
    await waitForElementAudio(page.locator('dl-call-panel audio'), 0.02, TIMEOUT);

    await call.getByRole('button', { name: 'Hang up' }).click();
    await dialog.waitForBye(TIMEOUT);
    await page
      .getByRole('region', { name: 'Call ended' })
      .getByText('You ended the call.')
      .waitFor({ timeout: TIMEOUT });
    await queue().getByText('No patients waiting').waitFor({ timeout: TIMEOUT });
  } finally {
    await dialog.close();
    media.close();
  }
});

test('the patient hangs up while the browser rings: the ringing stops at once and the call leaves the queue', async () => {
  const { dialog, media } = await patientCalls();
  try {
    const panel = incomingCall();
    await panel.getByRole('button', { name: 'Answer' }).waitFor({ timeout: TIMEOUT });
    await waitFor('the ringtone', async () => (await speakerSources(page)) > 0, TIMEOUT);
    const answer = await dialog.hangUp(TIMEOUT);
    assert.is(answer.status, 200);
    await panel.waitFor({ state: 'detached', timeout: TIMEOUT });
    await waitFor('the ringtone to stop', async () => (await speakerSources(page)) === 0, TIMEOUT);
    await queue().getByText('No patients waiting').waitFor({ timeout: TIMEOUT });
  } finally {
    await dialog.close();
    media.close();
  }
});

test('no page errors', () => {
  assert.equal(pageErrors, []);
});

test.run();
