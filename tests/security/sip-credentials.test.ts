/**
 * A former holder of a workstation keeps the SIP credentials signaling gave them (they are in the
 * browser's memory, or copied out of it). Real Redis, Kamailio and signaling: after a change of
 * holder, a logout, a disable or a password change, those credentials no longer register or call
 * back, the registration made with them is gone (Kamailio routes nothing to it, the WebSocket is
 * closed), and the new holder registers and rings (docs/security.md, "SIP: credentials, Kamailio and
 * scanners"). SIP over WebSocket from the test, sipp as a plain SIP client, and JsSIP in Chromium.
 */
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { type SipCredentials, type Workstation } from '@deskline/protocol';
import { RedisKeys, browserSipUser } from '@deskline/store';
import { BrowserPhone, PhonePageServer } from '../helpers/browser-phone.js';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { startTestKamailio, type TestKamailio } from '../helpers/kamailio.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { asUser, buildTestApp, loginOk, type LoggedIn } from '../helpers/signaling.js';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/launcher.js';
import { describeSipp, runSipp } from '../helpers/sipp.js';
import { register } from '../helpers/sip-register.js';
import { sendAuthenticatedInvite } from '../helpers/sip-invite.js';
import { SipWsEndpoint } from '../helpers/sip-ws.js';
import { WorkstationRinger } from '../helpers/workstation-ringer.js';
import { waitFor } from '../helpers/wait.js';

let redis: TestRedis;
let db: Redis;
let kamailio: TestKamailio;
let app: FastifyInstance;
let ringer: WorkstationRinger;
let browser: TestBrowser;
let pages: PhonePageServer;
const sockets: SipWsEndpoint[] = [];
const workstations: Record<string, Workstation> = {};
const PASSWORD = 'a long enough password 1';

test.before(async () => {
  redis = await startTestRedis();
  db = new Redis(redis.url);
  kamailio = await startTestKamailio({ redisUrl: redis.url });
  app = await buildTestApp(redis.url, {
    SIP_EPHEMERAL_SECRET: kamailio.secret,
    SIP_DOMAIN: kamailio.domain,
    SIP_WS_PORT: String(kamailio.wsPort),
  });
  for (const name of ['anna', 'ben', 'carl', 'dora', 'eve', 'fred', 'gina']) {
    await app.users.create({
      email: `${name}@clinic.example`,
      displayName: name,
      role: 'employee',
      password: PASSWORD,
    });
  }
  await app.users.create({ email: 'maria@clinic.example', displayName: 'Maria', role: 'manager', password: PASSWORD });
  for (const name of ['Reception 1', 'Reception 2', 'Reception 3', 'Reception 4', 'Reception 5', 'Reception 6']) {
    workstations[name] = await app.workstations.create({ name, kind: 'browser' });
  }
  ringer = await WorkstationRinger.connect(kamailio);
  pages = await PhonePageServer.start();
  browser = await launchBrowser();
});

test.after(async () => {
  await browser?.close();
  await pages?.close();
  for (const socket of sockets) await socket.terminate().catch(() => undefined);
  await ringer?.close();
  await app?.close();
  await kamailio?.stop();
  db?.disconnect();
  await redis?.stop();
});

function ws(name: string): Workstation {
  const workstation = workstations[name];
  if (!workstation) throw new Error(`no workstation ${name}`);
  return workstation;
}

async function onWorkstation(email: string, name: string): Promise<{ who: LoggedIn; credentials: SipCredentials }> {
  const who = await loginOk(app, email, PASSWORD);
  const picked = await asUser(app, who, 'PUT', '/api/workstation', { workstationId: ws(name).id });
  assert.is(picked.statusCode, 200, picked.body);
  return { who, credentials: await credentialsOf(who) };
}

async function credentialsOf(who: LoggedIn): Promise<SipCredentials> {
  const response = await asUser(app, who, 'GET', '/api/sip/credentials');
  assert.is(response.statusCode, 200, response.body);
  return response.json<SipCredentials>();
}

/** A browser's REGISTER over a new WebSocket; the socket stays open (a registered browser). */
async function registerBrowser(credentials: SipCredentials): Promise<{ socket: SipWsEndpoint; status: number }> {
  const socket = await SipWsEndpoint.connect(kamailio.wsUrl);
  sockets.push(socket);
  socket.answerAutomatically('OPTIONS', 200, 'OK');
  const user = /^sip:([^@]+)@/.exec(credentials.uri)?.[1] ?? '';
  const { response } = await register(socket, {
    user,
    domain: kamailio.domain,
    username: credentials.username,
    password: credentials.password,
    contact: socket.contact(user),
    expires: 120,
  });
  return { socket, status: response.status ?? 0 };
}

/** The sip app rings the workstation through Kamailio: the final answer, or the browser that got the INVITE. */
async function ring(name: string, browser?: SipWsEndpoint): Promise<number | 'rang'> {
  const call = ringer.prepare({ user: browserSipUser(ws(name).id), from: '+48600100200' }).invite();
  if (browser) {
    const invite = await browser.waitForRequest('INVITE', call.callId);
    browser.respond(invite, 486, 'Busy Here');
    await call.response();
    return 'rang';
  }
  return (await call.response()).status ?? 0;
}

/** The old holder's credentials are dead everywhere: REGISTER, callback INVITE, and their connection. */
async function assertRevoked(name: string, old: { socket: SipWsEndpoint; credentials: SipCredentials }): Promise<void> {
  const closed = await Promise.race([
    old.socket.closed,
    new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), 3000)),
  ]);
  assert.ok(closed !== 'open', "Kamailio closed the old holder's WebSocket");
  assert.is((await registerBrowser(old.credentials)).status, 403, 'REGISTER with the old credentials');
  const sipUser = browserSipUser(ws(name).id);
  const caller = await SipWsEndpoint.connect(kamailio.wsUrl);
  sockets.push(caller);
  const target = `sip:cb-${'ab'.repeat(16)}@${kamailio.domain}`;
  const { invite } = await sendAuthenticatedInvite(
    caller,
    {
      uri: target,
      from: `sip:${sipUser}@${kamailio.domain}`,
      to: target,
      contact: caller.contact(sipUser),
      headers: [['Content-Type', 'application/sdp']],
      body: 'v=0\r\n',
    },
    old.credentials,
  );
  assert.ok(invite, 'the callback INVITE was challenged');
  assert.is((await caller.finalResponse(invite)).status, 403, 'callback INVITE with the old credentials');
}

test("a change of holder: the old holder's registration goes, their credentials fail, the new holder registers and rings", async () => {
  const anna = await onWorkstation('anna@clinic.example', 'Reception 1');
  const annaPhone = await registerBrowser(anna.credentials);
  assert.is(annaPhone.status, 200);
  assert.is(await ring('Reception 1', annaPhone.socket), 'rang');

  // Anna moves to another desk; Ben sits down at hers.
  assert.is(
    (await asUser(app, anna.who, 'PUT', '/api/workstation', { workstationId: ws('Reception 2').id })).statusCode,
    200,
  );
  await waitFor(
    'the registration of Reception 1 to be gone from Redis',
    async () => (await db.exists(RedisKeys.sipRegistration(browserSipUser(ws('Reception 1').id)))) === 0,
  );
  assert.is(await ring('Reception 1'), 480, 'nobody rings at Reception 1');
  await assertRevoked('Reception 1', { socket: annaPhone.socket, credentials: anna.credentials });

  const ben = await onWorkstation('ben@clinic.example', 'Reception 1');
  const benPhone = await registerBrowser(ben.credentials);
  assert.is(benPhone.status, 200);
  assert.is(await ring('Reception 1', benPhone.socket), 'rang', "Ben's browser rings");
  // And Anna's new desk has credentials of its own.
  assert.is((await registerBrowser(await credentialsOf(anna.who))).status, 200);
});

test("a revocation processed after the new holder registered keeps the new holder's registration", async () => {
  const carl = await onWorkstation('carl@clinic.example', 'Reception 3');
  const carlPhone = await registerBrowser(carl.credentials);
  assert.is(carlPhone.status, 200);
  // As if signaling's revocation of an earlier holder reached Kamailio only now.
  await db.rpush(RedisKeys.sipRevocations, browserSipUser(ws('Reception 3').id));
  await kamailio.waitForLog(/credentials of ws-\S+ revoked: the registration with valid credentials stays/);
  assert.is(await ring('Reception 3', carlPhone.socket), 'rang');
});

test('logout, disable (API and CLI), password change (API) and password reset (CLI) each revoke', async () => {
  const cases: [string, (who: LoggedIn, userId: string) => Promise<void>][] = [
    ['logout', async (who) => void assert.is((await asUser(app, who, 'POST', '/api/auth/logout')).statusCode, 204)],
    [
      'disable',
      async (_who, userId) => {
        const maria = await loginOk(app, 'maria@clinic.example', PASSWORD);
        assert.is((await asUser(app, maria, 'POST', `/api/users/${userId}/disable`)).statusCode, 200);
      },
    ],
    [
      'password change',
      async (who) => {
        const changed = await asUser(app, who, 'PUT', '/api/me/password', {
          currentPassword: PASSWORD,
          newPassword: 'another long password 2',
        });
        assert.is(changed.statusCode, 200, changed.body);
      },
    ],
    [
      'password reset (CLI)',
      async (who) => {
        const result = await runCli(
          ['user', 'reset-password', '--email', who.info.user.email],
          { REDIS_URL: redis.url },
          'a third long password 3\n',
        );
        assert.is(result.code, 0, result.stderr);
      },
    ],
    [
      'disable (CLI)',
      async (who) => {
        const result = await runCli(['user', 'disable', '--email', who.info.user.email], { REDIS_URL: redis.url });
        assert.is(result.code, 0, result.stderr);
      },
    ],
  ];
  const emails = [
    'dora@clinic.example',
    'eve@clinic.example',
    'carl@clinic.example',
    'ben@clinic.example',
    'gina@clinic.example',
  ];
  for (const [index, [what, act]] of cases.entries()) {
    const email = emails[index] ?? '';
    const desk = 'Reception 4';
    const holder = await onWorkstation(email, desk);
    const phone = await registerBrowser(holder.credentials);
    assert.is(phone.status, 200, `${what}: registered first`);
    await act(holder.who, holder.who.info.user.id);
    await waitFor(
      `${what}: the registration to be gone from Redis`,
      async () => (await db.exists(RedisKeys.sipRegistration(browserSipUser(ws(desk).id)))) === 0,
    );
    assert.is(await ring(desk), 480, `${what}: nobody rings`);
    await assertRevoked(desk, { socket: phone.socket, credentials: holder.credentials });
    // Whoever may still use the desk leaves it for the next case.
    await app.agents.leaveWorkstation(holder.who.info.user.id);
  }
});

test("JsSIP in Chromium: the old holder's browser is cut off and its REGISTER gets 403; the new holder's browser registers and rings", async () => {
  const desk = 'Reception 5';
  const anna = await onWorkstation('anna@clinic.example', desk);
  const old = await BrowserPhone.register(browser.context, pages.url, anna.credentials, 10_000);
  assert.is((await asUser(app, anna.who, 'DELETE', '/api/workstation')).statusCode, 204);
  // Kamailio closes its WebSocket; JsSIP connects again and registers with what it has: 403.
  await old.registrationFailed(403, 20_000);
  await waitFor(
    'the old registration to be gone from Redis',
    async () => (await db.exists(RedisKeys.sipRegistration(browserSipUser(ws(desk).id)))) === 0,
  );

  const next = await onWorkstation('dora@clinic.example', desk);
  const phone = await BrowserPhone.register(browser.context, pages.url, next.credentials, 10_000);
  const call = ringer.prepare({ user: browserSipUser(ws(desk).id), from: '+48600100200' }).invite();
  const incoming = await phone.incoming(0, 5000);
  assert.is(incoming.number, '+48600100200');
  call.cancel();
  assert.ok(
    !(await old.page.evaluate(
      () => (window as unknown as { __phone: { incoming: unknown[] } }).__phone.incoming.length,
    )),
    "the old holder's browser never rang",
  );
});

test('sipp: the credentials register from a plain SIP client while their holder sits at the desk, and get 403 once the holder left', async () => {
  const desk = 'Reception 6';
  const fred = await onWorkstation('fred@clinic.example', desk);
  const user = browserSipUser(ws(desk).id);
  const sipp = (scenario: string) =>
    runSipp({
      scenario,
      remoteHost: kamailio.host,
      remotePort: kamailio.sipPort,
      localIp: '127.0.0.1',
      keys: { user, domain: kamailio.domain, expires: '60' },
      auth: { username: fred.credentials.username, password: fred.credentials.password },
    });
  const valid = await sipp(
    path.join(REPO_ROOT, 'tests/integration/pbx-config/sipp/uac-register-with-digest-expect-200.xml'),
  );
  assert.is(valid.code, 0, describeSipp(valid));
  await waitFor('the registration in Redis', async () => (await db.exists(RedisKeys.sipRegistration(user))) === 1);

  assert.is((await asUser(app, fred.who, 'DELETE', '/api/workstation')).statusCode, 204);
  await waitFor(
    'the registration to be gone from Redis',
    async () => (await db.exists(RedisKeys.sipRegistration(user))) === 0,
  );
  const revoked = await sipp(
    path.join(REPO_ROOT, 'tests/security/sipp/uac-register-former-holder-credentials-expect-403.xml'),
  );
  assert.is(revoked.code, 0, describeSipp(revoked));
  assert.is(await db.exists(RedisKeys.sipRegistration(user)), 0, 'nothing registered');
});

test('credentials requested after the holder left are refused (409), and none were recorded', async () => {
  const who = await loginOk(app, 'anna@clinic.example', PASSWORD);
  assert.is((await asUser(app, who, 'DELETE', '/api/workstation')).statusCode, 204);
  assert.is((await asUser(app, who, 'GET', '/api/sip/credentials')).statusCode, 409);
});

test.run();
