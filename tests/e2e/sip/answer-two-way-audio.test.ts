/**
 * A patient's call answered in a real browser: headless Chromium runs JsSIP, registered with
 * Kamailio as a workstation with signaling's ephemeral credentials; the sip app rings it, bridges it
 * through rtpengine (DTLS-SRTP and ICE towards the browser, plain RTP towards the patient), and tears
 * it down from either side. Redis, rtpengine, Kamailio and the sip app are real processes; the
 * patient is a SIP peer over UDP with an RTP endpoint sending a 300 Hz tone, and Chromium's fake
 * microphone beeps back.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Workstation } from '@deskline/protocol';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { waitFor } from '../../helpers/wait.js';
import { CallEvents } from '../../helpers/call-events.js';
import { CLINIC_NUMBER, startCallPath, type CallPath } from '../../helpers/call-path.js';
import { WORKSTATIONS } from '../../helpers/clinic.js';
import { PATIENT_NUMBER, PatientLine, type PatientDialog } from '../../helpers/patient-line.js';
import { PatientPhone, packetsPerSecond, type Received } from '../../helpers/patient-phone.js';
import { Staff } from '../../helpers/staff.js';
import { workstationCredentials } from '../../helpers/kamailio.js';
import { BrowserPhone, PhonePageServer } from '../../helpers/browser-phone.js';

const TIMEOUT = 10_000;
const RING_TIMEOUT_SECONDS = 3;
const USER = 'anna';

interface Context {
  path: CallPath;
  events: CallEvents;
  staff: Staff;
  line: PatientLine;
  pages: PhonePageServer;
  browser: TestBrowser;
  workstation: Workstation;
  phone: BrowserPhone;
  calls: number;
}

const test = suite<Context>('a patient answered in the browser');

test.before(async (context) => {
  context.path = await startCallPath({
    appEnv: { SKIP_INTRO: 'true', RING_TIMEOUT_SECONDS: String(RING_TIMEOUT_SECONDS) },
  });
  context.events = await CallEvents.open(context.path.redisUrl);
  context.staff = new Staff(context.path.redis);
  context.line = await PatientLine.open(context.path.kamailioPort);
  context.pages = await PhonePageServer.start();
  context.browser = await launchBrowser();
  context.workstation = await context.staff.workstation(WORKSTATIONS.reception1.name);
  context.phone = await browserAt(context, context.workstation);
  await context.staff.available(USER, context.workstation.id);
  context.calls = 0;
});

test.after(async (context) => {
  await context.browser?.close();
  await context.pages?.close();
  await context.line?.close();
  await context.events?.close();
  await context.path?.stop();
});

/** A browser page registered as `workstation`, with the credentials signaling would give it. */
async function browserAt(context: Context, workstation: Workstation): Promise<BrowserPhone> {
  const { kamailio } = context.path;
  const credentials = await workstationCredentials(kamailio, workstation.id);
  return BrowserPhone.register(context.browser.context, context.pages.url, credentials, TIMEOUT);
}

/** The patient calls; the browser rings with the caller's number and answers; the call is bridged. */
async function answeredCall(
  context: Context,
): Promise<{ dialog: PatientDialog; media: PatientPhone; id: string; answeredAt: number }> {
  const { events, line, phone } = context;
  const media = await PatientPhone.open();
  const from = events.mark();
  const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: media.port });
  const incoming = await phone.incoming(context.calls++, TIMEOUT);
  assert.is(incoming.number, PATIENT_NUMBER, "the browser shows the caller's number");
  assert.is(incoming.displayName, PATIENT_NUMBER);
  const id = incoming.callId ?? '';
  const waiting = await events.waitFor({ callId: id, state: 'waiting', from });
  const latency = incoming.at - (waiting.call.queuedAt ?? 0);
  assert.ok(latency < 1000, `the browser rang ${latency} ms after the call became waiting`);
  const answer = await phone.answer(TIMEOUT);
  const bridged = await events.waitFor({ callId: id, state: 'bridged', from }, TIMEOUT);
  assert.is(bridged.call.agentUserId, USER);
  console.log(
    `  browser rang ${latency} ms after the call became waiting; answered with ${answer.codec}, DTLS setup ${answer.setup}`,
  );
  assert.is(answer.setup, 'active', 'the browser takes the DTLS client role; rtpengine offered actpass');
  return { dialog, media, id, answeredAt: answer.confirmedAt };
}

/** What the patient received from `since` on, once it spans `ms`. */
function patientReceived(media: PatientPhone, since: number, ms: number): Promise<Received[]> {
  return media.waitUntil(
    `${ms} ms of the browser's audio`,
    (received) => {
      const packets = received.filter((p) => p.at >= since);
      const last = packets[packets.length - 1];
      return last && last.at - since >= ms ? packets : undefined;
    },
    ms + TIMEOUT,
  );
}

test("the browser is rung with the caller's number and answers: audio both ways through rtpengine; its hang-up ends the patient's leg", async (context) => {
  const { path, events, staff, phone } = context;
  const { dialog, media, id, answeredAt } = await answeredCall(context);
  try {
    // The patient's 300 Hz tone reaches the browser (analyser on the remote track), without a gap.
    await phone.heardAbove(0.02, TIMEOUT);
    const level = await phone.level(1000);
    // The browser's microphone (Chromium's fake device beeps) reaches the patient, 50 packets a second.
    const firstBeep = await media.waitUntil(
      "the browser's beep",
      (r) => r.find((p) => p.at >= answeredAt && p.rms > 300),
      TIMEOUT,
    );
    const fromBrowser = await patientReceived(media, firstBeep.at, 2000);
    const pps = packetsPerSecond(fromBrowser);
    const loud = fromBrowser.filter((p) => p.rms > 300).length;
    console.log(
      `  browser hears the patient at RMS ${level.mean.toFixed(3)} (quietest 20 ms: ${level.min.toFixed(3)}); patient gets ${pps.toFixed(1)} packets/s from the browser, ${loud} of ${fromBrowser.length} carrying the beep`,
    );
    assert.ok(level.min > 0.02, `the browser heard silence: ${JSON.stringify(level)}`);
    assert.ok(pps > 45 && pps < 55, `${pps} packets/s`);
    assert.ok(
      fromBrowser.every((p) => p.payloadType === 0),
      'PCMU towards the patient, as negotiated',
    );
    // The hold music plays without a pause; the fake microphone beeps with silence between beeps.
    assert.ok(
      fromBrowser.filter((p) => p.rms < 100).length > fromBrowser.length / 2,
      'the continuous hold music has stopped',
    );
    assert.is((await staff.agent(USER)).state, 'on-call');

    await phone.hangUp();
    await dialog.waitForBye(TIMEOUT);
    const ended = await events.waitFor({ callId: id, state: 'ended' }, TIMEOUT);
    assert.ok(ended.call.endedAt);
    await waitFor('the agent to be available again', async () => (await staff.agent(USER)).idleScore !== undefined);
    assert.is((await staff.agent(USER)).state, 'available');
    await waitFor('rtpengine to hold no call', async () => (await path.rtpengine.list()).length === 0);
  } finally {
    await dialog.close();
    media.close();
    await phone.reset();
  }
});

test("the patient hangs up a call answered in the browser: the browser's call ends, the agent is available again", async (context) => {
  const { path, events, staff, phone } = context;
  const { dialog, media, id } = await answeredCall(context);
  try {
    await phone.heardAbove(0.02, TIMEOUT);
    const byeAnswer = await dialog.hangUp();
    assert.is(byeAnswer.status, 200);
    const ended = await phone.ended(TIMEOUT);
    assert.is(ended.originator, 'remote');
    assert.is(ended.cause, 'Terminated');
    await events.waitFor({ callId: id, state: 'ended' }, TIMEOUT);
    await waitFor('the agent to be available again', async () => (await staff.agent(USER)).idleScore !== undefined);
    await waitFor('rtpengine to hold no call', async () => (await path.rtpengine.list()).length === 0);
  } finally {
    await dialog.close();
    media.close();
    await phone.reset();
  }
});

test('the first browser lets it ring out; after RING_TIMEOUT_SECONDS the next one rings, answers, and the audio flows both ways', async (context) => {
  const { events, staff, line, phone } = context;
  const second = await staff.workstation(WORKSTATIONS.reception2.name);
  const benPhone = await browserAt(context, second);
  // Ben has been idle for less time than Anna: Anna's browser rings first.
  await staff.available('ben', second.id);
  const media = await PatientPhone.open();
  const from = events.mark();
  const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: media.port });
  try {
    const first = await phone.incoming(context.calls++, TIMEOUT);
    const missed = await phone.ended(RING_TIMEOUT_SECONDS * 1000 + TIMEOUT);
    assert.is(missed.cause, 'Canceled', 'CANCELled by the sip app');
    assert.ok(Math.abs(missed.at - first.at - RING_TIMEOUT_SECONDS * 1000) < 500, `rang ${missed.at - first.at} ms`);
    const next = await benPhone.incoming(0, TIMEOUT);
    assert.is(next.callId, first.callId);
    const answer = await benPhone.answer(TIMEOUT);
    const bridged = await events.waitFor({ callId: next.callId ?? '', state: 'bridged', from }, TIMEOUT);
    assert.is(bridged.call.agentUserId, 'ben');

    await benPhone.heardAbove(0.02, TIMEOUT);
    const level = await benPhone.level(1000);
    const firstBeep = await media.waitUntil(
      "the second browser's beep",
      (r) => r.find((p) => p.at >= answer.confirmedAt && p.rms > 300),
      TIMEOUT,
    );
    const pps = packetsPerSecond(await patientReceived(media, firstBeep.at, 1000));
    console.log(
      `  first browser CANCELled after ${missed.at - first.at} ms; the second hears the patient at RMS ${level.mean.toFixed(3)}, sends ${pps.toFixed(1)} packets/s`,
    );
    assert.ok(level.min > 0.02, JSON.stringify(level));
    assert.ok(pps > 45 && pps < 55, `${pps} packets/s`);

    await dialog.hangUp();
    assert.is((await benPhone.ended(TIMEOUT)).originator, 'remote');
    await events.waitFor({ callId: next.callId ?? '', state: 'ended', from }, TIMEOUT);
  } finally {
    await dialog.close();
    media.close();
    await phone.reset();
    await benPhone.page.close();
    await staff.leave('ben');
  }
});

test.run();
