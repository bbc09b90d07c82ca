/**
 * The parts of the user panel that concern calls, in Chromium against a real Kamailio, rtpengine,
 * Redis and signaling: call notifications (on, allowed, denied, restored at another computer) and
 * logging out during a call. A stand-in for the sip app rings the browser through Kamailio, as in
 * softphone.test.ts.
 *
 * Notifications are observed honestly: an init script wraps the page's own window.Notification
 * (the real one still runs) and records every notification made, closed and clicked, and every
 * window.focus() and permission request.
 *
 * SCREENSHOT_DIR=/some/dir saves what the page looks like at each step, for a look by eye.
 */
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { BrowserContext, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type CallView, type Workstation } from '@deskline/protocol';
import { RedisChannels, RedisKeys, browserSipUser } from '@deskline/store';
import { CallStore } from '@deskline/sip/calls/call-store';
import { PLAIN_RTP, WEBRTC } from '@deskline/sip/media/flags';
import { patientSdp } from '../../helpers/patient-line.js';
import { PatientPhone } from '../../helpers/patient-phone.js';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { createClinic, STAFF } from '../../helpers/clinic.js';
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

/** What the init script records, read with page.evaluate. */
interface NotificationRecord {
  title: string;
  body: string;
  closed: boolean;
}
interface RecorderWindow {
  __dlTestNotifications: {
    made: NotificationRecord[];
    objects: Notification[];
    focusCalls: number;
    permissionRequests: number;
  };
}

const TIMEOUT = 10_000;
const PATIENT = '+48221234567';

let redis: TestRedis;
let db: Redis;
let kamailio: TestKamailio;
let rtpengine: TestRtpengine;
let app: FastifyInstance;
let base: string;
let ringer: WorkstationRinger;
let registrations: ChannelRecorder<RegistrationEvent>;
const browsers: TestBrowser[] = [];
const pageErrors: string[] = [];
let reception: Workstation;

test.before(async () => {
  redis = await startTestRedis();
  db = new Redis(redis.url);
  registrations = await ChannelRecorder.subscribe<RegistrationEvent>(redis.url, RedisChannels.sipRegistrations);
  kamailio = await startTestKamailio({ redisUrl: redis.url });
  rtpengine = await startTestRtpengine();
  app = await buildTestApp(redis.url, {
    SIP_EPHEMERAL_SECRET: kamailio.secret,
    SIP_DOMAIN: kamailio.domain,
    SIP_WS_PORT: String(kamailio.wsPort),
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  reception = (await createClinic(app, { staff: ['anna', 'ben'], workstations: ['reception1'] })).workstations
    .reception1;
  ringer = await WorkstationRinger.connect(kamailio);
});

test.after(async () => {
  for (const browser of browsers) await browser.close();
  await ringer?.close();
  await app?.close();
  await rtpengine?.stop();
  await kamailio?.stop();
  registrations?.close();
  db?.disconnect();
  await redis?.stop();
});

/** A computer of its own (a fresh browser profile) with the notification recorder installed. */
async function computer(): Promise<TestBrowser> {
  const browser = await launchBrowser();
  browsers.push(browser);
  await recordNotifications(browser.context);
  return browser;
}

async function recordNotifications(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const record = {
      made: [] as NotificationRecord[],
      objects: [] as Notification[],
      focusCalls: 0,
      permissionRequests: 0,
    };
    (window as unknown as RecorderWindow).__dlTestNotifications = record;
    const RealNotification = window.Notification;
    class RecordedNotification extends RealNotification {
      #entry: NotificationRecord;
      constructor(title: string, options?: NotificationOptions) {
        super(title, options);
        this.#entry = { title, body: options?.body ?? '', closed: false };
        record.made.push(this.#entry);
        record.objects.push(this);
      }
      override close(): void {
        this.#entry.closed = true;
        super.close();
      }
      static override requestPermission(callback?: NotificationPermissionCallback): Promise<NotificationPermission> {
        record.permissionRequests += 1;
        return RealNotification.requestPermission(callback);
      }
    }
    window.Notification = RecordedNotification;
    const focus = window.focus.bind(window);
    window.focus = () => {
      record.focusCalls += 1;
      focus();
    };
  });
}

function notifications(page: Page): Promise<RecorderWindow['__dlTestNotifications']> {
  return page.evaluate(() => {
    const { made, focusCalls, permissionRequests } = (window as unknown as RecorderWindow).__dlTestNotifications;
    return { made, objects: [], focusCalls, permissionRequests };
  });
}

async function openPage(browser: TestBrowser): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return page;
}

function sipUser(): string {
  return browserSipUser(reception.id);
}

function registered(yes = true): Promise<RegistrationEvent> {
  const from = registrations.messages.length;
  return registrations.waitFor(
    (event) => registrations.messages.indexOf(event) >= from && event.user === sipUser() && event.registered === yes,
    `${sipUser()} ${yes ? 'registered' : 'unregistered'}`,
    TIMEOUT,
  );
}

/** Logs Anna in through the form and has her on Reception 1, registered with Kamailio. */
async function annaAtReception(page: Page): Promise<void> {
  const registration = registered();
  await page.goto(base);
  await page.getByLabel('Email').fill(STAFF.anna.email);
  await page.getByLabel('Password').fill(STAFF.anna.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  // The server remembers her workstation from her other computer; otherwise she picks it.
  const ready = page.getByRole('status').filter({ hasText: 'Ready for calls on Reception 1' });
  const pick = page.getByRole('button', { name: 'Reception 1' });
  await pick.or(ready).first().waitFor({ timeout: TIMEOUT });
  if (await pick.isVisible()) await pick.click();
  await ready.waitFor({ timeout: TIMEOUT });
  await registration;
}

async function openMenu(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'User menu' }).click();
}

function notificationsToggle(page: Page) {
  return page.getByRole('menuitemcheckbox', { name: 'Call notifications' });
}

const screenshot = screenshots('user-panel');

function incomingCall(page: Page) {
  return page.getByRole('region', { name: 'Incoming call' });
}

function toTag(response: SipMessage): string {
  return param(header(response, 'to'), 'tag') ?? '';
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

let annaPage: Page;

test('with notifications on and allowed, a ringing call shows one with the number and waiting time; a click brings the tab forward; it closes when the ringing stops', async () => {
  const browser = await computer();
  await browser.context.grantPermissions(['notifications'], { origin: base });
  annaPage = await openPage(browser);
  await annaAtReception(annaPage);

  await openMenu(annaPage);
  const toggle = notificationsToggle(annaPage);
  assert.is(await toggle.getAttribute('aria-checked'), 'false', 'off until chosen');
  await toggle.click();
  await waitFor(
    'the choice to be saved',
    async () =>
      (await db.hget(`user:${(await app.users.findByEmail('anna@clinic.example'))!.id}`, 'notifications')) === 'on',
    TIMEOUT,
  );
  await openMenu(annaPage);
  assert.is(await notificationsToggle(annaPage).getAttribute('aria-checked'), 'true');
  await screenshot(annaPage, 'menu-notifications-on');
  await annaPage.keyboard.press('Escape');

  const now = Date.now();
  const queued: CallView = {
    id: 'call-notified',
    from: PATIENT,
    line: '100',
    state: 'ringing',
    startedAt: now - 40_000,
    queuedAt: now - 33_000,
    workstationId: reception.id,
  };
  await new CallStore(db).record(queued);
  const ring = ringer
    .prepare({ user: sipUser(), from: PATIENT, headers: [['X-Deskline-Call-Id', queued.id]] })
    .invite();
  await ring.response(180, TIMEOUT);
  const shown = await waitFor('a notification', async () => (await notifications(annaPage)).made[0], TIMEOUT);
  assert.is(shown.title, 'Incoming call');
  assert.match(shown.body, new RegExp(`^\\${PATIENT}\\nWaiting 00:3[3-9]$`), `body ${JSON.stringify(shown.body)}`);
  assert.is(shown.closed, false);

  // A click on it (as the system would deliver it) focuses the page and closes the notification.
  await annaPage.evaluate(() =>
    (window as unknown as RecorderWindow).__dlTestNotifications.objects[0]?.dispatchEvent(new Event('click')),
  );
  const afterClick = await notifications(annaPage);
  assert.is(afterClick.focusCalls, 1);
  assert.is(afterClick.made[0]?.closed, true);

  // The next ring is announced too, and the caller hanging up closes it.
  ring.cancel();
  ring.ack(await ring.response(undefined, TIMEOUT));
  await incomingCall(annaPage).waitFor({ state: 'detached', timeout: TIMEOUT });
  await new CallStore(db).record({ ...queued, state: 'abandoned', endedAt: Date.now() });
  const again = ringer.prepare({ user: sipUser(), from: '+48229876543' }).invite();
  await again.response(180, TIMEOUT);
  const second = await waitFor('a second notification', async () => (await notifications(annaPage)).made[1], TIMEOUT);
  assert.is(second.body, '+48229876543', 'no waiting time when the queue does not know the call');
  await screenshot(annaPage, 'ringing-with-notification');
  again.cancel();
  const final = await again.response(undefined, TIMEOUT);
  assert.is(final.status, 487);
  again.ack(final);
  await waitFor('the notification to close', async () => (await notifications(annaPage)).made[1]?.closed, TIMEOUT);
  assert.is((await notifications(annaPage)).made.length, 2);
});

test('logging out during a call asks first: Cancel keeps the call, OK hangs up, returns to the login page and frees the workstation', async () => {
  const page = annaPage;
  const patient = await PatientPhone.open();
  try {
    // While it rings: the question names the caller, and Cancel keeps it ringing.
    const ring = ringer.prepare({ user: sipUser(), from: PATIENT }).invite();
    await ring.response(180, TIMEOUT);
    await incomingCall(page).getByRole('button', { name: 'Answer' }).waitFor({ timeout: TIMEOUT });
    await openMenu(page);
    await page.getByRole('menuitem', { name: 'Log out' }).click();
    const question = page.getByRole('alertdialog');
    await question.getByText(`A call from ${PATIENT} is ringing; log out and hang up?`).waitFor({ timeout: TIMEOUT });
    await question.getByRole('button', { name: 'Cancel' }).click();
    await question.waitFor({ state: 'hidden', timeout: TIMEOUT });

    // Answer (a late offer, so the browser offers and rtpengine bridges it to the patient's phone).
    await incomingCall(page).getByRole('button', { name: 'Answer' }).click();
    const ok = await ring.response(undefined, TIMEOUT);
    assert.is(ok.status, 200, ok.raw);
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
    const call = page.getByRole('region', { name: 'Call', exact: true });
    await call.getByText('In call').waitFor({ timeout: TIMEOUT });

    // On the call: Cancel keeps everything.
    await openMenu(page);
    await page.getByRole('menuitem', { name: 'Log out' }).click();
    await question.getByText(`You are on a call with ${PATIENT}; log out and hang up?`).waitFor({ timeout: TIMEOUT });
    await screenshot(page, 'logout-question');
    await question.getByRole('button', { name: 'Cancel' }).click();
    await question.waitFor({ state: 'hidden', timeout: TIMEOUT });
    await call.getByText('In call').waitFor({ timeout: TIMEOUT });
    await patient.waitUntil("the receptionist's voice", (received) => received.find((p) => p.rms > 300), TIMEOUT);
    assert.is(await page.evaluate(async () => (await fetch('/api/me')).status), 200, 'still logged in');
    assert.is((await db.get(RedisKeys.workstationHolder(reception.id))) !== null, true, 'still on Reception 1');

    // OK: the call is hung up (a BYE reaches the caller), the phone unregisters, the login page shows.
    const gone = registered(false);
    const bye = ring.receiveBye(TIMEOUT);
    await openMenu(page);
    await page.getByRole('menuitem', { name: 'Log out' }).click();
    await question.getByRole('button', { name: 'Log out and hang up' }).click();
    await bye;
    await page.getByLabel('Email').waitFor({ timeout: TIMEOUT });
    await gone;
    assert.is(await db.exists(RedisKeys.sipRegistration(sipUser())), 0);
    assert.is(await db.get(RedisKeys.workstationHolder(reception.id)), null, 'the workstation is free');
    await rtpengine.ng({ command: 'delete', 'call-id': ring.callId, 'from-tag': browserTag });

    // Ben can take it.
    const ben = await loginOk(app, STAFF.ben.email, STAFF.ben.password);
    const taken = await asUser(app, ben, 'PUT', '/api/workstation', { workstationId: reception.id });
    assert.is(taken.statusCode, 200, taken.body);
    assert.is(taken.json<{ workstation?: Workstation }>().workstation?.name, 'Reception 1');
    await asUser(app, ben, 'DELETE', '/api/workstation');
  } finally {
    patient.close();
  }
});

test('at another computer the choice comes back from the server and the browser is asked there; a refusal says how to allow it', async () => {
  // A computer whose browser refuses notifications for the site (as after "Block").
  const browser = await computer();
  const page = await openPage(browser);
  await page.goto(base);
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Browser.setPermission', { permission: { name: 'notifications' }, setting: 'denied', origin: base });
  await annaAtReception(page);

  const howTo = page.getByRole('status').filter({ hasText: 'Notifications are blocked for Deskline in this browser.' });
  await howTo
    .getByText(/site settings\), set Notifications to Allow, and reload the page/)
    .waitFor({ timeout: TIMEOUT });
  await openMenu(page);
  assert.is(
    await notificationsToggle(page).getAttribute('aria-checked'),
    'true',
    'the choice made at the other computer',
  );
  await page.getByText('Blocked by this browser').waitFor({ timeout: TIMEOUT });
  await screenshot(page, 'notifications-blocked');
  await page.keyboard.press('Escape');

  // A ring there shows no notification (the browser refuses), but rings as always.
  const ring = ringer.prepare({ user: sipUser(), from: PATIENT }).invite();
  await ring.response(180, TIMEOUT);
  await incomingCall(page).getByRole('button', { name: 'Answer' }).waitFor({ timeout: TIMEOUT });
  ring.cancel();
  ring.ack(await ring.response(undefined, TIMEOUT));
  await incomingCall(page).waitFor({ state: 'detached', timeout: TIMEOUT });
  assert.is((await notifications(page)).made.length, 0);

  // Turned off: the how-to goes away.
  await openMenu(page);
  await notificationsToggle(page).click();
  await howTo.waitFor({ state: 'detached', timeout: TIMEOUT });
  await page.close();

  // A computer whose browser was never asked: logging in with the choice on asks it.
  await asUser(app, await loginOk(app, STAFF.anna.email, STAFF.anna.password), 'PUT', '/api/me/preferences', {
    notifications: true,
  });
  const fresh = await computer();
  const freshPage = await openPage(fresh);
  await annaAtReception(freshPage);
  await waitFor(
    'the browser to be asked',
    async () => (await notifications(freshPage)).permissionRequests === 1,
    TIMEOUT,
  );
  await openMenu(freshPage);
  assert.is(await notificationsToggle(freshPage).getAttribute('aria-checked'), 'true');
  await freshPage.keyboard.press('Escape');
  // Headless Chromium answers a request that no person can see with "denied": the how-to shows.
  await freshPage
    .getByRole('status')
    .filter({ hasText: 'Notifications are blocked for Deskline in this browser.' })
    .waitFor({ timeout: TIMEOUT });
  await freshPage.close();
});

test('no page errors', () => {
  assert.equal(pageErrors, []);
});

test.run();
