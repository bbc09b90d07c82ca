/**
 * A patient's call placed by a second, real SIP stack: Debian's linphone (`linphone-daemon`), calling
 * Kamailio's port from the trunk's address (127.0.0.1) as a clinic's PBX forwards a patient. Every
 * other part is real too: Kamailio, the sip app, rtpengine, and the web app in headless Chromium, where
 * a receptionist has logged in and picked a workstation.
 *
 * - Late offer (`sdp_200_ack=1`): linphone's INVITE has no SDP; the 200 carries our offer and
 *   linphone's ACK its answer, as some PBXs and carriers do.
 * - Early offer: linphone's usual INVITE, offering its whole codec list (Opus, Speex, G.722, …, PCMU,
 *   PCMA), of which the call must settle on one that the hold music and the bridge carry.
 *
 * Linphone has no sound card here: its microphone is a WAV file with a 600 Hz tone played into the
 * call, and what it hears is captured by tshark at its RTP port (see tests/helpers/linphone-phone.ts).
 * Chromium's fake microphone plays 1400 Hz; the hold music is 1000 Hz.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import type { Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  activeCall,
  answerAndHearBothWays,
  callEndsAndIdles,
  logInAndRegister,
  openReceptionDesk,
  type BrowserAnswer,
  type ReceptionDesk,
} from '../../helpers/answer-in-browser.js';
import { CLINIC_NUMBER, activeCallIds, type CallPath } from '../../helpers/call-path.js';
import { LinphonePhone } from '../../helpers/linphone-phone.js';
import { PATIENT_NUMBER } from '../../helpers/patient-line.js';
import { RtpCapture } from '../../helpers/rtp-capture.js';
import { waitFor } from '../../helpers/wait.js';
import { writeTone } from '../../helpers/tones.js';

/** Generous: another test run may share this machine's two cores. */
const TIMEOUT = 20_000;
const PATIENT_HZ = 600;
const MICROPHONE_HZ = 1400;
const ANSWER: BrowserAnswer = {
  caller: PATIENT_NUMBER,
  workstation: 'Reception 1',
  patientHz: PATIENT_HZ,
  microphoneHz: MICROPHONE_HZ,
  timeoutMs: TIMEOUT,
};

let work: string;
let voice: string;
let desk: ReceptionDesk;
let path: CallPath;
let page: Page;
const pageErrors: string[] = [];

test.before(async () => {
  work = mkdtempSync(nodePath.join(os.tmpdir(), 'deskline-linphone-audio-'));
  // linphone's in-call player reads 16-bit WAV; it plays the file once, so it lasts the whole call.
  voice = nodePath.join(work, 'patient-voice.wav');
  await writeTone(voice, { hz: PATIENT_HZ, seconds: 120, format: 'wav', rate: 8000 });
  desk = await openReceptionDesk(work, MICROPHONE_HZ);
  path = desk.stack.callPath;
});

test.after(async () => {
  await desk?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface LinphoneCall {
  phone: LinphonePhone;
  /** What arrives at linphone's RTP port: what the patient hears. */
  capture: RtpCapture;
}

/** linphone dials the clinic line through Kamailio; resolves once its media runs, its voice playing. */
async function linphoneCalls(name: string, lateOffer: boolean): Promise<LinphoneCall> {
  const dir = nodePath.join(work, name);
  mkdirSync(dir);
  const phone = await LinphonePhone.start({ work: dir, number: PATIENT_NUMBER, lateOffer });
  let capture: RtpCapture | undefined;
  try {
    capture = await RtpCapture.start({ port: phone.rtpPort });
    await phone.call(`sip:${CLINIC_NUMBER}@127.0.0.1:${path.kamailioPort}`);
    await phone.waitForState('StreamsRunning', TIMEOUT);
    await phone.play(voice);
    return { phone, capture };
  } catch (error) {
    await capture?.stop();
    await phone.stop();
    throw error;
  }
}

/** The SIP linphone exchanged: its INVITE, our 200 to it, and its ACK. */
function inviteExchange(phone: LinphonePhone): { invite: string; inviteBody: string; okBody: string; ackBody: string } {
  const messages = phone.sipMessages();
  const invite = messages.find((m) => m.direction === 'sent' && m.startLine.startsWith('INVITE '));
  const ok = messages.find(
    (m) => m.direction === 'received' && m.startLine.startsWith('SIP/2.0 200') && /^CSeq:\s*\d+ INVITE/im.test(m.text),
  );
  const ack = messages.find((m) => m.direction === 'sent' && m.startLine.startsWith('ACK '));
  assert.ok(
    invite && ok && ack,
    `linphone's log shows its INVITE, the 200 and its ACK: ${messages.map((m) => `${m.direction} ${m.startLine}`).join(', ')}`,
  );
  return { invite: invite.text, inviteBody: invite.body, okBody: ok.body, ackBody: ack.body };
}

async function nothingLeft(): Promise<void> {
  await waitFor('no active calls', async () => (await activeCallIds(path.redis)).length === 0, TIMEOUT);
  await waitFor('rtpengine to hold no call', async () => (await path.rtpengine.list()).length === 0, TIMEOUT);
}

async function finish(call: LinphoneCall): Promise<void> {
  const hangUp = activeCall(page).getByRole('button', { name: 'Hang up' });
  if (await hangUp.isVisible()) await hangUp.click();
  await call.capture.stop();
  await call.phone.stop();
}

test('the receptionist logs in and picks Reception 1: the browser registers', async () => {
  page = await logInAndRegister(desk, pageErrors, TIMEOUT);
});

test('linphone sends a late offer (INVITE without SDP): our offer in the 200, its answer in the ACK; hold music, then audio both ways with the browser; the patient hangs up', async () => {
  const call = await linphoneCalls('late-offer', true);
  try {
    const sip = inviteExchange(call.phone);
    assert.match(sip.invite, /^Content-Length:\s*0$/m, "linphone's INVITE carries no SDP");
    assert.is(sip.inviteBody, '');
    assert.match(sip.okBody, /^m=audio \d+ RTP\/AVP/m, 'the 200 carries our offer');
    for (const codec of ['PCMU/8000', 'PCMA/8000', 'telephone-event/8000'])
      assert.match(sip.okBody, new RegExp(`^a=rtpmap:\\d+ ${codec}$`, 'm'), `the offer has ${codec}`);
    assert.match(sip.ackBody, /^m=audio \d+ RTP\/AVP/m, "linphone's answer is in the ACK");

    await answerAndHearBothWays(page, call.capture, ANSWER);
    await call.phone.hangUp();
    await callEndsAndIdles(page, ANSWER, 'The caller hung up.');
    await call.phone.waitForState('Released', TIMEOUT);
    await nothingLeft();
    console.log(`  linphone's call: ${call.phone.callStates.join(' → ')}`);
  } finally {
    await finish(call);
  }
});

test("linphone sends an early offer with its whole codec list: hold music, then audio both ways with the browser; Hang up in the browser ends linphone's call", async () => {
  const call = await linphoneCalls('early-offer', false);
  try {
    const sip = inviteExchange(call.phone);
    assert.match(sip.inviteBody, /^m=audio \d+ RTP\/AVP( \d+)+$/m, "linphone's INVITE carries its offer");
    assert.match(sip.okBody, /^a=rtpmap:0 PCMU\/8000$/m, 'the 200 answers with PCMU');
    assert.is(sip.ackBody, '', 'nothing more in the ACK');

    await answerAndHearBothWays(page, call.capture, ANSWER);
    await activeCall(page).getByRole('button', { name: 'Hang up' }).click();
    await callEndsAndIdles(page, ANSWER, 'You ended the call.');
    await call.phone.waitForState('End', TIMEOUT);
    assert.ok(
      call.phone.sipMessages().some((m) => m.direction === 'received' && m.startLine.startsWith('BYE ')),
      'linphone received a BYE',
    );
    await nothingLeft();
    console.log(`  linphone's call: ${call.phone.callStates.join(' → ')}`);
  } finally {
    await finish(call);
  }
});

test('no page errors', () => {
  assert.equal(pageErrors, []);
});

test.run();
