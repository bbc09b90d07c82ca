/**
 * A patient's call from sipp to the web app, every part real: sipp is the patient's phone (SIP over
 * UDP, and PCMU RTP streamed from a file with a 600 Hz tone), through Kamailio, the sip app and
 * rtpengine, to the web app in headless Chromium, where a receptionist has logged in through the
 * login page and picked a workstation. Chromium's fake microphone plays a 1400 Hz tone, so that what
 * reaches the patient can be told apart from the queue's hold music (a 1000 Hz tone in these tests).
 *
 * sipp cannot say what it hears, so tshark captures the packets that arrive at its media port and the
 * test decodes them. The browser's side is measured with a Web Audio analyser on the call's <audio>.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import type { Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '@deskline/scripts/free-port';
import {
  activeCall,
  answerAndHearBothWays as answerInBrowser,
  callEndsAndIdles as idlesAfter,
  logInAndRegister,
  openReceptionDesk,
  type BrowserAnswer,
  type ReceptionDesk,
} from '../../helpers/answer-in-browser.js';
import { RtpCapture } from '../../helpers/rtp-capture.js';
import { describeSipp, type CallPath, type SippResult } from '../../helpers/call-path.js';
import { PATIENT_NUMBER } from '../../helpers/patient-line.js';
import { writeTone } from '../../helpers/tones.js';

/** Generous: another test run may share this machine's two cores. */
const TIMEOUT = 20_000;
/** The patient's voice (sipp's stream) and the receptionist's (Chromium's fake microphone). */
const PATIENT_HZ = 600;
const MICROPHONE_HZ = 1400;
/**
 * How long the hanging-up patient stays on the line after the call is answered by the queue. sipp
 * cannot be told when to hang up, only how long to wait; this leaves the test's checks (about 6 s
 * here) room to spare, and the test fails saying so if they ever take longer.
 */
const PATIENT_STAYS_MS = 20_000;

let work: string;
let desk: ReceptionDesk;
let path: CallPath;
let page: Page;
const pageErrors: string[] = [];

test.before(async () => {
  work = mkdtempSync(nodePath.join(os.tmpdir(), 'deskline-sipp-audio-'));
  // sipp 3.6.1 streams a file's bytes as they are, so its file is raw µ-law (a WAV header would be
  // sent as sound). Whole periods in 5 s, so the loops join without a click.
  await writeTone(nodePath.join(work, 'patient-voice.ul'), { hz: PATIENT_HZ, seconds: 5, format: 'ulaw' });
  desk = await openReceptionDesk(work, MICROPHONE_HZ);
  path = desk.stack.callPath;
});

test.after(async () => {
  await desk?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface PatientCall {
  capture: RtpCapture;
  /** Settles when sipp exits: its scenario passed when `code` is 0. */
  sipp: Promise<SippResult>;
  /** Whether sipp has exited. */
  ended(): boolean;
}

/** sipp dials the clinic line with `scenario`; the capture of its media port runs before it does. */
async function patientCalls(scenario: string, options: { staysMs?: number; timeoutMs: number }): Promise<PatientCall> {
  const mediaPort = await freePort('127.0.0.1', ['udp']);
  const capture = await RtpCapture.start({ port: mediaPort });
  let ended = false;
  const sipp = path.sipp(scenario, {
    mediaPort,
    cwd: work,
    timeoutMs: options.timeoutMs,
    ...(options.staysMs !== undefined ? { pauseMs: options.staysMs } : {}),
  });
  void sipp.then(() => (ended = true));
  return { capture, sipp, ended: () => ended };
}

const ANSWER: BrowserAnswer = {
  caller: PATIENT_NUMBER,
  workstation: 'Reception 1',
  patientHz: PATIENT_HZ,
  microphoneHz: MICROPHONE_HZ,
  timeoutMs: TIMEOUT,
};

function answerAndHearBothWays(call: PatientCall): Promise<void> {
  return answerInBrowser(page, call.capture, ANSWER);
}

function callEndsAndIdles(reason: string, withinMs = TIMEOUT): Promise<void> {
  return idlesAfter(page, ANSWER, reason, withinMs);
}

/** Cleans up after a test that failed half-way: sipp always ends, at the latest at its -timeout. */
async function finish(call: PatientCall): Promise<void> {
  const hangUp = activeCall(page).getByRole('button', { name: 'Hang up' });
  if (!call.ended() && (await hangUp.isVisible())) await hangUp.click();
  await call.sipp;
  await call.capture.stop();
}

test('the receptionist logs in and picks Reception 1: the browser registers', async () => {
  page = await logInAndRegister(desk, pageErrors, TIMEOUT);
});

test("sipp calls and is answered in the browser: audio both ways; the patient hangs up, and the browser's call ends", async () => {
  const call = await patientCalls('uac-pcmu-answered-patient-hangs-up.xml', {
    staysMs: PATIENT_STAYS_MS,
    timeoutMs: PATIENT_STAYS_MS + 30_000,
  });
  try {
    const started = Date.now();
    await answerAndHearBothWays(call);
    assert.ok(
      !call.ended(),
      `the patient hung up before the checks ended (${Date.now() - started} ms): raise PATIENT_STAYS_MS`,
    );
    assert.ok(await activeCall(page).getByText('In call').isVisible(), 'the browser is still in the call');
    console.log(
      `  ringing, answering and both checks took ${Date.now() - started} ms; the patient stays ${PATIENT_STAYS_MS} ms`,
    );

    const [result] = await Promise.all([
      call.sipp,
      callEndsAndIdles('The caller hung up.', PATIENT_STAYS_MS + TIMEOUT),
    ]);
    assert.is(result.code, 0, describeSipp(result));
  } finally {
    await finish(call);
  }
});

test('sipp calls and is answered in the browser: audio both ways; Hang up in the browser sends sipp a BYE and its scenario passes', async () => {
  const call = await patientCalls('uac-pcmu-answered-expect-bye.xml', { timeoutMs: 90_000 });
  try {
    await answerAndHearBothWays(call);
    await activeCall(page).getByRole('button', { name: 'Hang up' }).click();
    const [result] = await Promise.all([call.sipp, callEndsAndIdles('You ended the call.')]);
    assert.is(result.code, 0, describeSipp(result));
    assert.match(result.messages, /^BYE sip:/m, 'sipp received the BYE');
  } finally {
    await finish(call);
  }
});

test('a late offer from sipp (INVITE without SDP): our offer in the 200, its answer in the ACK; hold music, then audio both ways with the browser; the patient hangs up', async () => {
  const call = await patientCalls('uac-invite-without-sdp-expect-offer-in-200.xml', {
    staysMs: PATIENT_STAYS_MS,
    timeoutMs: PATIENT_STAYS_MS + 30_000,
  });
  try {
    await answerAndHearBothWays(call);
    assert.ok(!call.ended(), 'the patient hung up before the checks ended: raise PATIENT_STAYS_MS');
    const [result] = await Promise.all([
      call.sipp,
      callEndsAndIdles('The caller hung up.', PATIENT_STAYS_MS + TIMEOUT),
    ]);
    assert.is(result.code, 0, describeSipp(result));
    assert.not.match(
      result.messages,
      /^INVITE [^\n]*\n(?:[^\n]+\n)*Content-Type: application\/sdp/m,
      'the INVITE carried no SDP',
    );
  } finally {
    await finish(call);
  }
});

test('no page errors', () => {
  assert.equal(pageErrors, []);
});

test.run();
