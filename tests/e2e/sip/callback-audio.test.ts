/**
 * A callback from a real browser: headless Chromium runs the web app's own Softphone
 * (web/src/services/softphone.ts), registered with Kamailio as a workstation with signaling's
 * ephemeral credentials, and calls the target of a grant written as signaling writes it. Kamailio
 * lets the INVITE through to the sip app, which calls the patient through the outbound trunk with
 * rtpengine between the browser's WebRTC (ICE, DTLS-SRTP) and the trunk's plain RTP. The patient's
 * phone is a SIP peer over UDP at OUTBOUND_TRUNK with an RTP endpoint sending a 300 Hz tone;
 * Chromium's fake microphone beeps back.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Workstation } from '@deskline/protocol';
import { freePort } from '@deskline/scripts/free-port';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { waitFor } from '../../helpers/wait.js';
import { startCallPath, type CallPath } from '../../helpers/call-path.js';
import { CALLBACK_NUMBER, callbackEvents, grantCallback } from '../../helpers/callback-browser.js';
import { patientSdp } from '../../helpers/patient-line.js';
import { PatientPhone, packetsPerSecond } from '../../helpers/patient-phone.js';
import { TrunkPhone } from '../../helpers/trunk-phone.js';
import { workstationCredentials } from '../../helpers/kamailio.js';
import { PhonePageServer, SoftphonePage } from '../../helpers/browser-phone.js';

const TIMEOUT = 10_000;
const WORKSTATION: Workstation = { id: 'reception-1', name: 'Reception 1', kind: 'browser' };

interface Context {
  path: CallPath;
  trunk: TrunkPhone;
  pages: PhonePageServer;
  browser: TestBrowser;
  phone: SoftphonePage;
}

const test = suite<Context>('a callback from the browser');

test.before(async (context) => {
  const trunkPort = await freePort('127.0.0.1', ['udp']);
  context.path = await startCallPath({ appEnv: { SKIP_INTRO: 'true', OUTBOUND_TRUNK: `127.0.0.1:${trunkPort}` } });
  context.trunk = await TrunkPhone.open(context.path.kamailioPort, trunkPort);
  context.pages = await PhonePageServer.start();
  context.browser = await launchBrowser();
  const { kamailio } = context.path;
  const credentials = await workstationCredentials(kamailio, WORKSTATION.id);
  context.phone = await SoftphonePage.register(
    context.browser.context,
    context.pages.url,
    WORKSTATION,
    credentials,
    TIMEOUT,
  );
});

test.after(async (context) => {
  await context.browser?.close();
  await context.pages?.close();
  await context.trunk?.close();
  await context.path?.stop();
});

function grant(context: Context) {
  return grantCallback(context.path.redis, { domain: context.path.kamailio.domain, sipUser: `ws-${WORKSTATION.id}` });
}

test("Call back: the patient's phone rings at once, answers, and they hear each other; the employee hangs up and the callback ends answered", async (context) => {
  const { path, trunk, phone } = context;
  const media = await PatientPhone.open();
  try {
    const { grant: granted, target } = await grant(context);
    const clickedAt = Date.now();
    assert.ok(await phone.call(target, CALLBACK_NUMBER), 'the softphone places the call');
    const connecting = await phone.waitForCall('connecting', "call.state === 'connecting'", TIMEOUT);
    assert.is(connecting.direction, 'outgoing');
    assert.is(connecting.number, CALLBACK_NUMBER);
    const atTrunk = await trunk.nextCall(TIMEOUT);
    assert.is(atTrunk.number, CALLBACK_NUMBER);
    atTrunk.ring();
    const ringing = await phone.waitForCall('remote ringing', 'call.remoteRinging === true', TIMEOUT);
    assert.is(ringing.state, 'connecting', 'an outgoing call is never `ringing` (that means "rings here")');
    await atTrunk.answer(patientSdp(media.port));
    const inCall = await phone.waitForCall('in call', "call.state === 'in-call'", TIMEOUT);
    const answered = await waitFor(
      'the answered event',
      async () => (await callbackEvents(path.redis, granted.callbackId)).find((v) => v.state === 'answered'),
      TIMEOUT,
    );

    // The patient's 300 Hz tone reaches the browser; the browser's microphone (beeps) reaches the patient.
    const level = await phone.heardAbove(0.02, TIMEOUT);
    const firstBeep = await media.waitUntil(
      "the browser's beep",
      (r) => r.find((p) => p.at >= inCall.at && p.rms > 300),
      TIMEOUT,
    );
    const fromBrowser = await media.waitUntil(
      "2 s of the browser's audio",
      (r) => {
        const packets = r.filter((p) => p.at >= firstBeep.at);
        const last = packets[packets.length - 1];
        return last && last.at - firstBeep.at >= 2000 ? packets : undefined;
      },
      TIMEOUT,
    );
    const pps = packetsPerSecond(fromBrowser);
    console.log(
      `  click -> INVITE at the trunk ${atTrunk.at - clickedAt} ms, -> "ringing" shown ${ringing.at - clickedAt} ms; ` +
        `200 at the trunk -> in call ${inCall.at - answered.answeredAt!} ms; browser hears the patient at RMS ${level.toFixed(3)}; ` +
        `patient gets ${pps.toFixed(1)} packets/s from the browser (${fromBrowser.filter((p) => p.payloadType === 0).length}/${fromBrowser.length} PCMU)`,
    );
    assert.ok(pps > 45 && pps < 55, `${pps} packets/s`);
    assert.ok(
      fromBrowser.every((p) => p.payloadType === 0),
      'PCMU towards the patient, as answered',
    );

    await phone.hangUp();
    await atTrunk.waitForBye(TIMEOUT);
    const ended = await phone.waitForCall('ended', "call.state === 'ended'", TIMEOUT);
    assert.is(ended.endReason, 'You ended the call.');
    const view = await waitFor(
      'the callback to end',
      async () => (await callbackEvents(path.redis, granted.callbackId)).find((v) => v.state === 'ended'),
      TIMEOUT,
    );
    assert.is(view.outcome, 'answered');
    await waitFor('rtpengine to hold no call', async () => (await path.rtpengine.list()).length === 0, TIMEOUT);
  } finally {
    media.close();
    await phone.reset();
  }
});

test("the patient's line is busy: the softphone says so, the callback ends busy", async (context) => {
  const { path, trunk, phone } = context;
  const { grant: granted, target } = await grant(context);
  assert.ok(await phone.call(target, CALLBACK_NUMBER));
  const atTrunk = await trunk.nextCall(TIMEOUT);
  await atTrunk.refuse(486, 'Busy Here');
  const ended = await phone.waitForCall('ended', "call.state === 'ended'", TIMEOUT);
  assert.is(ended.endReason, 'The line is busy.');
  const view = await waitFor(
    'the callback to end',
    async () => (await callbackEvents(path.redis, granted.callbackId)).find((v) => v.state === 'ended'),
    TIMEOUT,
  );
  assert.is(view.outcome, 'busy');
  await phone.reset();
});

test("the employee hangs up while the patient's phone rings: CANCEL to the trunk, the callback ends cancelled", async (context) => {
  const { path, trunk, phone } = context;
  const { grant: granted, target } = await grant(context);
  assert.ok(await phone.call(target, CALLBACK_NUMBER));
  const atTrunk = await trunk.nextCall(TIMEOUT);
  atTrunk.ring();
  await phone.waitForCall('remote ringing', 'call.remoteRinging === true', TIMEOUT);
  await phone.hangUp();
  await atTrunk.waitForCancel(TIMEOUT);
  const ended = await phone.waitForCall('ended', "call.state === 'ended'", TIMEOUT);
  assert.is(ended.endReason, 'You hung up before anyone answered.');
  const view = await waitFor(
    'the callback to end',
    async () => (await callbackEvents(path.redis, granted.callbackId)).find((v) => v.state === 'ended'),
    TIMEOUT,
  );
  assert.is(view.outcome, 'cancelled');
  await waitFor('rtpengine to hold no call', async () => (await path.rtpengine.list()).length === 0, TIMEOUT);
});

test.run();
