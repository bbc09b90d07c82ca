/**
 * A receptionist's side of a patient's call, for the end-to-end tests whose patient is a real SIP
 * stack (sipp, linphone) that cannot say what it hears: tshark captures the RTP arriving at the
 * patient's media port, and the page's side is measured with the Web Audio probe on the call's
 * <audio>. The patient's voice and the browser's fake microphone are two different tones, and the
 * queue's hold music a third, so each side can tell what it hears.
 */
import nodePath from 'node:path';
import type { Page } from 'playwright-core';
import * as assert from 'uvu/assert';
import { type Workstation } from '@deskline/protocol';
import { RedisChannels, browserSipUser } from '@deskline/store';
import {
  installAudioProbe,
  measureElementAudio,
  speakerSources,
  takeSpeakerPeak,
  waitForElementAudio,
} from './audio-probe.js';
import { launchBrowser, type TestBrowser } from './browser.js';
import { HOLD_MUSIC_HZ } from './call-path.js';
import { createClinic, STAFF } from './clinic.js';
import { analysePcmu, type PcmuAnalysis, type RtpCapture } from './rtp-capture.js';
import { ChannelRecorder } from './redis-events.js';
import { waitFor } from './wait.js';
import { logIn, startWebStack, type WebStack } from './web-stack.js';
import { writeTone } from './tones.js';

export interface BrowserAnswer {
  /** The number the incoming-call panel shows. */
  caller: string;
  /** The workstation the receptionist picked, e.g. "Reception 1". */
  workstation: string;
  /** The tone the patient sends. */
  patientHz: number;
  /** The tone of Chromium's fake microphone. */
  microphoneHz: number;
  timeoutMs: number;
}

export function incomingCall(page: Page) {
  return page.getByRole('region', { name: 'Incoming call' });
}

export function activeCall(page: Page) {
  return page.getByRole('region', { name: 'Call', exact: true });
}

export function queuePanel(page: Page) {
  return page.getByRole('region', { name: /Queue/ });
}

export function callAudio(page: Page) {
  return page.locator('dl-call-panel audio');
}

/**
 * The browser rings with the patient's number while the patient hears the hold music; the test
 * clicks Answer; audio is then proven both ways: the page hears the patient's tone, and the patient
 * receives the browser's, and no more hold music.
 */
export async function answerAndHearBothWays(page: Page, capture: RtpCapture, answer: BrowserAnswer): Promise<void> {
  const { caller, workstation, patientHz, microphoneHz, timeoutMs } = answer;
  const panel = incomingCall(page);
  await panel.getByText(caller).waitFor({ timeout: timeoutMs });
  await queuePanel(page).getByText(`Ringing · ${workstation}`).waitFor({ timeout: timeoutMs });
  await waitFor(
    'the ringtone',
    async () => (await speakerSources(page)) > 0 && (await takeSpeakerPeak(page)) > 0.05,
    timeoutMs,
  );

  // Until someone answers, the patient hears the hold music, and nothing of the browser's tone.
  const holdMusic = analysePcmu(await capture.span(Date.now(), 2000, timeoutMs), [microphoneHz, HOLD_MUSIC_HZ]);
  assert.ok(
    (holdMusic.shares[HOLD_MUSIC_HZ] ?? 0) > 0.9,
    `the patient hears hold music while it rings: ${JSON.stringify(holdMusic)}`,
  );
  assert.ok(
    holdMusic.packetsPerSecond > 42 && holdMusic.packetsPerSecond < 58,
    `hold music at ${holdMusic.packetsPerSecond} packets/s: ${JSON.stringify(holdMusic)}`,
  );
  assert.ok(holdMusic.rms > 1000, `the hold music is audible, not silence: ${JSON.stringify(holdMusic)}`);

  await panel.getByRole('button', { name: 'Answer' }).click();
  await activeCall(page).getByText('In call').waitFor({ timeout: timeoutMs });
  await queuePanel(page).getByText(`In call · ${workstation}`).waitFor({ timeout: timeoutMs });
  await waitFor('the ringtone to stop', async () => (await speakerSources(page)) === 0, timeoutMs);
  const answeredAt = Date.now();

  // The patient's voice reaches the page: the analyser is not silent, and its loudest note is the patient's.
  const firstRms = await waitForElementAudio(callAudio(page), 0.02, timeoutMs);
  const heard = await measureElementAudio(callAudio(page), 500);
  assert.ok(heard.rms > 0.02, `the page hears silence: RMS ${heard.rms}`);
  assert.ok(
    Math.abs(heard.peakHz - patientHz) < 30,
    `the page hears ${heard.peakHz.toFixed(0)} Hz, not the patient's ${patientHz} Hz`,
  );

  // The browser's microphone reaches the patient: 2 s of what arrives at the patient's media port, decoded.
  const first = await capture.firstTone(microphoneHz, answeredAt, timeoutMs);
  const packets = await capture.span(first.at, 2000, timeoutMs);
  const fromBrowser = analysePcmu(packets, [microphoneHz, HOLD_MUSIC_HZ, patientHz]);
  const summary = JSON.stringify(fromBrowser);
  assert.ok(
    packets.every((p) => p.payloadType === 0),
    'PCMU towards the patient, as its SDP offered',
  );
  assert.ok(
    fromBrowser.packetsPerSecond > 45 && fromBrowser.packetsPerSecond < 55,
    `${fromBrowser.packetsPerSecond} packets/s: ${summary}`,
  );
  assert.ok(
    (fromBrowser.shares[microphoneHz] ?? 0) > 0.8,
    `the browser's tone dominates what the patient gets: ${summary}`,
  );
  assert.ok((fromBrowser.shares[HOLD_MUSIC_HZ] ?? 1) < 0.01, `the hold music has stopped: ${summary}`);
  assert.ok(fromBrowser.rms > 1000, `audible at the patient: ${summary}`);

  const share = (a: PcmuAnalysis, hz: number): string => `${((a.shares[hz] ?? 0) * 100).toFixed(2)}%`;
  console.log(
    `  before Answer the patient gets ${holdMusic.packetsPerSecond.toFixed(1)} packets/s (RMS ${holdMusic.rms.toFixed(0)}), ${share(holdMusic, HOLD_MUSIC_HZ)} of the energy at ${HOLD_MUSIC_HZ} Hz (hold music), ${share(holdMusic, microphoneHz)} at ${microphoneHz} Hz\n` +
      `  after Answer the page hears RMS ${firstRms.toFixed(3)} at first, ${heard.rms.toFixed(3)} over 500 ms, loudest at ${heard.peakHz.toFixed(0)} Hz; ` +
      `the patient gets ${fromBrowser.packetsPerSecond.toFixed(1)} packets/s (RMS ${fromBrowser.rms.toFixed(0)}), ${share(fromBrowser, microphoneHz)} at ${microphoneHz} Hz (browser), ${share(fromBrowser, HOLD_MUSIC_HZ)} at ${HOLD_MUSIC_HZ} Hz, ${share(fromBrowser, patientHz)} at ${patientHz} Hz; ` +
      `first browser packet ${first.at - answeredAt >= 0 ? '+' : ''}${(first.at - answeredAt).toFixed(0)} ms after "In call"`,
  );
}

/**
 * The call ends within `withinMs`: the panel shows `reason` for a moment, then the workstation is
 * idle again. Waited for while the patient's side finishes, as the panel shows it for a few seconds only.
 */
export async function callEndsAndIdles(
  page: Page,
  answer: Pick<BrowserAnswer, 'workstation' | 'timeoutMs'>,
  reason: string,
  withinMs = answer.timeoutMs,
): Promise<void> {
  const ended = page.getByRole('region', { name: 'Call ended' });
  await ended.getByText(reason).waitFor({ timeout: withinMs });
  await ended.waitFor({ state: 'detached', timeout: answer.timeoutMs });
  assert.is(await activeCall(page).count(), 0);
  assert.is(await incomingCall(page).count(), 0);
  await page
    .getByRole('status')
    .filter({ hasText: `Ready for calls on ${answer.workstation}` })
    .waitFor({ timeout: answer.timeoutMs });
  await queuePanel(page).getByText('No patients waiting').waitFor({ timeout: answer.timeoutMs });
  assert.is(
    await callAudio(page).evaluate((audio) => (audio as HTMLMediaElement).srcObject),
    null,
    "the call's audio is released",
  );
}

/** A receptionist's desk: the web stack, Anna with a browser workstation, Chromium with a tone as its microphone. */
export interface ReceptionDesk {
  stack: WebStack;
  browser: TestBrowser;
  workstation: Workstation;
  /** Anna's page once `logInAndRegister` has run. */
  page?: Page;
  stop(): Promise<void>;
}

/**
 * Starts the web stack (no intro, 30 s rings), creates Anna and "Reception 1", and launches Chromium
 * whose fake microphone plays `microphoneHz` (a WAV made in `work`).
 */
export async function openReceptionDesk(work: string, microphoneHz: number): Promise<ReceptionDesk> {
  const microphone = nodePath.join(work, 'microphone.wav');
  await writeTone(microphone, { hz: microphoneHz, seconds: 5, format: 'wav' });
  const stack = await startWebStack({ appEnv: { SKIP_INTRO: 'true', RING_TIMEOUT_SECONDS: '30' } });
  try {
    const workstation = (await createClinic(stack.app, { staff: ['anna'], workstations: ['reception1'] })).workstations
      .reception1;
    const browser = await launchBrowser({ args: [`--use-file-for-fake-audio-capture=${microphone}`] });
    await installAudioProbe(browser.context);
    return {
      stack,
      browser,
      workstation,
      async stop() {
        await browser.close();
        await stack.stop();
      },
    };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

/** Anna logs in through the login page and picks Reception 1; resolves once its browser has registered. */
export async function logInAndRegister(desk: ReceptionDesk, pageErrors: string[], timeoutMs: number): Promise<Page> {
  const { callPath } = desk.stack;
  const registrations = await ChannelRecorder.subscribe<{ user: string; registered: boolean }>(
    callPath.redisUrl,
    RedisChannels.sipRegistrations,
  );
  try {
    const page = await logIn(desk.browser, desk.stack.base, STAFF.anna.email, STAFF.anna.password, {
      pageErrors,
      timeoutMs,
    });
    await page.getByRole('button', { name: 'Reception 1' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: 'Ready for calls on Reception 1' })
      .waitFor({ timeout: timeoutMs });
    const user = browserSipUser(desk.workstation.id);
    await registrations.waitFor((event) => event.user === user && event.registered, `${user} registered`, timeoutMs);
    desk.page = page;
    return page;
  } finally {
    registrations.close();
  }
}
