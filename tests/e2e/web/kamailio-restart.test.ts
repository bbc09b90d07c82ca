/**
 * Kamailio restarted (SIGKILL and a new one on the same ports) while a patient waits: the patient's
 * later BYE is answered 200, the call ends `abandoned` within a second and leaves the queue the
 * receptionist sees, and when she then picks her workstation nothing rings for 30 s: the caller who
 * left is no ghost. A new patient's call afterwards does ring her, so the browser could have rung.
 * Redis, signaling, Kamailio, rtpengine and the sip app are real processes; the patient is a SIP peer
 * over UDP (PatientLine), the receptionist's browser a headless Chromium. Last, a conversation in
 * the browser across a restart: JsSIP connects again by itself and the call goes on.
 */
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Workstation } from '@deskline/protocol';
import { RedisChannels, browserSipUser } from '@deskline/store';
import { installAudioProbe, speakerSources } from '../../helpers/audio-probe.js';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { CallEvents } from '../../helpers/call-events.js';
import { CLINIC_NUMBER, type CallPath } from '../../helpers/call-path.js';
import { createClinic, STAFF } from '../../helpers/clinic.js';
import { PATIENT_NUMBER, PatientLine } from '../../helpers/patient-line.js';
import { PatientPhone } from '../../helpers/patient-phone.js';
import { ChannelRecorder } from '../../helpers/redis-events.js';
import { waitFor } from '../../helpers/wait.js';
import { logIn, startWebStack, type WebStack } from '../../helpers/web-stack.js';

const TIMEOUT = 10_000;
/** The acceptance bar: the patient's BYE ends the call within this. */
const ENDED_WITHIN_MS = 1_000;
/** How long the browser is watched for a ring that must not come. */
const NOTHING_RINGS_MS = 30_000;

let stack: WebStack;
let path: CallPath;
let app: FastifyInstance;
let browser: TestBrowser;
let line: PatientLine;
let page: Page;
let workstation: Workstation;
const pageErrors: string[] = [];

test.before(async () => {
  stack = await startWebStack({
    appEnv: { SKIP_INTRO: 'true', RING_TIMEOUT_SECONDS: '15', PATIENT_KEEPALIVE_SECONDS: '5' },
  });
  ({ callPath: path, app } = stack);
  workstation = (await createClinic(app, { staff: ['rosa'], workstations: ['reception1'] })).workstations.reception1;
  line = await PatientLine.open(path.kamailioPort);
  browser = await launchBrowser();
  await installAudioProbe(browser.context);
  page = await logIn(browser, stack.base, STAFF.rosa.email, STAFF.rosa.password, { pageErrors, timeoutMs: TIMEOUT });
});

test.after(async () => {
  await browser?.close();
  await line?.close();
  await stack?.stop();
});

const queue = () => page.getByRole('region', { name: /Queue/ });
const incomingCall = () => page.getByRole('region', { name: 'Incoming call' });

test('a patient waits; Kamailio is killed and restarted; their BYE is answered 200 and the call is abandoned within a second', async () => {
  const events = await CallEvents.open(path.redisUrl);
  const media = await PatientPhone.open();
  try {
    const from = events.mark();
    const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: media.port, timeoutMs: TIMEOUT });
    const waiting = (await events.waitFor({ state: 'waiting', from })).call;
    await queue().getByText(PATIENT_NUMBER).waitFor({ timeout: TIMEOUT });

    const answered = (): number => path.app.logs.filter((l) => l.msg === 'Kamailio answered our OPTIONS').length;
    const before = answered();
    const { downMs } = await path.kamailio.restart();
    await waitFor('the sip app to reconnect to the new Kamailio', () => answered() > before, TIMEOUT);

    const byeAt = Date.now();
    const bye = await dialog.hangUp(TIMEOUT);
    assert.is(bye.status, 200, bye.startLine);
    const abandoned = await events.waitFor({ callId: waiting.id, state: 'abandoned', from }, 5_000);
    console.log(
      `  Kamailio down ${downMs} ms; the patient's BYE afterwards: ${bye.status}, call abandoned ${abandoned.at - byeAt} ms after it`,
    );
    assert.ok(abandoned.at - byeAt < ENDED_WITHIN_MS, `${abandoned.at - byeAt} ms`);
    await queue().getByText('No patients waiting').waitFor({ timeout: TIMEOUT });
    await dialog.close();
  } finally {
    media.close();
    await events.close();
  }
});

test(`the receptionist then picks her workstation: nothing rings for ${NOTHING_RINGS_MS / 1000} s; a new patient does ring her`, async () => {
  const registrations = await ChannelRecorder.subscribe<{ user: string; registered: boolean }>(
    path.redisUrl,
    RedisChannels.sipRegistrations,
  );
  try {
    await page.getByRole('button', { name: 'Reception 1' }).click();
    await page.getByRole('status').filter({ hasText: 'Ready for calls on Reception 1' }).waitFor({ timeout: TIMEOUT });
    const user = browserSipUser(workstation.id);
    await registrations.waitFor(
      (event) => event.user === user && event.registered,
      `${user} registered with the new Kamailio`,
      TIMEOUT,
    );
  } finally {
    registrations.close();
  }
  const until = Date.now() + NOTHING_RINGS_MS;
  let checks = 0;
  while (Date.now() < until) {
    assert.is(await incomingCall().count(), 0, 'no incoming call shows');
    assert.is(await speakerSources(page), 0, 'no ringtone plays');
    checks += 1;
    await page.waitForTimeout(250);
  }
  assert.ok(await queue().getByText('No patients waiting').isVisible());
  console.log(`  nothing rang for ${NOTHING_RINGS_MS / 1000} s (${checks} looks at the page)`);

  // The control: a patient who is there rings her at once.
  const media = await PatientPhone.open();
  try {
    const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: media.port, timeoutMs: TIMEOUT });
    await incomingCall().getByText(PATIENT_NUMBER).waitFor({ timeout: TIMEOUT });
    assert.is((await dialog.hangUp(TIMEOUT)).status, 200);
    await incomingCall().waitFor({ state: 'detached', timeout: TIMEOUT });
    await dialog.close();
  } finally {
    media.close();
  }
});

test("a conversation in the browser goes on through a restart: JsSIP connects and registers again, and the patient's BYE afterwards ends it in the browser", async () => {
  const media = await PatientPhone.open();
  const registrations = await ChannelRecorder.subscribe<{ user: string; registered: boolean }>(
    path.redisUrl,
    RedisChannels.sipRegistrations,
  );
  try {
    const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: media.port, timeoutMs: TIMEOUT });
    await incomingCall().getByRole('button', { name: 'Answer' }).click();
    const call = page.getByRole('region', { name: 'Call', exact: true });
    await call.getByText('In call').waitFor({ timeout: TIMEOUT });

    const answered = (): number => path.app.logs.filter((l) => l.msg === 'Kamailio answered our OPTIONS').length;
    const before = answered();
    const restartAt = Date.now();
    await path.kamailio.restart();
    await waitFor('the sip app to reconnect to the new Kamailio', () => answered() > before, TIMEOUT);
    const user = browserSipUser(workstation.id);
    await registrations.waitFor((event) => event.user === user && event.registered, `${user} registered again`, 30_000);
    console.log(`  the browser registered again ${Date.now() - restartAt} ms after Kamailio was killed`);
    // Two keepalive intervals (5 s) go by, so that the browser's leg was asked too: the call stays up.
    const endedCalls = (): number => path.app.logs.filter((l) => l.msg === 'call ended').length;
    const endedBefore = endedCalls();
    const optionsBefore = dialog.requestsReceived('OPTIONS').length;
    await waitFor('two more keepalives', () => dialog.requestsReceived('OPTIONS').length >= optionsBefore + 2, 15_000);
    assert.is(endedCalls(), endedBefore, 'no call ended');
    assert.ok(await call.getByText('In call').isVisible(), 'still in call in the browser');

    assert.is((await dialog.hangUp(TIMEOUT)).status, 200);
    await page
      .getByRole('region', { name: 'Call ended' })
      .getByText('The caller hung up.')
      .waitFor({ timeout: TIMEOUT });
    await dialog.close();
  } finally {
    registrations.close();
    media.close();
  }
});

test('no page errors', () => {
  assert.equal(pageErrors, []);
});

test.run();
