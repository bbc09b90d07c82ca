/**
 * The team panel and pausing incoming calls, end to end, with two people at two browsers: Anna at
 * Reception 1 and Ben, who watches the team. Redis, signaling, Kamailio, rtpengine and the sip app are
 * real processes; patients are sipp (Debian's sip-tester) over UDP, streaming PCMU RTP from a raw µ-law
 * file, and tshark captures what reaches sipp's media port, so the test can tell the hold music it
 * gets (sipp cannot say what it hears). Anna's pauses are started from her user menu, except the one
 * that runs out by itself: it is started through signaling's agent service with a few seconds (the API
 * speaks whole minutes; docs/presence-and-pause.md).
 *
 * SCREENSHOT_DIR=/some/dir saves what the pages look like at each step.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type AgentStatus, type PushEvent, type TeamMember, type Workstation } from '@deskline/protocol';
import { RedisChannels, browserSipUser } from '@deskline/store';
import { freePort } from '@deskline/scripts/free-port';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { ChannelRecorder } from '../../helpers/redis-events.js';
import { RtpCapture, analysePcmu } from '../../helpers/rtp-capture.js';
import { waitFor } from '../../helpers/wait.js';
import { CallEvents } from '../../helpers/call-events.js';
import { HOLD_MUSIC_HZ, describeSipp, type CallPath, type SippResult } from '../../helpers/call-path.js';
import { createClinic, STAFF } from '../../helpers/clinic.js';
import { PATIENT_NUMBER } from '../../helpers/patient-line.js';
import { logIn, screenshots, startWebStack, type WebStack } from '../../helpers/web-stack.js';
import { writeTone } from '../../helpers/tones.js';

const TIMEOUT = 10_000;
/**
 * How long each sipp patient stays on the line once the queue has answered, before it hangs up (BYE).
 * sipp cannot be told when to hang up, only how long to wait (-d); the checks made while a patient
 * waits take about 3 s, so this leaves room to spare, and the test fails saying so if they ever take
 * longer. Below RING_TIMEOUT_SECONDS, so Anna's ringing ends with the hang-up, not a ring timeout.
 */
const PATIENT_STAYS_MS = 15_000;
/**
 * The queue asks every answered patient's phone whether it is still there (in-dialog OPTIONS) this
 * often. sipp answers with 200 through -aa, also during its <pause/>; short here so that each patient
 * answers a few of them while it waits, as a real phone must, instead of the test dodging them.
 */
const PATIENT_KEEPALIVE_SECONDS = 5;

let callPath: CallPath;
let app: FastifyInstance;
let base: string;
let stack: WebStack;
let annaBrowser: TestBrowser;
let benBrowser: TestBrowser;
let anna: Page;
let ben: Page;
let annaId: string;
let events: CallEvents;
/** Holds the patients' voice (patient-voice.ul), where sipp runs. */
let work: string;
let workstation: Workstation;
const pageErrors: string[] = [];
/** What Ben's push socket received, and when: how fast a change reaches the other panel. */
const benFrames: Array<{ at: number; event: PushEvent }> = [];

test.before(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'deskline-presence-pause-'));
  // sipp 3.6.1 streams a file's bytes as they are: raw µ-law, a 600 Hz tone (not the hold music's).
  await writeTone(path.join(work, 'patient-voice.ul'), { hz: 600, seconds: 5, format: 'ulaw' });
  stack = await startWebStack({
    appEnv: {
      SKIP_INTRO: 'true',
      RING_TIMEOUT_SECONDS: '20',
      PATIENT_KEEPALIVE_SECONDS: String(PATIENT_KEEPALIVE_SECONDS),
    },
  });
  ({ callPath, app, base } = stack);
  const clinic = await createClinic(app, { staff: ['anna', 'ben'], workstations: ['reception1'] });
  annaId = clinic.staff.anna.id;
  workstation = clinic.workstations.reception1;
  events = await CallEvents.open(callPath.redisUrl);
  // Two people at two desks: separate browsers, separate cookies.
  annaBrowser = await launchBrowser();
  benBrowser = await launchBrowser();
});

test.after(async () => {
  await annaBrowser?.close();
  await benBrowser?.close();
  await events?.close();
  await stack?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const screenshot = screenshots('presence-pause', { fullPage: true });

async function menu(page: Page, entry: string): Promise<void> {
  await page.getByRole('button', { name: 'User menu' }).click();
  await page.getByRole('menuitem', { name: entry }).click();
}

/** A member's status dot in a page's team list. */
function dotOf(page: Page, name: string) {
  return page.getByRole('region', { name: 'Team' }).getByRole('listitem', { name }).getByRole('img');
}

function pauseBand(page: Page) {
  return page.getByRole('region', { name: 'Incoming calls paused' });
}

function incomingCall(page: Page) {
  return page.getByRole('region', { name: 'Incoming call', exact: true });
}

/** "04:59" → 299 seconds. */
async function secondsLeft(page: Page): Promise<number> {
  const text = (await pauseBand(page).getByRole('timer', { name: 'Time left' }).textContent()) ?? '';
  const parts = text.trim().split(':').map(Number);
  if (parts.length < 2 || parts.some((n) => !Number.isFinite(n)))
    throw new Error(`not a countdown: ${JSON.stringify(text)}`);
  return parts.reduce((total, part) => total * 60 + part, 0);
}

/** Anna's pause as the server has it. */
async function annaStatus(): Promise<AgentStatus> {
  const response = await anna.request.get(`${base}/api/pause`);
  return (await response.json()) as AgentStatus;
}

/** The label a page gives a pause ending at `until`, in its own language. */
function pausedUntilLabel(page: Page, until: number): Promise<string> {
  return page.evaluate(
    (t) => `Paused until ${new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' }).format(t)}`,
    until,
  );
}

/** When Ben's push socket first received Anna as `test` describes, from `since` on. */
function benReceived(since: number, test: (member: TeamMember) => boolean): number | undefined {
  return benFrames.find(
    (frame) =>
      frame.at >= since &&
      frame.event.type === 'member' &&
      frame.event.member.userId === annaId &&
      test(frame.event.member),
  )?.at;
}

/**
 * How many keepalive OPTIONS sipp received (and, its scenario having passed, answered with -aa): told
 * apart by CSeq, as a retransmitted one is logged again.
 */
function keepalives(result: SippResult): number {
  return new Set(result.messages.match(/^CSeq:\s*\d+\s+OPTIONS/gim) ?? []).size;
}

/** OPTIONS that sipp received more than once: the sip app sent them again. */
function keepaliveRepeats(result: SippResult): number {
  return (result.messages.match(/^OPTIONS sip:/gm)?.length ?? 0) - keepalives(result);
}

interface SippPatient {
  /** What arrives at sipp's media port. */
  capture: RtpCapture;
  /** Settles when sipp exits: its scenario passed (answered, stayed, BYE answered 200) when `code` is 0. */
  sipp: Promise<SippResult>;
  /** Whether sipp has exited. */
  ended(): boolean;
  /** After a test: a sipp still running (the test failed half-way) is killed; the capture stops. */
  finish(): Promise<void>;
}

/**
 * sipp dials the clinic line, is answered by the queue, streams its voice, answers the keepalives
 * (-aa), and hangs up PATIENT_STAYS_MS after the answer. The capture of its media port runs first.
 */
async function patientCalls(): Promise<SippPatient> {
  const mediaPort = await freePort('127.0.0.1', ['udp']);
  const capture = await RtpCapture.start({ port: mediaPort });
  const cut = new AbortController();
  let ended = false;
  const sipp = callPath.sipp('uac-pcmu-answered-patient-hangs-up.xml', {
    mediaPort,
    cwd: work,
    pauseMs: PATIENT_STAYS_MS,
    timeoutMs: PATIENT_STAYS_MS + 30_000,
    signal: cut.signal,
    extraArgs: ['-aa'],
  });
  void sipp.finally(() => (ended = true));
  return {
    capture,
    sipp,
    ended: () => ended,
    async finish() {
      if (!ended) cut.abort();
      await sipp.catch(() => undefined);
      await capture.stop();
    },
  };
}

test('Anna picks Reception 1 and Ben watches: each panel shows the team with avatars, workstations and status dots', async () => {
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
  ben = await logIn(benBrowser, base, STAFF.ben.email, STAFF.ben.password, {
    pageErrors,
    timeoutMs: TIMEOUT,
    watch: (page) =>
      page.on('websocket', (socket) => {
        if (!socket.url().endsWith('/api/push')) return;
        socket.on('framereceived', ({ payload }) =>
          benFrames.push({ at: Date.now(), event: JSON.parse(String(payload)) as PushEvent }),
        );
      }),
  });
  const team = ben.getByRole('region', { name: 'Team' });
  const annaRow = team.getByRole('listitem', { name: 'Anna Reception' });
  await annaRow.getByText('Reception 1').waitFor({ timeout: TIMEOUT });
  await annaRow.getByText('AR').waitFor({ timeout: TIMEOUT });
  await dotOf(ben, 'Anna Reception')
    .and(ben.getByRole('img', { name: 'Available' }))
    .waitFor({ timeout: TIMEOUT });
  // Ben has the app open but no workstation: offline for calls.
  await team.getByRole('listitem', { name: 'Ben Reception' }).getByText('No workstation').waitFor({ timeout: TIMEOUT });
  assert.is(await dotOf(ben, 'Ben Reception').getAttribute('aria-label'), 'Offline');
  await anna.getByRole('img', { name: 'Your status: Available' }).waitFor({ timeout: TIMEOUT });
  await screenshot(ben, 'team');
});

test('Anna pauses for 5 minutes: she sees the grey band with a countdown, Ben sees her grey dot within a second', async () => {
  await menu(anna, 'Pause incoming calls');
  const picker = anna.getByRole('region', { name: 'Pause incoming calls' });
  await screenshot(anna, 'picker');
  const clicked = Date.now();
  await picker.getByRole('button', { name: '5 minutes', exact: true }).click();
  const { pausedUntil } = await annaStatus();
  assert.ok(pausedUntil !== undefined && Math.abs(pausedUntil - (clicked + 300_000)) < 2000, 'five minutes from now');
  const label = await pausedUntilLabel(ben, pausedUntil);
  await ben.getByRole('region', { name: 'Team' }).getByRole('img', { name: label }).waitFor({ timeout: TIMEOUT });
  const seenByBen = Date.now() - clicked;
  const pushed = benReceived(clicked, (member) => member.state === 'paused');
  console.log(
    `  Anna clicks "5 minutes" -> Ben's push socket has it ${pushed! - clicked} ms, his panel shows the grey dot ${seenByBen} ms after the click`,
  );
  assert.ok(seenByBen < 1000, `${seenByBen} ms`);

  await pauseBand(anna).waitFor({ timeout: TIMEOUT });
  await picker.waitFor({ state: 'detached', timeout: TIMEOUT });
  const left = await secondsLeft(anna);
  assert.ok(left > 290 && left <= 300, `${left} s left`);
  await anna
    .getByRole('img', { name: `Your status: ${await pausedUntilLabel(anna, pausedUntil)}` })
    .waitFor({ timeout: TIMEOUT });
  // The countdown runs.
  await pauseBand(anna)
    .getByRole('timer')
    .filter({ hasNotText: formatMmSs(left) })
    .waitFor({ timeout: 3000 });
  await screenshot(anna, 'paused');
  await screenshot(ben, 'anna-paused');
});

function formatMmSs(seconds: number): string {
  return `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
}

test('+5 minutes moves the end by exactly 5 minutes, for Anna and for Ben', async () => {
  const before = (await annaStatus()).pausedUntil!;
  await pauseBand(anna).getByRole('button', { name: '+5 minutes' }).click();
  await waitForStatus((status) => status.pausedUntil !== before);
  const after = (await annaStatus()).pausedUntil!;
  assert.is(after - before, 300_000);
  await waitForCountdown(anna, (left) => left > 590 && left <= 600);
  await ben.getByRole('img', { name: await pausedUntilLabel(ben, after) }).waitFor({ timeout: TIMEOUT });
});

function waitForStatus(check: (status: AgentStatus) => boolean): Promise<AgentStatus> {
  return waitFor(
    "Anna's status to change",
    async () => {
      const status = await annaStatus();
      return check(status) ? status : undefined;
    },
    TIMEOUT,
  );
}

function waitForCountdown(page: Page, check: (left: number) => boolean): Promise<number> {
  return waitFor(
    'the countdown',
    async () => {
      const left = await secondsLeft(page).catch(() => -1);
      // 0 is a valid countdown; waitFor wants a truthy value.
      return check(left) ? { left } : undefined;
    },
    TIMEOUT,
  ).then(({ left }) => left);
}

test('after a reload the grey band is there with the right time left', async () => {
  const { pausedUntil } = await annaStatus();
  await anna.reload();
  await pauseBand(anna).waitFor({ timeout: TIMEOUT });
  const left = await waitForCountdown(anna, (s) => s > 0);
  const expected = Math.ceil((pausedUntil! - Date.now()) / 1000);
  assert.ok(Math.abs(left - expected) <= 2, `shows ${left} s, ${expected} s expected`);
  await anna
    .getByRole('status')
    .filter({ hasText: 'Incoming calls paused on Reception 1' })
    .waitFor({ timeout: TIMEOUT });
});

test("I'm back: the band goes and Ben sees Anna available within a second", async () => {
  const clicked = Date.now();
  await pauseBand(anna).getByRole('button', { name: "I'm back" }).click();
  await dotOf(ben, 'Anna Reception')
    .and(ben.getByRole('img', { name: 'Available' }))
    .waitFor({ timeout: TIMEOUT });
  const seenByBen = Date.now() - clicked;
  const pushed = benReceived(clicked, (member) => member.state === 'available');
  console.log(
    `  Anna clicks "I'm back" -> Ben's push socket has it ${pushed! - clicked} ms, his panel shows her available ${seenByBen} ms after the click`,
  );
  assert.ok(seenByBen < 1000, `${seenByBen} ms`);
  await pauseBand(anna).waitFor({ state: 'detached', timeout: TIMEOUT });
  await anna.getByRole('img', { name: 'Your status: Available' }).waitFor({ timeout: TIMEOUT });
  assert.is(
    await anna.getByRole('region', { name: 'Missed while you were paused' }).count(),
    0,
    'nobody gave up meanwhile',
  );
});

test("while Anna is paused, waiting patients are not rung and stay in the queue; I'm back rings her at once and lists the one who gave up", async () => {
  await menu(anna, 'Pause incoming calls');
  await anna
    .getByRole('region', { name: 'Pause incoming calls' })
    .getByRole('button', { name: '10 minutes', exact: true })
    .click();
  await pauseBand(anna).waitFor({ timeout: TIMEOUT });

  // The first patient waits with hold music, is not put through, and gives up.
  let firstResult: SippResult | undefined;
  let from = events.mark();
  const first = await patientCalls();
  try {
    const started = Date.now();
    const waiting = await events.waitFor({ state: 'waiting', from }, TIMEOUT);
    await ben.getByRole('region', { name: /Queue/ }).getByText(PATIENT_NUMBER).waitFor({ timeout: TIMEOUT });
    await anna
      .getByRole('region', { name: /Queue/ })
      .getByText('Waiting', { exact: true })
      .waitFor({ timeout: TIMEOUT });
    // Two seconds of what reaches sipp's media port since the call was queued: the hold music, 50 packets a second.
    const music = analysePcmu(await first.capture.span(waiting.at, 2000, TIMEOUT), [HOLD_MUSIC_HZ]);
    const heard = JSON.stringify(music);
    assert.ok((music.shares[HOLD_MUSIC_HZ] ?? 0) > 0.9, `hold music at the patient: ${heard}`);
    assert.ok(
      music.packetsPerSecond > 45 && music.packetsPerSecond < 55,
      `${music.packetsPerSecond} packets/s at the patient: ${heard}`,
    );
    assert.is(await incomingCall(anna).count(), 0, 'Anna was not rung');
    assert.equal(events.states(waiting.call.id), ['intro', 'waiting']);
    assert.ok(
      !first.ended(),
      `the first patient hung up before the checks ended (${Date.now() - started} ms): raise PATIENT_STAYS_MS`,
    );
    console.log(
      `  the waiting patient (sipp) gets ${music.packetsPerSecond.toFixed(1)} packets/s, ${((music.shares[HOLD_MUSIC_HZ] ?? 0) * 100).toFixed(2)}% of the energy at ${HOLD_MUSIC_HZ} Hz (hold music); ` +
        `the checks took ${Date.now() - started} ms, the patient stays ${PATIENT_STAYS_MS} ms`,
    );
    // The patient gives up: sipp hangs up after -d, and its BYE is answered.
    const result = await first.sipp;
    firstResult = result;
    assert.is(result.code, 0, describeSipp(result));
    assert.ok(keepalives(result) >= 1, `sipp answered the queue's keepalives while it waited\n${describeSipp(result)}`);
    await events.waitFor({ callId: waiting.call.id, state: 'abandoned', from }, TIMEOUT);
    // Not rung at any moment while it waited, keepalives included.
    assert.equal(events.states(waiting.call.id), ['intro', 'waiting', 'abandoned']);
    assert.is(await incomingCall(anna).count(), 0, 'Anna was not rung');
  } finally {
    await first.finish();
  }

  // The second patient is waiting when Anna comes back: her browser rings at once.
  from = events.mark();
  const second = await patientCalls();
  try {
    const started = Date.now();
    const waiting = await events.waitFor({ state: 'waiting', from }, TIMEOUT);
    await anna.getByRole('region', { name: /Queue/ }).getByText(PATIENT_NUMBER).waitFor({ timeout: TIMEOUT });
    await screenshot(anna, 'paused-with-waiting-call');
    const clicked = Date.now();
    await pauseBand(anna).getByRole('button', { name: "I'm back" }).click();
    await incomingCall(anna).getByRole('button', { name: 'Answer' }).waitFor({ timeout: TIMEOUT });
    const rang = Date.now() - clicked;
    const ringing = await events.waitFor({ callId: waiting.call.id, state: 'ringing', from }, TIMEOUT);
    console.log(
      `  Anna clicks "I'm back" -> the waiting call rings in her browser: ${rang} ms (sip app rang ${ringing.at - clicked} ms after the click)`,
    );
    assert.ok(rang < 1500, `${rang} ms`);
    await ben.getByRole('img', { name: 'Ringing' }).waitFor({ timeout: TIMEOUT });

    const missed = anna.getByRole('region', { name: 'Missed while you were paused' });
    await missed.getByText(PATIENT_NUMBER).waitFor({ timeout: TIMEOUT });
    assert.is(await missed.getByRole('listitem').count(), 1);
    await screenshot(anna, 'back-ringing-missed');
    await missed.getByRole('button', { name: 'Dismiss' }).click();
    await missed.waitFor({ state: 'detached', timeout: TIMEOUT });

    const checked = Date.now() - started;
    assert.ok(
      !second.ended(),
      `the second patient hung up before the checks ended (${checked} ms): raise PATIENT_STAYS_MS`,
    );
    assert.ok(await incomingCall(anna).isVisible(), 'Anna is still rung');

    // The patient hangs up (sipp's BYE after -d): Anna's ringing stops.
    const [result] = await Promise.all([
      second.sipp,
      incomingCall(anna).waitFor({ state: 'detached', timeout: PATIENT_STAYS_MS + TIMEOUT }),
    ]);
    assert.is(result.code, 0, describeSipp(result));
    assert.ok(keepalives(result) >= 1, `sipp answered the queue's keepalives while it waited\n${describeSipp(result)}`);
    console.log(
      `  the second patient's checks took ${checked} ms; the patients answered ${keepalives(firstResult)} and ${keepalives(result)} keepalive OPTIONS ` +
        `with 200 (-aa; received again: ${keepaliveRepeats(firstResult)} and ${keepaliveRepeats(result)})`,
    );
    await events.waitFor({ callId: waiting.call.id, state: 'abandoned', from }, TIMEOUT);
    // Rung once, from I'm back until the hang-up: the ringing did not end by timing out.
    assert.equal(events.states(waiting.call.id), ['intro', 'waiting', 'ringing', 'abandoned']);
  } finally {
    await second.finish();
  }
  await dotOf(ben, 'Anna Reception')
    .and(ben.getByRole('img', { name: 'Available' }))
    .waitFor({ timeout: TIMEOUT });
  await anna.reload();
  await anna.getByRole('status').filter({ hasText: 'Ready for calls on Reception 1' }).waitFor({ timeout: TIMEOUT });
  assert.is(await anna.getByRole('region', { name: 'Missed while you were paused' }).count(), 0, 'dismissed for good');
});

test('a pause that runs out returns Anna to available by itself: the band goes, Ben sees her available', async () => {
  // A few seconds, through signaling's own service: the menu only offers whole minutes.
  const { pausedUntil } = await app.agents.pause(annaId, 4000);
  await pauseBand(anna).waitFor({ timeout: TIMEOUT });
  await ben.getByRole('img', { name: await pausedUntilLabel(ben, pausedUntil!) }).waitFor({ timeout: TIMEOUT });
  await waitForCountdown(anna, (left) => left >= 0 && left <= 4);
  await pauseBand(anna).waitFor({ state: 'detached', timeout: TIMEOUT });
  const bandGone = Date.now() - pausedUntil!;
  await dotOf(ben, 'Anna Reception')
    .and(ben.getByRole('img', { name: 'Available' }))
    .waitFor({ timeout: TIMEOUT });
  const benSees = Date.now() - pausedUntil!;
  const pushed = benReceived(pausedUntil!, (member) => member.state === 'available');
  console.log(
    `  pause over by itself -> Ben's push socket has it ${pushed! - pausedUntil!} ms after pausedUntil; ` +
      `seen on screen (Playwright polls) Anna's band gone ${bandGone} ms, Ben's dot available ${benSees} ms`,
  );
  assert.ok(bandGone < 1000 && benSees < 1000, `${bandGone} ms, ${benSees} ms`);
  await anna.getByRole('img', { name: 'Your status: Available' }).waitFor({ timeout: TIMEOUT });
});

test('no page errors', () => {
  assert.equal(pageErrors, []);
});

test.run();
