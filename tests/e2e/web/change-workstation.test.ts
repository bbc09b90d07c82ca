/**
 * Issue 4, "Change workstation", end to end: two employees in two Chromium browsers, a real Kamailio
 * whose registration mirror in Redis shows what the browsers registered, and signaling over a real
 * Redis. Switching re-registers the browser at once and frees the old workstation; a workstation
 * someone is on cannot be taken; without a workstation there are no SIP credentials; on a desk phone
 * the panel says where calls ring and whether the phone is registered.
 *
 * SCREENSHOT_DIR=/some/dir saves what the pages look like at each step, for a look by eye.
 */
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CSRF_HEADER,
  type ApiError,
  type CreatedWorkstation,
  type SessionInfo,
  type WorkstationListItem,
} from '@deskline/protocol';
import { RedisChannels, RedisKeys, browserSipUser } from '@deskline/store';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { createClinic, memberByEmail } from '../../helpers/clinic.js';
import { startTestKamailio, type TestKamailio } from '../../helpers/kamailio.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { ChannelRecorder } from '../../helpers/redis-events.js';
import { buildTestApp } from '../../helpers/signaling.js';
import { SipUdpEndpoint } from '../../helpers/sip-endpoint.js';
import { register } from '../../helpers/sip-register.js';
import { screenshots } from '../../helpers/web-stack.js';

interface RegistrationEvent {
  user: string;
  registered: boolean;
}

const TIMEOUT = 10_000;
/** The web app reads the workstation list again every 10 s (WorkstationController's REFRESH_MS). */
const LIST_REFRESH_TIMEOUT = 20_000;

let redis: TestRedis;
let db: Redis;
let kamailio: TestKamailio;
let app: FastifyInstance;
let base: string;
let registrations: ChannelRecorder<RegistrationEvent>;
/** Anna's browser and Ben's: two people at two desks. */
let browserA: TestBrowser;
let browserB: TestBrowser;
let anna: Page;
let ben: Page;
const pageErrors: string[] = [];
const workstations: Record<string, CreatedWorkstation> = {};

test.before(async () => {
  redis = await startTestRedis();
  db = new Redis(redis.url);
  registrations = await ChannelRecorder.subscribe<RegistrationEvent>(redis.url, RedisChannels.sipRegistrations);
  kamailio = await startTestKamailio({ redisUrl: redis.url });
  app = await buildTestApp(redis.url, {
    SIP_EPHEMERAL_SECRET: kamailio.secret,
    SIP_DOMAIN: kamailio.domain,
    SIP_WS_PORT: String(kamailio.wsPort),
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  const clinic = await createClinic(app, {
    staff: ['anna', 'ben', 'carla'],
    workstations: ['reception1', 'reception2', 'deskPhone201'],
  });
  for (const workstation of Object.values(clinic.workstations)) workstations[workstation.name] = workstation;
  [browserA, browserB] = await Promise.all([launchBrowser(), launchBrowser()]);
});

test.after(async () => {
  await browserA?.close();
  await browserB?.close();
  await app?.close();
  await kamailio?.stop();
  registrations?.close();
  db?.disconnect();
  await redis?.stop();
});

function sipUser(name: string): string {
  return browserSipUser(workstations[name]!.id);
}

/** Resolves with the time the announcement arrived, for a registration change from now on. */
function registration(name: string, registered = true): Promise<number> {
  const user = sipUser(name);
  const from = registrations.messages.length;
  return registrations
    .waitFor(
      (event) =>
        registrations.messages.indexOf(event) >= from && event.user === user && event.registered === registered,
      `${user} ${registered ? 'registered' : 'unregistered'}`,
      TIMEOUT,
    )
    .then(() => Date.now());
}

async function openPage(browser: TestBrowser): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return page;
}

async function logIn(page: Page, email: string): Promise<void> {
  await page.goto(base);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(memberByEmail(email).password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'User menu' }).waitFor({ timeout: TIMEOUT });
}

async function menu(page: Page, entry: string): Promise<void> {
  await page.getByRole('button', { name: 'User menu' }).click();
  await page.getByRole('menuitem', { name: entry }).click();
}

function statusLine(page: Page, text: string | RegExp) {
  return page.getByRole('status').filter({ hasText: text });
}

const screenshot = screenshots('change-workstation');

function picker(page: Page) {
  return page.getByRole('heading', { name: 'Choose your workstation to receive calls' });
}

/** A request with the page's own session (its cookie, and the CSRF token from GET /api/me). */
async function fromPage(page: Page, method: 'GET' | 'PUT', url: string, data?: object) {
  if (method === 'GET') return page.request.get(`${base}${url}`);
  const me = (await (await page.request.get(`${base}/api/me`)).json()) as SessionInfo;
  return page.request.put(`${base}${url}`, { data, headers: { [CSRF_HEADER]: me.csrfToken } });
}

test('an employee without a workstation is told to pick one to receive calls and call back; the server gives her no SIP credentials', async () => {
  const page = await openPage(browserB);
  const credentialAnswers: number[] = [];
  page.on('response', (response) => {
    if (response.url().endsWith('/api/sip/credentials')) credentialAnswers.push(response.status());
  });
  await logIn(page, 'carla@clinic.example');
  await picker(page).waitFor({ timeout: TIMEOUT });
  await page.getByText('Pick a workstation to receive calls and to call patients back.').waitFor({ timeout: TIMEOUT });
  assert.is(
    await page.getByRole('button', { name: 'Work without a workstation' }).count(),
    0,
    'employees cannot skip it',
  );
  assert.is(await page.getByRole('button', { name: 'Cancel' }).count(), 0, 'nor close it');
  await screenshot(page, 'no-workstation');

  const refused = await fromPage(page, 'GET', '/api/sip/credentials');
  assert.is(refused.status(), 409);
  assert.is(
    ((await refused.json()) as ApiError).message,
    'Pick a workstation to receive calls and to call patients back.',
  );
  assert.equal(credentialAnswers, [], 'the page itself never asked for credentials');
  assert.not.ok(
    registrations.messages.some((event) => event.registered),
    'nothing registered with Kamailio',
  );

  await menu(page, 'Log out');
  await page.getByLabel('Email').waitFor({ timeout: TIMEOUT });
  await page.close();
});

test('Anna switches from Reception 1 to Reception 2: Kamailio drops ws-<R1> and has ws-<R2> within a second; Reception 1 is free at once', async () => {
  anna = await openPage(browserA);
  await logIn(anna, 'anna@clinic.example');
  const first = registration('Reception 1');
  await anna.getByRole('button', { name: 'Reception 1' }).click();
  await first;
  await statusLine(anna, 'Ready for calls on Reception 1').waitFor({ timeout: TIMEOUT });

  await menu(anna, 'Change workstation');
  await picker(anna).waitFor({ timeout: TIMEOUT });
  const oldGone = registration('Reception 1', false);
  const newOne = registration('Reception 2');
  const clickedAt = Date.now();
  await anna.getByRole('button', { name: 'Reception 2' }).click();
  const [goneAt, registeredAt] = await Promise.all([oldGone, newOne]);
  console.log(
    `  on switching: ws-<Reception 1> unregistered after ${goneAt - clickedAt} ms, ws-<Reception 2> registered after ${registeredAt - clickedAt} ms`,
  );
  assert.ok(goneAt - clickedAt < 1000, `the old registration went after ${goneAt - clickedAt} ms`);
  assert.ok(registeredAt - clickedAt < 1000, `the new one came after ${registeredAt - clickedAt} ms`);
  assert.is(await db.exists(RedisKeys.sipRegistration(sipUser('Reception 1'))), 0);
  assert.match((await db.get(RedisKeys.sipRegistration(sipUser('Reception 2')))) ?? '', /transport=ws/);
  await statusLine(anna, 'Ready for calls on Reception 2').waitFor({ timeout: TIMEOUT });

  const list = (await (await fromPage(anna, 'GET', '/api/workstations')).json()) as WorkstationListItem[];
  const byName = Object.fromEntries(list.map((w) => [w.name, w]));
  assert.is(byName['Reception 1']?.holder, undefined, 'Reception 1 is free');
  assert.is(byName['Reception 1']?.registered, false);
  assert.equal(byName['Reception 2']?.holder, {
    userId: (await app.users.findByEmail('anna@clinic.example'))!.id,
    displayName: 'Anna Reception',
  });
  assert.is(byName['Reception 2']?.registered, true);
});

test('Ben can take Reception 1; Reception 2 shows "In use by Anna Reception" and cannot be chosen; forced through the API it is refused with 409', async () => {
  ben = await openPage(browserB);
  await logIn(ben, 'ben@clinic.example');
  await picker(ben).waitFor({ timeout: TIMEOUT });
  const taken = ben.getByRole('button', { name: 'Reception 2' });
  await taken.getByText('In use by Anna Reception').waitFor({ timeout: TIMEOUT });
  assert.ok(await taken.isDisabled(), 'Reception 2 is disabled');
  await screenshot(ben, 'in-use');
  assert.ok(await ben.getByRole('button', { name: 'Reception 1' }).isEnabled());
  assert.is(
    await ben
      .getByRole('button', { name: 'Reception 1' })
      .getByText(/In use/)
      .count(),
    0,
  );

  const forced = await fromPage(ben, 'PUT', '/api/workstation', { workstationId: workstations['Reception 2']!.id });
  assert.is(forced.status(), 409);
  assert.is(((await forced.json()) as ApiError).message, 'Reception 2 is in use by Anna Reception.');

  const registered = registration('Reception 1');
  await ben.getByRole('button', { name: 'Reception 1' }).click();
  await registered;
  await statusLine(ben, 'Ready for calls on Reception 1').waitFor({ timeout: TIMEOUT });
  // Anna is still on Reception 2: Ben's registration did not touch hers.
  assert.is(await db.exists(RedisKeys.sipRegistration(sipUser('Reception 2'))), 1);

  // Anna's picker shows Ben on Reception 1 now.
  await menu(anna, 'Change workstation');
  await anna
    .getByRole('button', { name: 'Reception 1' })
    .getByText('In use by Ben Reception')
    .waitFor({ timeout: TIMEOUT });
  assert.ok(await anna.getByRole('button', { name: 'Reception 1' }).isDisabled());
  await anna.getByRole('button', { name: 'Cancel' }).click();
});

test('on a desk phone the browser unregisters, and the panel says calls ring at the desk phone and whether it is registered', async () => {
  await menu(anna, 'Change workstation');
  const deskPhone = anna.getByRole('button', { name: 'Desk phone 201' });
  await deskPhone.getByText('Calls ring on desk phone 201 · not registered').waitFor({ timeout: TIMEOUT });
  const gone = registration('Reception 2', false);
  await deskPhone.click();
  await gone;
  await statusLine(anna, 'Calls ring at desk phone Desk phone 201 (not registered)').waitFor({ timeout: TIMEOUT });
  assert.is(await db.exists(RedisKeys.sipRegistration(sipUser('Reception 2'))), 0, 'no browser registration left');

  // The phone on the desk registers with the password it was given when it was created.
  const phone = await SipUdpEndpoint.open(kamailio.host, kamailio.sipPort);
  try {
    const contact = `sip:201@127.0.0.1:${phone.localPort}`;
    const options = {
      user: '201',
      domain: kamailio.domain,
      username: '201',
      password: workstations['Desk phone 201']!.sipPassword ?? '',
      contact,
    };
    assert.is((await register(phone, { ...options, expires: 300 })).response.status, 200);
    await statusLine(anna, 'Calls ring at desk phone Desk phone 201 (registered)').waitFor({
      timeout: LIST_REFRESH_TIMEOUT,
    });
    await screenshot(anna, 'desk-phone-registered');
    await menu(anna, 'Change workstation');
    await anna
      .getByRole('button', { name: 'Desk phone 201' })
      .getByText('Calls ring on desk phone 201 · registered')
      .waitFor({ timeout: TIMEOUT });
    await anna.getByRole('button', { name: 'Cancel' }).click();

    assert.is((await register(phone, { ...options, expires: 0 })).response.status, 200);
    await statusLine(anna, 'Calls ring at desk phone Desk phone 201 (not registered)').waitFor({
      timeout: LIST_REFRESH_TIMEOUT,
    });
  } finally {
    await phone.close();
  }
  const credentials = await fromPage(anna, 'GET', '/api/sip/credentials');
  assert.is(credentials.status(), 409, 'no browser credentials on a desk phone');
});

test('no page errors', () => {
  assert.equal(pageErrors, []);
});

test.run();
