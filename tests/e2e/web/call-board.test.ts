/**
 * The call board (issue 5), end to end, with two people at two browsers: Anna, an employee at
 * Reception 1, who answers and wraps up, and Maria, a manager working without a workstation, who
 * watches the board and keeps the subjects. Redis, signaling, Kamailio, rtpengine and the sip app are
 * real processes, and the patients are sipp (Debian's sip-tester) over UDP, with the intro message
 * played (3 s in these tests). Every stage of a patient's call is timed from the sip app's event (read
 * from stream:call-events) to the moment Maria's board shows it, and must take less than a second.
 *
 * SCREENSHOT_DIR=/some/dir saves what the pages look like at each step.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Locator, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type PushEvent, type TaskView, type Workstation } from '@deskline/protocol';
import { RedisChannels, browserSipUser } from '@deskline/store';
import { freePort } from '@deskline/scripts/free-port';
import { board, openTab, taskOf } from '../../helpers/board-page.js';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { ChannelRecorder } from '../../helpers/redis-events.js';
import { waitFor } from '../../helpers/wait.js';
import { CallEvents, type SeenEvent } from '../../helpers/call-events.js';
import { describeSipp, type CallPath, type SippResult } from '../../helpers/call-path.js';
import { createClinic, STAFF } from '../../helpers/clinic.js';
import { PATIENT_NUMBER } from '../../helpers/patient-line.js';
import { logIn, screenshots, startWebStack, type WebStack } from '../../helpers/web-stack.js';
import { writeTone } from '../../helpers/tones.js';

/** Generous: another test run may share this machine's two cores. */
const TIMEOUT = 15_000;
/** What the issue asks: every stage on another user's board within a second. */
const LIVE_MS = 1000;
/** The patient who gives up while waiting stays this long after the queue answered: the 3 s intro, then 2 s of waiting. */
const GIVES_UP_AFTER_MS = 5000;

let callPath: CallPath;
let app: FastifyInstance;
let base: string;
let stack: WebStack;
let annaBrowser: TestBrowser;
let mariaBrowser: TestBrowser;
let anna: Page;
let maria: Page;
let annaId: string;
let events: CallEvents;
/** Holds the patients' voice (patient-voice.ul), where sipp runs. */
let work: string;
let workstation: Workstation;
const pageErrors: string[] = [];
/** What Maria's push socket received, and when: how much of a delay is the server's, how much the page's. */
const mariaFrames: Array<{ at: number; event: PushEvent }> = [];
/** Each stage and how long after its event Maria's board showed it. */
const delays: Array<{ stage: string; ms: number }> = [];

test.before(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'deskline-call-board-'));
  await writeTone(path.join(work, 'patient-voice.ul'), { hz: 600, seconds: 5, format: 'ulaw' });
  stack = await startWebStack({ appEnv: { RING_TIMEOUT_SECONDS: '30' } });
  ({ callPath, app, base } = stack);
  const clinic = await createClinic(app, { staff: ['anna', 'maria'], workstations: ['reception1'] });
  annaId = clinic.staff.anna.id;
  workstation = clinic.workstations.reception1;
  events = await CallEvents.open(callPath.redisUrl);
  annaBrowser = await launchBrowser();
  mariaBrowser = await launchBrowser();
});

test.after(async () => {
  await annaBrowser?.close();
  await mariaBrowser?.close();
  await events?.close();
  await stack?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const screenshot = screenshots('call-board', { fullPage: true });

/** The patient's task in the board's open tab. */
function task(page: Page): Locator {
  return taskOf(page, PATIENT_NUMBER);
}

function incomingCall(page: Page): Locator {
  return page.getByRole('region', { name: 'Incoming call', exact: true });
}

function pauseBand(page: Page): Locator {
  return page.getByRole('region', { name: 'Incoming calls paused' });
}

/**
 * Waits both for the sip app's event (or Anna's click) and for Maria's board to show `shown`; records
 * and checks how long after it the board showed it, and says when her push socket had the task `pushed`
 * describes.
 */
async function onMariasBoard(
  stage: string,
  event: Promise<SeenEvent | number>,
  shown: Locator,
  pushed: (task: TaskView) => boolean,
): Promise<void> {
  // Looked for only once the event is here: Playwright polls a long wait every 500 ms, which would be
  // measured as delay. Now the first look is at once, and then every 20 to 100 ms.
  const happened = await event;
  await shown.waitFor({ timeout: TIMEOUT });
  const seen = Date.now();
  const at = typeof happened === 'number' ? happened : happened.at;
  const ms = seen - at;
  const frame = mariaFrames.find(
    (f) =>
      f.at >= at - 50 && f.event.type === 'task' && f.event.task.patient === PATIENT_NUMBER && pushed(f.event.task),
  );
  delays.push({ stage, ms });
  console.log(
    `  ${stage}: Maria's push socket has it ${frame === undefined ? '(no frame?)' : `${frame.at - at} ms`}, her board shows it ${ms} ms after ${typeof happened === 'number' ? "Anna's click" : "the sip app's event"}`,
  );
  assert.ok(ms < LIVE_MS, `${stage}: ${ms} ms`);
}

interface Patient {
  sipp: Promise<SippResult>;
  ended(): boolean;
  /** After a test: a sipp still running (the test failed half-way) is killed. */
  finish(): Promise<void>;
}

/** sipp dials the clinic line with `scenario` (tests/sipp), streaming its voice where the scenario does. */
async function patientCalls(
  scenario: string,
  options: { pauseMs?: number; timeoutMs?: number } = {},
): Promise<Patient> {
  const cut = new AbortController();
  let ended = false;
  const mediaPort = await freePort('127.0.0.1', ['udp']);
  const sipp = callPath.sipp(scenario, {
    mediaPort,
    // Scenarios that stream nothing advertise -key rtp_port in their SDP: sipp's own media port.
    keys: { rtp_port: mediaPort },
    cwd: work,
    timeoutMs: options.timeoutMs ?? 60_000,
    signal: cut.signal,
    ...(options.pauseMs === undefined ? {} : { pauseMs: options.pauseMs }),
  });
  void sipp.finally(() => (ended = true));
  return {
    sipp,
    ended: () => ended,
    async finish() {
      if (!ended) cut.abort();
      await sipp.catch(() => undefined);
    },
  };
}

async function pauseAnna(): Promise<void> {
  await app.agents.pause(annaId, 10 * 60_000);
  await pauseBand(anna).waitFor({ timeout: TIMEOUT });
}

test('Anna picks Reception 1; Maria, a manager, works without a workstation and sees the call board', async () => {
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
  maria = await logIn(mariaBrowser, base, STAFF.maria.email, STAFF.maria.password, {
    pageErrors,
    timeoutMs: TIMEOUT,
    watch: (page) =>
      page.on('websocket', (socket) => {
        if (!socket.url().endsWith('/api/push')) return;
        socket.on('framereceived', ({ payload }) =>
          mariaFrames.push({ at: Date.now(), event: JSON.parse(String(payload)) as PushEvent }),
        );
      }),
  });
  await maria.getByRole('button', { name: 'Work without a workstation' }).click();
  for (const page of [anna, maria]) {
    await board(page).getByRole('tab', { name: 'Pending 0' }).waitFor({ timeout: TIMEOUT });
    await board(page).getByText('No patients waiting and nothing to wrap up').waitFor({ timeout: TIMEOUT });
  }
  assert.equal(
    await anna.getByRole('navigation', { name: 'Views' }).getByRole('button').allInnerTexts(),
    ['Call board', 'Contacts'],
    'employees have the board and Contacts only',
  );
  await maria
    .getByRole('navigation', { name: 'Views' })
    .getByRole('button', { name: 'Call board' })
    .waitFor({ timeout: TIMEOUT });
});

test("a patient's call, stage by stage, on Maria's board within a second: intro, waiting, ringing, on the line, wrap-up", async () => {
  // Paused, Anna is not rung: the patient stays in the queue, waiting, until she is back.
  await pauseAnna();
  const from = events.mark();
  const patient = await patientCalls('uac-pcmu-answered-expect-bye.xml');
  try {
    await onMariasBoard(
      'intro',
      events.waitFor({ state: 'intro', from }, TIMEOUT),
      task(maria).getByText('Intro message'),
      (t) => t.call?.state === 'intro',
    );
    await task(maria).getByText('the call cannot be answered yet').waitFor({ timeout: TIMEOUT });
    // Screen readers are told of the new call, whatever tab is open.
    await board(maria)
      .getByRole('status')
      .filter({ hasText: `New call from ${PATIENT_NUMBER}` })
      .waitFor({ timeout: TIMEOUT });
    await screenshot(maria, 'intro');
    const intro = await events.waitFor({ state: 'intro', from }, TIMEOUT);
    const callId = intro.call.id;

    await onMariasBoard(
      'waiting',
      events.waitFor({ callId, state: 'waiting', from }, TIMEOUT),
      task(maria).getByText('Waiting', { exact: true }),
      (t) => t.call?.state === 'waiting',
    );
    // The waiting time runs on screen.
    const waited = task(maria).locator('time');
    const first = await waited.textContent();
    await waited.filter({ hasNotText: first ?? '' }).waitFor({ timeout: 3000 });
    await screenshot(maria, 'waiting');

    await pauseBand(anna).getByRole('button', { name: "I'm back" }).click();
    await onMariasBoard(
      'ringing',
      events.waitFor({ callId, state: 'ringing', from }, TIMEOUT),
      task(maria).getByText('Ringing at Reception 1, Anna Reception'),
      (t) => t.call?.state === 'ringing',
    );
    await screenshot(maria, 'ringing');

    await openTab(maria, 'On the line');
    await incomingCall(anna).getByRole('button', { name: 'Answer' }).click();
    await onMariasBoard(
      'on the line',
      events.waitFor({ callId, state: 'bridged', from }, TIMEOUT),
      task(maria).getByText('On the line: Anna Reception ↔ patient'),
      (t) => t.status === 'on-the-line',
    );
    await board(maria).getByRole('tab', { name: 'On the line 1' }).waitFor({ timeout: TIMEOUT });
    await screenshot(maria, 'on-the-line');

    // Anna hangs up (sipp waits for the BYE): no subject yet, so the task waits for her in Pending.
    await openTab(maria, 'Pending');
    await anna.getByRole('region', { name: 'Call', exact: true }).getByRole('button', { name: 'Hang up' }).click();
    await onMariasBoard(
      'wrap-up',
      events.waitFor({ callId, state: 'ended', from }, TIMEOUT),
      task(maria).getByText('Wrap-up: Anna Reception'),
      (t) => t.status === 'wrap-up',
    );
    const result = await patient.sipp;
    assert.is(result.code, 0, describeSipp(result));
    assert.equal(events.states(callId), ['intro', 'waiting', 'ringing', 'bridged', 'ended']);
    await screenshot(maria, 'wrap-up');
  } finally {
    await patient.finish();
  }
});

test('wrap-up: Close needs a subject; the subject and comment survive a reload; a problem is reported; Close moves the task to Closed', async () => {
  const card = task(anna);
  await card.getByText('Wrap-up: Anna Reception').waitFor({ timeout: TIMEOUT });
  const close = card.getByRole('button', { name: 'Close' });
  assert.ok(await close.isDisabled(), 'Close is disabled without a subject');
  await card.getByText('Choose a subject to close this task').waitFor({ timeout: TIMEOUT });
  await screenshot(anna, 'wrap-up-without-subject');

  await card.getByLabel('Subject').selectOption({ label: 'Visit booked' });
  await card.getByText('Subject saved').waitFor({ timeout: TIMEOUT });
  await card.getByLabel('Comment').fill('Booked for Monday 9:00');
  await card.getByLabel('Comment').blur();
  await card.getByText('Comment saved').waitFor({ timeout: TIMEOUT });
  assert.ok(await close.isEnabled(), 'Close is enabled with a subject');

  await card.getByRole('button', { name: 'Report a problem' }).click();
  const report = card.getByRole('form', { name: 'Report a problem' });
  await report.getByLabel('What went wrong').selectOption({ label: 'Echo' });
  await report.getByLabel('Note (optional)').fill('The patient heard themselves');
  await report.getByRole('button', { name: 'Send report' }).click();
  await card.getByText('Problem reported. Thank you.').waitFor({ timeout: TIMEOUT });
  const [stored, ...others] = (await app.tasks.open()).filter((t) => t.patient === PATIENT_NUMBER);
  assert.is(others.length, 0);
  assert.equal(
    stored?.problems.map(({ kind, note, userId, callId }) => ({ kind, note, userId, callId })),
    [{ kind: 'echo', note: 'The patient heard themselves', userId: annaId, callId: stored?.call?.id }],
  );

  await anna.reload();
  await anna.getByRole('status').filter({ hasText: 'Ready for calls on Reception 1' }).waitFor({ timeout: TIMEOUT });
  const reloaded = task(anna);
  await reloaded.getByText('Wrap-up: Anna Reception').waitFor({ timeout: TIMEOUT });
  const subject = await reloaded
    .getByLabel('Subject')
    .evaluate((select) => (select as HTMLSelectElement).selectedOptions[0]?.textContent?.trim());
  assert.is(subject, 'Visit booked', 'the subject was kept by the server');
  assert.is(await reloaded.getByLabel('Comment').inputValue(), 'Booked for Monday 9:00');

  await openTab(maria, 'Closed');
  await board(maria)
    .getByRole('tab', { name: /^Closed \d+/ })
    .waitFor({ timeout: TIMEOUT });
  const clicked = Date.now();
  await reloaded.getByRole('button', { name: 'Close' }).click();
  await onMariasBoard(
    'closed',
    Promise.resolve(clicked),
    task(maria).getByText('Closed by Anna Reception at', { exact: false }),
    (t) => t.status === 'closed',
  );
  await task(maria).getByText('Subject: Visit booked').waitFor({ timeout: TIMEOUT });
  await task(maria).getByText('Comment: Booked for Monday 9:00').waitFor({ timeout: TIMEOUT });
  await reloaded.waitFor({ state: 'detached', timeout: TIMEOUT });
  await board(anna).getByRole('tab', { name: 'Pending 0' }).waitFor({ timeout: TIMEOUT });
  await screenshot(maria, 'closed');

  // Closed stays closed: the server lists it for a page opened afresh.
  await openTab(anna, 'Closed');
  await task(anna).getByText('Subject: Visit booked').waitFor({ timeout: TIMEOUT });
});

test('a patient who hangs up during the intro is on the board as Abandoned, without Call back', async () => {
  await openTab(maria, 'Abandoned');
  const from = events.mark();
  const patient = await patientCalls('uac-hangup-during-intro-expect-abandoned.xml');
  try {
    await onMariasBoard(
      'abandoned during the intro',
      events.waitFor({ state: 'abandoned', from }, TIMEOUT),
      task(maria).getByText('Abandoned: 1 missed call', { exact: true }),
      (t) => t.status === 'abandoned',
    );
    const result = await patient.sipp;
    assert.is(result.code, 0, describeSipp(result));
    const abandoned = await events.waitFor({ state: 'abandoned', from }, TIMEOUT);
    assert.equal(events.states(abandoned.call.id), ['intro', 'abandoned']);
    await task(maria)
      .getByText(/hung up during the intro message/)
      .waitFor({ timeout: TIMEOUT });
    // The number's previous task closed with a subject: whoever calls back knows what it was about.
    await task(maria).getByText('Last time: Visit booked').waitFor({ timeout: TIMEOUT });
    // Issue 16: a patient who gave up during the intro is not called back (docs/managers.md).
    assert.is(await task(maria).getByRole('button', { name: 'Call back' }).count(), 0, 'no Call back');
    await screenshot(maria, 'abandoned-intro');
  } finally {
    await patient.finish();
  }
});

test("a patient who gives up while waiting joins the number's task, now Unanswered: 2 missed calls, and a manager without a workstation is told why she cannot call back", async () => {
  await pauseAnna();
  const from = events.mark();
  const patient = await patientCalls('uac-pcmu-answered-patient-hangs-up.xml', { pauseMs: GIVES_UP_AFTER_MS });
  try {
    // The number's abandoned task is incoming again while the patient waits…
    await openTab(maria, 'Pending');
    await task(maria).getByText('Waiting', { exact: true }).waitFor({ timeout: TIMEOUT });
    // …and unanswered when they hang up.
    await openTab(maria, 'Unanswered');
    await onMariasBoard(
      'unanswered while waiting',
      events.waitFor({ state: 'abandoned', from }, TIMEOUT),
      task(maria).getByText('Unanswered: 2 missed calls', { exact: true }),
      (t) => t.status === 'unanswered' && t.attempts === 2,
    );
    const result = await patient.sipp;
    assert.is(result.code, 0, describeSipp(result));
    assert.is(await task(maria).count(), 1, 'one task for the number');
    await board(maria).getByRole('tab', { name: 'Abandoned 0' }).waitFor({ timeout: TIMEOUT });
    assert.ok(await task(maria).getByRole('button', { name: 'Call back' }).isDisabled(), 'no workstation, no callback');
    await task(maria)
      .getByText('Choose a workstation to call patients back', { exact: false })
      .waitFor({ timeout: TIMEOUT });
    await screenshot(maria, 'unanswered-waiting');
  } finally {
    await patient.finish();
    await pauseBand(anna).getByRole('button', { name: "I'm back" }).click();
  }
});

/** The options of Anna's subject select on the unanswered task, as she reads them. */
async function annasChoices(): Promise<string[]> {
  return (await task(anna).getByLabel('Subject').locator('option').allTextContents()).map((text) => text.trim());
}

async function annaSeesChoices(what: string, check: (choices: string[]) => boolean, since: number): Promise<void> {
  await waitFor(`${what} in Anna's subject list`, async () => check(await annasChoices()), TIMEOUT);
  const ms = Date.now() - since;
  console.log(`  Maria's click -> ${what} in Anna's subject list: ${ms} ms`);
  assert.ok(ms < LIVE_MS, `${what}: ${ms} ms`);
}

test("Maria adds, renames and retires a subject: Anna's subject list follows live; a retired subject stays on the task that has it", async () => {
  await openTab(anna, 'Unanswered');
  await task(anna).getByLabel('Subject').waitFor({ timeout: TIMEOUT });
  assert.equal(await annasChoices(), ['Choose a subject', 'Information', 'Visit booked', 'Visit not booked']);

  await maria.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Subjects' }).click();
  const admin = maria.getByRole('region', { name: 'Subjects' });
  await admin.getByLabel('New subject').fill('Prescription');
  let clicked = Date.now();
  await admin.getByRole('button', { name: 'Add subject' }).click();
  await annaSeesChoices('the new subject', (choices) => choices.includes('Prescription'), clicked);
  await admin.getByText('Added “Prescription” to Information.').waitFor({ timeout: TIMEOUT });
  // Names are unique, ignoring case: the server's refusal is shown, and nothing is added.
  await admin.getByLabel('New subject').fill('prescription');
  await admin.getByRole('button', { name: 'Add subject' }).click();
  await admin
    .getByRole('alert')
    .filter({ hasText: 'A subject named "Prescription" already exists under Information.' })
    .waitFor({ timeout: TIMEOUT });
  assert.is(await admin.getByRole('listitem', { name: 'Prescription', exact: true }).count(), 1);
  assert.is(await admin.getByLabel('New subject').inputValue(), 'prescription', 'what was typed is kept to correct');

  await admin.getByRole('button', { name: 'Rename Prescription' }).click();
  await admin.getByLabel('New name for Prescription').fill('Prescription renewal');
  clicked = Date.now();
  await admin.getByRole('button', { name: 'Save' }).click();
  await annaSeesChoices(
    'the new name',
    (choices) => choices.includes('Prescription renewal') && !choices.includes('Prescription'),
    clicked,
  );

  await task(anna).getByLabel('Subject').selectOption({ label: 'Prescription renewal' });
  await task(anna).getByText('Subject saved').waitFor({ timeout: TIMEOUT });

  clicked = Date.now();
  await admin.getByRole('button', { name: 'Retire Prescription renewal' }).click();
  await annaSeesChoices(
    'the subject retired',
    (choices) => choices.includes('Prescription renewal (retired)'),
    clicked,
  );
  await admin
    .getByRole('list', { name: 'Retired' })
    .getByRole('listitem', { name: 'Prescription renewal' })
    .waitFor({ timeout: TIMEOUT });
  await screenshot(maria, 'subjects');
  await screenshot(anna, 'retired-subject-on-task');

  // Another choice for the task: the retired subject is no longer offered.
  await task(anna).getByLabel('Subject').selectOption({ label: 'Information' });
  await task(anna).getByText('Subject saved').waitFor({ timeout: TIMEOUT });
  assert.equal(await annasChoices(), ['Choose a subject', 'Information', 'Visit booked', 'Visit not booked']);

  clicked = Date.now();
  await admin.getByRole('button', { name: 'Restore Prescription renewal' }).click();
  await annaSeesChoices('the subject restored', (choices) => choices.includes('Prescription renewal'), clicked);
});

test('a comment that cannot be saved says so, and is saved once Deskline can be reached again', async () => {
  await openTab(anna, 'Unanswered');
  const comment = task(anna).getByLabel('Comment');
  // The connection to Deskline drops for the PATCH only: the board itself stays live.
  await anna.route('**/api/tasks/*', (route) =>
    route.request().method() === 'PATCH' ? route.abort('internetdisconnected') : route.fallback(),
  );
  try {
    await comment.fill('Call again after 14:00');
    await comment.blur();
    await task(anna)
      .getByRole('alert')
      .filter({ hasText: 'Not saved: Deskline is not reachable. Check your connection.' })
      .waitFor({ timeout: TIMEOUT });
  } finally {
    await anna.unroute('**/api/tasks/*');
  }
  await comment.fill('Call again after 14:30');
  await task(anna).getByText('Comment saved').waitFor({ timeout: TIMEOUT });
  const [stored] = (await app.tasks.open()).filter((t) => t.patient === PATIENT_NUMBER);
  assert.is(stored?.comment, 'Call again after 14:30');
});

test('no page errors', () => {
  console.log(`  stages on Maria's board: ${delays.map((d) => `${d.stage} ${d.ms} ms`).join(', ')}`);
  assert.equal(pageErrors, []);
});

test.run();
