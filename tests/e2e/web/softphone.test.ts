/**
 * The browser softphone end to end: Chromium (JsSIP) registers with a real Kamailio as its
 * workstation, a stand-in for the sip app rings it over Kamailio, and rtpengine carries the audio to
 * and from a patient's phone. Redis, signaling, Kamailio and rtpengine are real processes.
 *
 * SCREENSHOT_DIR=/some/dir saves what the page looks like at each step, for a look by eye.
 */
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { Page, WebSocketRoute } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type CallView, type Workstation } from '@deskline/protocol';
import { RedisChannels, RedisKeys, browserSipUser } from '@deskline/store';
import { CallStore } from '@deskline/sip/calls/call-store';
import { PLAIN_RTP, WEBRTC } from '@deskline/sip/media/flags';
import { freePort } from '@deskline/scripts/free-port';
import { patientSdp } from '../../helpers/patient-line.js';
import { PatientPhone } from '../../helpers/patient-phone.js';
import {
  audioContextStates,
  hasBeenActivated,
  installAudioProbe,
  speakerSources,
  takeSpeakerPeak,
  waitForElementAudio,
} from '../../helpers/audio-probe.js';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { createClinic, memberByEmail, STAFF } from '../../helpers/clinic.js';
import { startTestKamailio, type TestKamailio } from '../../helpers/kamailio.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { ChannelRecorder } from '../../helpers/redis-events.js';
import { startTestRtpengine, type TestRtpengine } from '../../helpers/rtpengine.js';
import { asUser, buildTestApp, loginOk } from '../../helpers/signaling.js';
import { header, param, type SipMessage } from '../../helpers/sip-message.js';
import { waitFor } from '../../helpers/wait.js';
import { WorkstationRinger } from '../../helpers/workstation-ringer.js';
import { screenshots } from '../../helpers/web-stack.js';

interface RegistrationEvent {
  user: string;
  registered: boolean;
}

const TIMEOUT = 10_000;
const PATIENT = '+4930123456';

let redis: TestRedis;
let db: Redis;
let kamailio: TestKamailio;
let rtpengine: TestRtpengine;
let app: FastifyInstance;
let base: string;
let browser: TestBrowser;
let ringer: WorkstationRinger;
let registrations: ChannelRecorder<RegistrationEvent>;
/** Anna's tab: the tests from the first call to her logout continue in it, as her shift would. */
let anna: Page;
const pageErrors: string[] = [];
const workstations: Record<string, Workstation> = {};

test.before(async () => {
  redis = await startTestRedis();
  db = new Redis(redis.url);
  registrations = await ChannelRecorder.subscribe<RegistrationEvent>(redis.url, RedisChannels.sipRegistrations);
  kamailio = await startTestKamailio({ redisUrl: redis.url, echo: Boolean(process.env['KAMAILIO_LOG']) });
  rtpengine = await startTestRtpengine();
  app = await buildTestApp(redis.url, {
    SIP_EPHEMERAL_SECRET: kamailio.secret,
    SIP_DOMAIN: kamailio.domain,
    SIP_WS_PORT: String(kamailio.wsPort),
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  const clinic = await createClinic(app, {
    staff: ['anna', 'ben', 'maria'],
    workstations: ['reception1', 'reception2', 'backOffice'],
  });
  for (const workstation of Object.values(clinic.workstations)) workstations[workstation.name] = workstation;
  ringer = await WorkstationRinger.connect(kamailio);
  browser = await launchBrowser();
  await installAudioProbe(browser.context);
});

test.after(async () => {
  await browser?.close();
  await ringer?.close();
  await app?.close();
  await rtpengine?.stop();
  await kamailio?.stop();
  registrations?.close();
  db?.disconnect();
  await redis?.stop();
});

function toTag(response: SipMessage): string {
  return param(header(response, 'to'), 'tag') ?? '';
}

function sipUser(name: string): string {
  return browserSipUser(workstations[name]!.id);
}

function registered(name: string, yes = true): Promise<RegistrationEvent> {
  const user = sipUser(name);
  const from = registrations.messages.length;
  return registrations.waitFor(
    (event) => registrations.messages.indexOf(event) >= from && event.user === user && event.registered === yes,
    `${user} ${yes ? 'registered' : 'unregistered'}`,
    TIMEOUT,
  );
}

async function openPage(): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return page;
}

/** Opens Deskline and logs in through the form, the way a person does, unless the session still runs. */
async function logIn(page: Page, email: string): Promise<void> {
  await page.goto(base);
  const menuButton = page.getByRole('button', { name: 'User menu' });
  await page.getByLabel('Email').or(menuButton).waitFor({ timeout: TIMEOUT });
  if (await menuButton.isVisible()) return;
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(memberByEmail(email).password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'User menu' }).waitFor({ timeout: TIMEOUT });
}

function statusLine(page: Page, text: string | RegExp) {
  return page.getByRole('status').filter({ hasText: text });
}

const screenshot = screenshots('softphone');

async function menu(page: Page, entry: string): Promise<void> {
  await page.getByRole('button', { name: 'User menu' }).click();
  await page.getByRole('menuitem', { name: entry }).click();
}

/** An rtpengine flag set of the sip app as an ng command's fields. */
function flags(set: Record<string, string | readonly string[]>): Record<string, string | string[]> {
  return Object.fromEntries(
    Object.entries(set).map(([key, value]) => [key, typeof value === 'string' ? value : [...value]]),
  );
}

function text(value: unknown): string {
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}

async function publishCall(call: CallView): Promise<void> {
  await new CallStore(db).record(call);
}

function incomingCall(page: Page) {
  return page.getByRole('region', { name: 'Incoming call' });
}

/** Waits until the ringtone reaches the speakers and is loud enough to hear. */
async function ringtoneAudible(page: Page): Promise<void> {
  await waitFor('the ringtone to play', async () => (await speakerSources(page)) > 0, TIMEOUT);
  await takeSpeakerPeak(page);
  await waitFor('the ringtone to be audible', async () => (await takeSpeakerPeak(page)) > 0.05, TIMEOUT);
}

async function ringtoneSilent(page: Page): Promise<void> {
  await waitFor('the ringtone to stop', async () => (await speakerSources(page)) === 0, TIMEOUT);
}

test('an employee without a workstation picks Reception 1 and is ready for calls; Kamailio mirrors the registration', async () => {
  const page = await openPage();
  const registration = registered('Reception 1');
  await logIn(page, 'anna@clinic.example');
  await page.getByRole('heading', { name: 'Choose your workstation to receive calls' }).waitFor({ timeout: TIMEOUT });
  assert.is(
    await page.getByRole('button', { name: 'Work without a workstation' }).count(),
    0,
    'employees may not skip it',
  );
  await screenshot(page, 'picker');
  await page.getByRole('button', { name: 'Reception 1' }).click();
  await statusLine(page, 'Ready for calls on Reception 1').waitFor({ timeout: TIMEOUT });
  await registration;
  const contact = await db.get(RedisKeys.sipRegistration(sipUser('Reception 1')));
  assert.match(contact ?? '', /transport=ws/);
  await screenshot(page, 'ready');
  await page.close();
});

test("an INVITE rings the browser with the caller's number, waiting time and Answer; the caller's CANCEL stops it at once", async () => {
  anna = await openPage();
  const registration = registered('Reception 1');
  await logIn(anna, 'anna@clinic.example');
  await statusLine(anna, 'Ready for calls on Reception 1').waitFor({ timeout: TIMEOUT });
  await registration;

  const now = Date.now();
  const queued: CallView = {
    id: 'call-cancel',
    from: PATIENT,
    line: '100',
    state: 'ringing',
    startedAt: now - 50_000,
    queuedAt: now - 42_000,
    workstationId: workstations['Reception 1']!.id,
  };
  await publishCall(queued);
  const queue = anna.getByRole('region', { name: /Queue/ });
  await queue.getByText('Ringing · Reception 1').waitFor({ timeout: TIMEOUT });

  const ring = ringer
    .prepare({
      user: sipUser('Reception 1'),
      from: PATIENT,
      fromName: 'Erika Muster',
      headers: [['X-Deskline-Call-Id', queued.id]],
    })
    .invite();
  await ring.response(180, TIMEOUT);
  const panel = incomingCall(anna);
  await panel.getByText(PATIENT).waitFor({ timeout: TIMEOUT });
  await panel.getByText('Erika Muster').waitFor({ timeout: TIMEOUT });
  await panel.getByRole('button', { name: 'Answer' }).waitFor({ timeout: TIMEOUT });
  // Counted from when the patient joined the queue, not from when this browser started ringing.
  const waited = await panel.locator('time').textContent();
  assert.match(waited ?? '', /^00:4[2-9]$/, `waited ${JSON.stringify(waited)}`);
  await ringtoneAudible(anna);
  await screenshot(anna, 'ringing');

  ring.cancel();
  const final = await ring.response(undefined, TIMEOUT);
  assert.is(final.status, 487);
  ring.ack(final);
  await panel.waitFor({ state: 'detached', timeout: TIMEOUT });
  await ringtoneSilent(anna);

  await publishCall({ ...queued, state: 'abandoned', endedAt: Date.now() });
  await queue.getByText('No patients waiting').waitFor({ timeout: TIMEOUT });
});

test('Answer on an INVITE with an SDP offer: audio both ways through rtpengine, Mute, and Hang up', async () => {
  const patient = await PatientPhone.open();
  try {
    const ring = ringer.prepare({ user: sipUser('Reception 1'), from: PATIENT });
    const offer = await rtpengine.ng({
      command: 'offer',
      'call-id': ring.callId,
      'from-tag': ring.fromTag,
      sdp: patientSdp(patient.port),
      ...flags(WEBRTC),
    });
    assert.is(text(offer['result']), 'ok', text(offer['error-reason']));
    ring.invite(text(offer['sdp']));
    await ring.response(180, TIMEOUT);
    const panel = incomingCall(anna);
    await panel.getByRole('button', { name: 'Answer' }).click();
    await ringtoneSilent(anna);

    const ok = await ring.response(undefined, TIMEOUT);
    assert.is(ok.status, 200, ok.raw);
    const answer = await rtpengine.ng({
      command: 'answer',
      'call-id': ring.callId,
      'from-tag': ring.fromTag,
      'to-tag': toTag(ok),
      sdp: ok.body,
      ...flags(PLAIN_RTP),
    });
    assert.is(text(answer['result']), 'ok', text(answer['error-reason']));
    ring.ack(ok);

    const call = anna.getByRole('region', { name: 'Call', exact: true });
    await call.getByText('In call').waitFor({ timeout: TIMEOUT });
    await call
      .locator('time')
      .getByText(/^00:0\d$/)
      .waitFor({ timeout: TIMEOUT });
    const mute = call.getByRole('button', { name: 'Mute' });
    assert.is(await mute.getAttribute('aria-pressed'), 'false');

    // The receptionist's microphone (Chromium's fake device beeps) reaches the patient ...
    await patient.waitUntil("the receptionist's voice", (received) => received.find((p) => p.rms > 300), TIMEOUT);
    // ... and the patient's 300 Hz tone plays in the page's <audio> element.
    const level = await waitForElementAudio(anna.locator('dl-call-panel audio'), 0.02, TIMEOUT);
    assert.ok(level > 0.02);
    await screenshot(anna, 'in-call');

    await mute.click();
    await waitFor('Mute to be pressed', async () => (await mute.getAttribute('aria-pressed')) === 'true', TIMEOUT);
    const mutedAt = Date.now();
    await patient.waitUntil(
      'silence from the muted microphone',
      (received) => {
        const after = received.filter((p) => p.at > mutedAt + 300);
        return after.length >= 75 && after.every((p) => p.rms < 100) ? true : undefined;
      },
      TIMEOUT,
    );
    await screenshot(anna, 'muted');
    await mute.click();
    const unmutedAt = Date.now();
    await patient.waitUntil(
      'the voice again',
      (received) => received.find((p) => p.at > unmutedAt && p.rms > 300),
      TIMEOUT,
    );

    await call.getByRole('button', { name: 'Hang up' }).click();
    await ring.receiveBye(TIMEOUT);
    await anna
      .getByRole('region', { name: 'Call ended' })
      .getByText('You ended the call.')
      .waitFor({ timeout: TIMEOUT });
    await anna.getByRole('region', { name: 'Call ended' }).waitFor({ state: 'detached', timeout: TIMEOUT });
    await rtpengine.ng({ command: 'delete', 'call-id': ring.callId, 'from-tag': ring.fromTag });
  } finally {
    patient.close();
  }
});

test('Answer on a late-offer INVITE (no SDP): the browser offers, audio flows; a second call meanwhile gets 486; the caller hangs up', async () => {
  const patient = await PatientPhone.open();
  try {
    const ring = ringer.prepare({ user: sipUser('Reception 1'), from: PATIENT }).invite();
    await ring.response(180, TIMEOUT);
    await incomingCall(anna).getByRole('button', { name: 'Answer' }).click();
    const ok = await ring.response(undefined, TIMEOUT);
    assert.is(ok.status, 200, ok.raw);
    assert.match(ok.body, /UDP\/TLS\/RTP\/SAVPF/);
    const browserTag = toTag(ok);
    const offer = await rtpengine.ng({
      command: 'offer',
      'call-id': ring.callId,
      'from-tag': browserTag,
      'to-tag': ring.fromTag,
      sdp: ok.body,
      ...flags(PLAIN_RTP),
    });
    assert.is(text(offer['result']), 'ok', text(offer['error-reason']));
    const answer = await rtpengine.ng({
      command: 'answer',
      'call-id': ring.callId,
      'from-tag': browserTag,
      'to-tag': ring.fromTag,
      sdp: patientSdp(patient.port),
      ...flags(WEBRTC),
    });
    assert.is(text(answer['result']), 'ok', text(answer['error-reason']));
    ring.ack(ok, text(answer['sdp']));

    const call = anna.getByRole('region', { name: 'Call', exact: true });
    await call.getByText('In call').waitFor({ timeout: TIMEOUT });
    await patient.waitUntil("the receptionist's voice", (received) => received.find((p) => p.rms > 300), TIMEOUT);
    await waitForElementAudio(anna.locator('dl-call-panel audio'), 0.02, TIMEOUT);

    const second = ringer.prepare({ user: sipUser('Reception 1'), from: '+4930999999' }).invite();
    const busy = await second.response(undefined, TIMEOUT);
    assert.is(busy.status, 486);
    second.ack(busy);
    assert.is(await incomingCall(anna).count(), 0, 'the second call does not ring');

    // Changing workstation is refused while on a call.
    await menu(anna, 'Change workstation');
    await anna
      .getByRole('alert')
      .getByText('Finish the current call before changing workstation.')
      .waitFor({ timeout: TIMEOUT });
    assert.ok(await anna.getByRole('button', { name: 'Reception 2' }).isDisabled());
    await anna.getByRole('button', { name: 'Cancel' }).click();

    ring.bye();
    const byeAnswer = await ring.byeResponse(TIMEOUT);
    assert.is(byeAnswer.status, 200);
    await anna
      .getByRole('region', { name: 'Call ended' })
      .getByText('The caller hung up.')
      .waitFor({ timeout: TIMEOUT });
    await screenshot(anna, 'ended');
    await anna.getByRole('region', { name: 'Call ended' }).waitFor({ state: 'detached', timeout: TIMEOUT });
    await rtpengine.ng({ command: 'delete', 'call-id': ring.callId, 'from-tag': browserTag });
  } finally {
    patient.close();
  }
});

test('changing workstation: one in use shows who has it and cannot be chosen, and the server refuses it; a free one re-registers as the new workstation', async () => {
  const ben = await loginOk(app, STAFF.ben.email, STAFF.ben.password);
  const taken = await asUser(app, ben, 'PUT', '/api/workstation', { workstationId: workstations['Reception 2']!.id });
  assert.is(taken.statusCode, 200, taken.body);

  await menu(anna, 'Change workstation');
  await anna.getByRole('heading', { name: 'Choose your workstation to receive calls' }).waitFor({ timeout: TIMEOUT });
  const reception2 = anna.getByRole('button', { name: 'Reception 2' });
  await reception2.getByText('In use by Ben Reception').waitFor({ timeout: TIMEOUT });
  assert.ok(await reception2.isDisabled());
  await screenshot(anna, 'picker-taken');
  await anna.getByRole('button', { name: 'Cancel' }).click();

  // A list read just before Ben took it: the choice is offered, and the server refuses it.
  await anna.route('**/api/workstations', async (route) => {
    const list = (await (await route.fetch()).json()) as Array<Record<string, unknown>>;
    await route.fulfill({ json: list.map(({ holder: _holder, ...workstation }) => workstation) });
  });
  await menu(anna, 'Change workstation');
  await anna.getByRole('button', { name: 'Reception 2' }).click();
  await anna.getByRole('alert').getByText('Reception 2 is in use by Ben Reception.').waitFor({ timeout: TIMEOUT });
  await anna.unroute('**/api/workstations');
  assert.is(await statusLine(anna, 'Ready for calls on Reception 1').count(), 1, 'still on Reception 1');

  const left = await asUser(app, ben, 'DELETE', '/api/workstation');
  assert.is(left.statusCode, 204);
  const oldGone = registered('Reception 1', false);
  const newOne = registered('Reception 2');
  await anna.getByRole('button', { name: 'Reception 2' }).click();
  await Promise.all([oldGone, newOne]);
  await statusLine(anna, 'Ready for calls on Reception 2').waitFor({ timeout: TIMEOUT });
  assert.is(
    await anna.getByRole('heading', { name: 'Choose your workstation to receive calls' }).count(),
    0,
    'the picker closed',
  );
  assert.is(await db.exists(RedisKeys.sipRegistration(sipUser('Reception 1'))), 0);
  assert.is(await db.exists(RedisKeys.sipRegistration(sipUser('Reception 2'))), 1);
});

test('logging out unregisters the workstation at once; a call to it then gets 480 from Kamailio', async () => {
  const gone = registered('Reception 2', false);
  await menu(anna, 'Log out');
  await anna.getByLabel('Email').waitFor({ timeout: TIMEOUT });
  await gone;
  assert.is(await db.exists(RedisKeys.sipRegistration(sipUser('Reception 2'))), 0);
  const ring = ringer.prepare({ user: sipUser('Reception 2'), from: PATIENT }).invite();
  const final = await ring.response(undefined, TIMEOUT);
  assert.is(final.status, 480);
  ring.ack(final);
  await anna.close();
});

test("a closed tab loses its registration (Kamailio's websocket:closed); a call to it then gets 480", async () => {
  const page = await openPage();
  await logIn(page, 'anna@clinic.example');
  const registration = registered('Reception 1');
  await page.getByRole('button', { name: 'Reception 1' }).click();
  await registration;
  const gone = registered('Reception 1', false);
  await page.close();
  await gone;
  assert.is(await db.exists(RedisKeys.sipRegistration(sipUser('Reception 1'))), 0);
  const ring = ringer.prepare({ user: sipUser('Reception 1'), from: PATIENT }).invite();
  const final = await ring.response(undefined, TIMEOUT);
  assert.is(final.status, 480);
  ring.ack(final);
});

test('a page nobody has clicked yet (a reload) rings without errors, silently, until Turn on sound', async () => {
  const page = await openPage();
  const errorsBefore = pageErrors.length;
  const registration = registered('Reception 1');
  // The session is still on: the page opens straight into the shell. Until the checks of the
  // silent ring, the test only watches from outside (Redis, SIP, the DevTools protocol), because
  // Playwright's locators count as a user gesture, and a gesture lets the page make sound.
  await page.goto(base);
  await registration;
  const ring = ringer.prepare({ user: sipUser('Reception 1'), from: PATIENT }).invite();
  await ring.response(180, TIMEOUT);
  await waitFor('the ringtone to start', async () => (await speakerSources(page)) > 0, TIMEOUT);
  assert.is(await hasBeenActivated(page), false, 'nothing has touched the page');
  assert.equal(await audioContextStates(page), ['suspended'], 'the browser holds the sound back');

  await incomingCall(page).getByRole('button', { name: 'Answer' }).waitFor({ timeout: TIMEOUT });
  await statusLine(page, 'Ready for calls on Reception 1').waitFor({ timeout: TIMEOUT });
  const turnOnSound = page.getByRole('button', { name: 'Turn on sound' });
  await turnOnSound.waitFor({ timeout: TIMEOUT });
  await screenshot(page, 'sound-blocked');
  await turnOnSound.click();
  await waitFor('the audio to resume', async () => (await audioContextStates(page)).join() === 'running', TIMEOUT);
  await ringtoneAudible(page);
  await turnOnSound.waitFor({ state: 'detached', timeout: TIMEOUT });

  ring.cancel();
  const final = await ring.response(undefined, TIMEOUT);
  assert.is(final.status, 487);
  ring.ack(final);
  await ringtoneSilent(page);
  assert.equal(pageErrors.slice(errorsBefore), []);
  await page.close();
});

test('credentials are renewed before they expire and the next REGISTER uses them', async () => {
  // A browser of its own: the fake clock belongs to the whole browser context.
  const own = await launchBrowser();
  const page = await own.context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // The page's clock can be moved on; time still flows as usual until then.
  await page.clock.install();
  const registers: string[] = [];
  const answers: string[] = [];
  page.on('websocket', (socket) => {
    socket.on('framesent', ({ payload }) => {
      if (String(payload).startsWith('REGISTER ')) registers.push(String(payload));
    });
    socket.on('framereceived', ({ payload }) => answers.push(String(payload)));
  });
  const registration = registered('Reception 1');
  await logIn(page, 'anna@clinic.example');
  await registration;

  // Credentials that differ from the ones the page holds, made the way signaling makes them.
  const expiresAt = Math.floor(Date.now() / 1000) + 7200;
  const renewed = await kamailio.browserCredentials(sipUser('Reception 1'), expiresAt);
  await page.route('**/api/sip/credentials', (route) =>
    route.fulfill({
      json: {
        wsUrl: kamailio.wsUrl,
        uri: `sip:${sipUser('Reception 1')}@${kamailio.domain}`,
        ...renewed,
        expiresAt: expiresAt * 1000,
      },
    }),
  );
  const renewal = page.waitForResponse('**/api/sip/credentials', { timeout: TIMEOUT });
  // signaling hands out credentials for 12 hours; the page renews them well before.
  await page.clock.fastForward('11:00:00');
  await renewal;
  // The page registers at once with them, or, if a REGISTER of JsSIP's own was under way, with its
  // next refresh: moving the clock on brings that refresh.
  const register = await waitFor(
    'a REGISTER with the renewed credentials',
    async () => {
      const found = registers.find((message) => message.includes(`username="${renewed.username}"`));
      if (!found) await page.clock.fastForward('01:30');
      return found;
    },
    TIMEOUT,
  );
  const callId = /^Call-ID: (.+)$/m.exec(register)?.[1]?.trim();
  const cseq = /^CSeq: (\d+) REGISTER/m.exec(register)?.[1];
  await waitFor(
    'Kamailio to accept it',
    () =>
      answers.find(
        (message) =>
          message.startsWith('SIP/2.0 200') &&
          message.includes(`CSeq: ${cseq} REGISTER`) &&
          message.includes(callId ?? '?'),
      ),
    TIMEOUT,
  );
  await statusLine(page, 'Ready for calls on Reception 1').waitFor({ timeout: TIMEOUT });
  await own.close();
});

test('when the phone cannot be set up, the status says why: SIP not configured, phone server unreachable, credentials refused', async () => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ['no SIP', {}, 'SIP is not configured on this server.'],
    [
      'no Kamailio',
      { SIP_EPHEMERAL_SECRET: kamailio.secret, SIP_DOMAIN: kamailio.domain, SIP_WS_PORT: String(await freePort()) },
      'Cannot reach the phone server. Trying again…',
    ],
    [
      'another secret',
      {
        SIP_EPHEMERAL_SECRET: 'not the secret Kamailio has',
        SIP_DOMAIN: kamailio.domain,
        SIP_WS_PORT: String(kamailio.wsPort),
      },
      "The phone server refused this workstation's credentials.",
    ],
  ];
  for (const [what, env, reason] of cases) {
    // Another signaling over the same Redis: the browser's session is valid there too.
    const other = await buildTestApp(redis.url, env);
    try {
      const page = await openPage();
      await page.goto(await other.listen({ host: '127.0.0.1', port: 0 }));
      const alert = page.getByRole('alert').filter({ hasText: 'Calls cannot reach Reception 1.' });
      await alert
        .getByText(reason)
        .waitFor({ timeout: TIMEOUT })
        .catch((error: Error) => {
          throw new Error(`${what}: ${error.message}`);
        });
      assert.is(await statusLine(page, 'Ready for calls').count(), 0, what);
      await screenshot(page, `failed-${what.replaceAll(' ', '-')}`);
      await page.close();
    } finally {
      await other.close();
    }
  }
});

test("the live queue reconnects after its socket drops, and catches up from the server's hello", async () => {
  const page = await openPage();
  const sockets: WebSocketRoute[] = [];
  const next = (): Promise<WebSocketRoute> =>
    waitFor('the page to open the push socket', () => sockets.shift(), TIMEOUT);
  // The test stands between the page and /api/push, so it can drop the socket and hold the next one.
  await page.routeWebSocket('**/api/push', (socket) => {
    sockets.push(socket);
  });
  await page.goto(base);
  const first = await next();
  const server = first.connectToServer();
  const queue = page.getByRole('region', { name: /Queue/ });
  await queue.getByText('No patients waiting').waitFor({ timeout: TIMEOUT });

  await server.close();
  await first.close({ code: 1011, reason: 'test drops it' });
  await queue.getByText('Reconnecting to the live queue…').waitFor({ timeout: TIMEOUT });
  const second = await next();
  // While the page is not connected to the server, a patient starts waiting.
  const now = Date.now();
  await publishCall({
    id: 'call-while-away',
    from: '+4930555000',
    line: '100',
    state: 'waiting',
    startedAt: now - 20_000,
    queuedAt: now - 15_000,
  });
  second.connectToServer();
  await queue.getByText('+4930555000').waitFor({ timeout: TIMEOUT });
  await queue.getByText('Waiting', { exact: true }).waitFor({ timeout: TIMEOUT });
  await queue.getByText('Reconnecting to the live queue…').waitFor({ state: 'detached', timeout: TIMEOUT });
  await screenshot(page, 'queue');
  await publishCall({
    id: 'call-while-away',
    from: '+4930555000',
    line: '100',
    state: 'abandoned',
    startedAt: now - 20_000,
    queuedAt: now - 15_000,
    endedAt: Date.now(),
  });
  await queue.getByText('No patients waiting').waitFor({ timeout: TIMEOUT });
  await page.close();
});

test('a manager may work without a workstation; on a desk phone the browser registers nothing; logging out ends the other tab too', async () => {
  await browser.context.clearCookies();
  const page = await openPage();
  const credentialRequests: string[] = [];
  page.on('request', (request) => {
    if (request.url().endsWith('/api/sip/credentials')) credentialRequests.push(request.url());
  });
  await logIn(page, 'maria@clinic.example');
  await page.getByRole('button', { name: 'Work without a workstation' }).click();
  await statusLine(page, 'You are not taking calls.').waitFor({ timeout: TIMEOUT });
  await page.getByRole('region', { name: /Queue/ }).getByText('No patients waiting').waitFor({ timeout: TIMEOUT });
  await screenshot(page, 'manager');

  await menu(page, 'Change workstation');
  await page.getByRole('button', { name: 'Back office phone' }).click();
  await statusLine(page, 'Calls ring at desk phone Back office phone (not registered)').waitFor({ timeout: TIMEOUT });
  assert.equal(credentialRequests, [], 'no SIP credentials asked for');

  // Logging out in one tab ends the session in the other: its push socket is closed with 4001.
  const other = await openPage();
  await other.goto(base);
  await statusLine(other, 'Calls ring at desk phone Back office phone (not registered)').waitFor({ timeout: TIMEOUT });
  await menu(page, 'Log out');
  await other
    .getByRole('alert')
    .getByText('Your session has ended. Please log in again.')
    .waitFor({ timeout: TIMEOUT });
  await other.close();
  await page.close();
});

test('no page errors', () => {
  assert.equal(pageErrors, []);
});

test.run();
