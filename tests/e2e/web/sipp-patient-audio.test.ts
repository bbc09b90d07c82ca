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
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisChannels, browserSipUser, type Workstation } from '@deskline/protocol';
import { freePort } from '@deskline/scripts/free-port';
import { installAudioProbe, measureElementAudio, speakerSources, takeSpeakerPeak, waitForElementAudio } from '../../helpers/audio-probe.js';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { ChannelRecorder } from '../../helpers/redis-events.js';
import { RtpCapture, analysePcmu, type PcmuAnalysis } from '../../helpers/rtp-capture.js';
import { waitFor } from '../../helpers/wait.js';
import { HOLD_MUSIC_HZ, describeSipp, type CallPath, type SippResult } from '../../helpers/call-path.js';
import { PATIENT_NUMBER } from '../../helpers/patient-line.js';
import { startWebStack, type WebStack } from '../../helpers/web-stack.js';

/** Generous: another test run may share this machine's two cores. */
const TIMEOUT = 20_000;
const EMAIL = 'anna@clinic.example';
const PASSWORD = 'Anna Reception password';
/** The patient's voice (sipp's stream) and the receptionist's (Chromium's fake microphone). */
const PATIENT_HZ = 600;
const MICROPHONE_HZ = 1400;
/**
 * How long the hanging-up patient stays on the line after the call is answered by the queue. sipp
 * cannot be told when to hang up, only how long to wait; this leaves the test's checks (about 6 s
 * here) room to spare, and the test fails saying so if they ever take longer.
 */
const PATIENT_STAYS_MS = 20_000;

const run = promisify(execFile);

let work: string;
let path: CallPath;
let app: FastifyInstance;
let base: string;
let stack: WebStack;
let browser: TestBrowser;
let page: Page;
let workstation: Workstation;
const pageErrors: string[] = [];

test.before(async () => {
  work = mkdtempSync(nodePath.join(os.tmpdir(), 'deskline-sipp-audio-'));
  // sipp 3.6.1 streams a file's bytes as they are, so its file is raw µ-law (a WAV header would be
  // sent as sound). Whole periods in 5 s, so the loops join without a click.
  await run('sox', ['-n', '-r', '8000', '-c', '1', '-t', 'ul', nodePath.join(work, 'patient-voice.ul'), 'synth', '5', 'sine', String(PATIENT_HZ), 'vol', '0.5']);
  const microphone = nodePath.join(work, 'microphone.wav');
  await run('sox', ['-n', '-r', '48000', '-c', '1', '-b', '16', microphone, 'synth', '5', 'sine', String(MICROPHONE_HZ), 'vol', '0.5']);

  stack = await startWebStack({ appEnv: { SKIP_INTRO: 'true', RING_TIMEOUT_SECONDS: '30' } });
  ({ callPath: path, app, base } = stack);
  await app.users.create({ email: EMAIL, displayName: 'Anna Reception', role: 'employee', password: PASSWORD });
  workstation = await app.workstations.create({ name: 'Reception 1', kind: 'browser' });
  browser = await launchBrowser({ args: [`--use-file-for-fake-audio-capture=${microphone}`] });
  await installAudioProbe(browser.context);
});

test.after(async () => {
  await browser?.close();
  await stack?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function incomingCall() {
  return page.getByRole('region', { name: 'Incoming call' });
}

function activeCall() {
  return page.getByRole('region', { name: 'Call', exact: true });
}

function queue() {
  return page.getByRole('region', { name: /Queue/ });
}

function callAudio() {
  return page.locator('dl-call-panel audio');
}

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

/**
 * The browser rings with the patient's number; the test clicks Answer; audio is then proven both
 * ways: the page hears the patient's tone, and the patient receives the browser's.
 */
async function answerAndHearBothWays(call: PatientCall): Promise<void> {
  const panel = incomingCall();
  await panel.getByText(PATIENT_NUMBER).waitFor({ timeout: TIMEOUT });
  await queue().getByText('Ringing · Reception 1').waitFor({ timeout: TIMEOUT });
  await waitFor('the ringtone', async () => (await speakerSources(page)) > 0 && (await takeSpeakerPeak(page)) > 0.05, TIMEOUT);

  // Until someone answers, the patient hears the hold music, and nothing of the browser's tone.
  const holdMusic = analysePcmu(await call.capture.span(Date.now(), 2000, TIMEOUT), [MICROPHONE_HZ, HOLD_MUSIC_HZ]);
  assert.ok((holdMusic.shares[HOLD_MUSIC_HZ] ?? 0) > 0.9, `the patient hears hold music while it rings: ${JSON.stringify(holdMusic)}`);
  assert.ok(holdMusic.packetsPerSecond > 42 && holdMusic.packetsPerSecond < 58, `hold music at ${holdMusic.packetsPerSecond} packets/s: ${JSON.stringify(holdMusic)}`);

  await panel.getByRole('button', { name: 'Answer' }).click();
  await activeCall().getByText('In call').waitFor({ timeout: TIMEOUT });
  await queue().getByText('In call · Reception 1').waitFor({ timeout: TIMEOUT });
  await waitFor('the ringtone to stop', async () => (await speakerSources(page)) === 0, TIMEOUT);
  const answeredAt = Date.now();

  // The patient's voice reaches the page: the analyser is not silent, and its loudest note is sipp's.
  const firstRms = await waitForElementAudio(callAudio(), 0.02, TIMEOUT);
  const heard = await measureElementAudio(callAudio(), 500);
  assert.ok(heard.rms > 0.02, `the page hears silence: RMS ${heard.rms}`);
  assert.ok(Math.abs(heard.peakHz - PATIENT_HZ) < 30, `the page hears ${heard.peakHz.toFixed(0)} Hz, not the patient's ${PATIENT_HZ} Hz`);

  // The browser's microphone reaches the patient: 2 s of what arrives at sipp's media port, decoded.
  const first = await call.capture.firstTone(MICROPHONE_HZ, answeredAt, TIMEOUT);
  const packets = await call.capture.span(first.at, 2000, TIMEOUT);
  const fromBrowser = analysePcmu(packets, [MICROPHONE_HZ, HOLD_MUSIC_HZ, PATIENT_HZ]);
  const summary = JSON.stringify(fromBrowser);
  assert.ok(packets.every((p) => p.payloadType === 0), 'PCMU towards the patient, as its SDP offered');
  assert.ok(fromBrowser.packetsPerSecond > 45 && fromBrowser.packetsPerSecond < 55, `${fromBrowser.packetsPerSecond} packets/s: ${summary}`);
  assert.ok((fromBrowser.shares[MICROPHONE_HZ] ?? 0) > 0.8, `the browser's tone dominates what the patient gets: ${summary}`);
  assert.ok((fromBrowser.shares[HOLD_MUSIC_HZ] ?? 1) < 0.01, `the hold music has stopped: ${summary}`);
  assert.ok(fromBrowser.rms > 1000, `audible at the patient: ${summary}`);

  const share = (a: PcmuAnalysis, hz: number): string => `${((a.shares[hz] ?? 0) * 100).toFixed(2)}%`;
  console.log(
    `  before Answer the patient gets ${holdMusic.packetsPerSecond.toFixed(1)} packets/s, ${share(holdMusic, HOLD_MUSIC_HZ)} of the energy at ${HOLD_MUSIC_HZ} Hz (hold music), ${share(holdMusic, MICROPHONE_HZ)} at ${MICROPHONE_HZ} Hz\n` +
      `  after Answer the page hears RMS ${firstRms.toFixed(3)} at first, ${heard.rms.toFixed(3)} over 500 ms, loudest at ${heard.peakHz.toFixed(0)} Hz; ` +
      `the patient gets ${fromBrowser.packetsPerSecond.toFixed(1)} packets/s (RMS ${fromBrowser.rms.toFixed(0)}), ${share(fromBrowser, MICROPHONE_HZ)} at ${MICROPHONE_HZ} Hz (browser), ${share(fromBrowser, HOLD_MUSIC_HZ)} at ${HOLD_MUSIC_HZ} Hz, ${share(fromBrowser, PATIENT_HZ)} at ${PATIENT_HZ} Hz; ` +
      `first browser packet ${first.at - answeredAt >= 0 ? '+' : ''}${(first.at - answeredAt).toFixed(0)} ms after "In call"`,
  );
}

/**
 * The call ends within `withinMs`: the panel shows how for a moment, then the workstation is idle
 * again. Waited for while sipp finishes, as the panel shows it for a few seconds only.
 */
async function callEndsAndIdles(reason: string, withinMs = TIMEOUT): Promise<void> {
  const ended = page.getByRole('region', { name: 'Call ended' });
  await ended.getByText(reason).waitFor({ timeout: withinMs });
  await ended.waitFor({ state: 'detached', timeout: TIMEOUT });
  assert.is(await activeCall().count(), 0);
  assert.is(await incomingCall().count(), 0);
  await page.getByRole('status').filter({ hasText: 'Ready for calls on Reception 1' }).waitFor({ timeout: TIMEOUT });
  await queue().getByText('No patients waiting').waitFor({ timeout: TIMEOUT });
  assert.is(await callAudio().evaluate((audio) => (audio as HTMLMediaElement).srcObject), null, 'the call\'s audio is released');
}

/** Cleans up after a test that failed half-way: sipp always ends, at the latest at its -timeout. */
async function finish(call: PatientCall): Promise<void> {
  const hangUp = activeCall().getByRole('button', { name: 'Hang up' });
  if (!call.ended() && (await hangUp.isVisible())) await hangUp.click();
  await call.sipp;
  await call.capture.stop();
}

test('the receptionist logs in and picks Reception 1: the browser registers', async () => {
  const registrations = await ChannelRecorder.subscribe<{ user: string; registered: boolean }>(path.redisUrl, RedisChannels.sipRegistrations);
  try {
    page = await browser.context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(base);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('button', { name: 'Reception 1' }).click();
    await page.getByRole('status').filter({ hasText: 'Ready for calls on Reception 1' }).waitFor({ timeout: TIMEOUT });
    const user = browserSipUser(workstation.id);
    await registrations.waitFor((event) => event.user === user && event.registered, `${user} registered`, TIMEOUT);
  } finally {
    registrations.close();
  }
});

test('sipp calls and is answered in the browser: audio both ways; the patient hangs up, and the browser\'s call ends', async () => {
  const call = await patientCalls('uac-pcmu-answered-patient-hangs-up.xml', { staysMs: PATIENT_STAYS_MS, timeoutMs: PATIENT_STAYS_MS + 30_000 });
  try {
    const started = Date.now();
    await answerAndHearBothWays(call);
    assert.ok(!call.ended(), `the patient hung up before the checks ended (${Date.now() - started} ms): raise PATIENT_STAYS_MS`);
    assert.ok(await activeCall().getByText('In call').isVisible(), 'the browser is still in the call');
    console.log(`  ringing, answering and both checks took ${Date.now() - started} ms; the patient stays ${PATIENT_STAYS_MS} ms`);

    const [result] = await Promise.all([call.sipp, callEndsAndIdles('The caller hung up.', PATIENT_STAYS_MS + TIMEOUT)]);
    assert.is(result.code, 0, describeSipp(result));
  } finally {
    await finish(call);
  }
});

test('sipp calls and is answered in the browser: audio both ways; Hang up in the browser sends sipp a BYE and its scenario passes', async () => {
  const call = await patientCalls('uac-pcmu-answered-expect-bye.xml', { timeoutMs: 90_000 });
  try {
    await answerAndHearBothWays(call);
    await activeCall().getByRole('button', { name: 'Hang up' }).click();
    const [result] = await Promise.all([call.sipp, callEndsAndIdles('You ended the call.')]);
    assert.is(result.code, 0, describeSipp(result));
    assert.match(result.messages, /^BYE sip:/m, 'sipp received the BYE');
  } finally {
    await finish(call);
  }
});

test('a late offer from sipp (INVITE without SDP): our offer in the 200, its answer in the ACK; hold music, then audio both ways with the browser; the patient hangs up', async () => {
  const call = await patientCalls('uac-invite-without-sdp-expect-offer-in-200.xml', { staysMs: PATIENT_STAYS_MS, timeoutMs: PATIENT_STAYS_MS + 30_000 });
  try {
    await answerAndHearBothWays(call);
    assert.ok(!call.ended(), 'the patient hung up before the checks ended: raise PATIENT_STAYS_MS');
    const [result] = await Promise.all([call.sipp, callEndsAndIdles('The caller hung up.', PATIENT_STAYS_MS + TIMEOUT)]);
    assert.is(result.code, 0, describeSipp(result));
    assert.not.match(result.messages, /^INVITE [^\n]*\n(?:[^\n]+\n)*Content-Type: application\/sdp/m, 'the INVITE carried no SDP');
  } finally {
    await finish(call);
  }
});

test('no page errors', () => {
  assert.equal(pageErrors, []);
});

test.run();
