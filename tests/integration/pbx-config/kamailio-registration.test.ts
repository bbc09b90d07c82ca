/**
 * Kamailio's registrar: desk phones (sipp over UDP, static HA1 from Redis) and browsers (SIP over
 * WebSocket, ephemeral credentials), and the registration mirror in Redis that the sip app and
 * signaling read (docs/call-path.md, "Registrations in Redis").
 */
import { waitFor } from '../../helpers/wait.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisChannels, RedisKeys } from '@deskline/store';
import { KAMAILIO_CFG } from '@deskline/scripts/kamailio';
import { startTestKamailio, type TestKamailio } from '../../helpers/kamailio.js';
import { REPO_ROOT } from '../../helpers/launcher.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { ChannelRecorder } from '../../helpers/redis-events.js';
import { header, headers, nameAddrUri, param } from '../../helpers/sip-message.js';
import { ephemeralCredentials, phoneHa1, register, type EphemeralCredentials } from '../../helpers/sip-register.js';
import { SipWsEndpoint } from '../../helpers/sip-ws.js';
import { describeSipp, runSipp } from '../../helpers/sipp.js';

interface RegistrationEvent {
  user: string;
  registered: boolean;
}

const SCENARIOS = path.join(REPO_ROOT, 'tests/integration/pbx-config/sipp');
const WS_MAX_EXPIRES = 120;

let redis: TestRedis;
let kamailio: TestKamailio;
let db: Redis;
let events: ChannelRecorder<RegistrationEvent>;
const sockets: SipWsEndpoint[] = [];

test.before(async () => {
  redis = await startTestRedis();
  kamailio = await startTestKamailio({ redisUrl: redis.url, wsMaxExpires: WS_MAX_EXPIRES });
  db = new Redis(redis.url);
  events = await ChannelRecorder.subscribe<RegistrationEvent>(redis.url, RedisChannels.sipRegistrations);
});

test.after(async () => {
  for (const socket of sockets) await socket.terminate().catch(() => undefined);
  events.close();
  db.disconnect();
  await kamailio.stop();
  await redis.stop();
});

const now = (): number => Math.floor(Date.now() / 1000);

async function deskPhone(user: string, password: string): Promise<void> {
  await db.hset(RedisKeys.sipCredentials, user, phoneHa1(user, kamailio.domain, password));
}

function sippRegister(scenario: string, user: string, password: string, expires: number): ReturnType<typeof runSipp> {
  return runSipp({
    scenario: path.join(SCENARIOS, scenario),
    remoteHost: kamailio.host,
    remotePort: kamailio.sipPort,
    keys: { user, domain: kamailio.domain, expires: String(expires) },
    auth: { username: user, password },
  });
}

async function browser(): Promise<SipWsEndpoint> {
  const socket = await SipWsEndpoint.connect(kamailio.wsUrl);
  sockets.push(socket);
  return socket;
}

/** A browser's REGISTER with credentials made the way signaling makes them. */
async function registerBrowser(socket: SipWsEndpoint, user: string, credentials?: EphemeralCredentials, expires = 600) {
  return register(socket, {
    user,
    domain: kamailio.domain,
    ...(credentials ?? (await kamailio.browserCredentials(user))),
    contact: socket.contact(user),
    expires,
  });
}

test('the config spells the Redis names exactly as protocol/src/redis-keys.ts does', () => {
  // Kamailio's config cannot import them. The behaviour below proves them too; this names the culprit.
  const cfg = readFileSync(KAMAILIO_CFG, 'utf8');
  assert.ok(cfg.includes(`"SET ${RedisKeys.sipRegistration('%s')} `), 'SET sip-registration:<user>');
  assert.ok(cfg.includes(`"DEL ${RedisKeys.sipRegistration('%s')}"`), 'DEL sip-registration:<user>');
  assert.ok(cfg.includes(`"HGET ${RedisKeys.sipCredentials} %s"`), 'HGET sip-credentials <user>');
  assert.ok(cfg.includes(`"HEXISTS ${RedisKeys.sipCredentials} %s"`), 'HEXISTS sip-credentials <user>');
  assert.ok(
    cfg.includes(`"HSET ${RedisKeys.sipRegistrationSeen('%s')} userAgent %s at %s"`),
    'HSET sip-registration-seen:<user>',
  );
  assert.ok(cfg.includes(`"PUBLISH ${RedisChannels.sipRegistrations} %s"`), 'PUBLISH sip:registrations');
  assert.ok(cfg.includes(`"SISMEMBER ${RedisKeys.sipAuth('%s')} %s"`), 'SISMEMBER sip-auth:<user> <username>');
  assert.ok(cfg.includes(`"LPOP ${RedisKeys.sipRevocations}"`), 'LPOP sip-revocations');
});

test('a desk phone registers over UDP with its password: 200, sip-registration:<user> with a TTL, registered:true', async () => {
  await deskPhone('201', 'phone-secret-201');
  const result = await sippRegister('uac-register-with-digest-expect-200.xml', '201', 'phone-secret-201', 300);
  assert.is(result.code, 0, describeSipp(result));
  await events.waitFor((e) => e.user === '201' && e.registered === true, 'registered:true for 201');

  const contact = await db.get(RedisKeys.sipRegistration('201'));
  assert.ok(contact, 'the registration key exists');
  assert.match(contact, /^sip:201@127\.0\.0\.1:\d+$/);
  const ttl = await db.ttl(RedisKeys.sipRegistration('201'));
  assert.ok(ttl > 280 && ttl <= 300, `TTL ${ttl} is the registration's expiry`);
});

test('a wrong password is challenged again (401) and registers nothing', async () => {
  await deskPhone('202', 'right-password');
  const result = await sippRegister('uac-register-wrong-password-expect-401.xml', '202', 'wrong-password', 300);
  assert.is(result.code, 0, describeSipp(result));
  assert.is(await db.exists(RedisKeys.sipRegistration('202')), 0);
  assert.not.ok(
    events.messages.some((e) => e.user === '202'),
    'nothing published for 202',
  );
});

test('a user without credentials in Redis is challenged again and registers nothing', async () => {
  const result = await sippRegister('uac-register-wrong-password-expect-401.xml', '299', 'anything', 300);
  assert.is(result.code, 0, describeSipp(result));
  assert.is(await db.exists(RedisKeys.sipRegistration('299')), 0);
});

test('a desk phone unregisters (Expires: 0): the key is gone and registered:false is published', async () => {
  assert.is(await db.exists(RedisKeys.sipRegistration('201')), 1, 'registered by the test above');
  const result = await sippRegister('uac-register-with-digest-expect-200.xml', '201', 'phone-secret-201', 0);
  assert.is(result.code, 0, describeSipp(result));
  await events.waitFor((e) => e.user === '201' && e.registered === false, 'registered:false for 201');
  assert.is(await db.exists(RedisKeys.sipRegistration('201')), 0);
});

test('a browser registers over WebSocket with ephemeral credentials: 200, at most WS_MAX_EXPIRES, mirrored', async () => {
  const socket = await browser();
  const { challenge, response } = await registerBrowser(socket, 'ws-1');
  assert.is(challenge.status, 401);
  assert.match(header(challenge, 'www-authenticate') ?? '', `realm="${kamailio.domain}"`);
  assert.is(response.status, 200, response.raw);
  // It asked for 600 s; a browser gets WS_MAX_EXPIRES, so a vanished tab does not stay registered.
  const granted = headers(response, 'contact').map((c) => Number(param(c, 'expires')));
  assert.equal(granted, [WS_MAX_EXPIRES]);
  // Kamailio answers 200 first and mirrors to Redis just after: wait for the mirror's announcement.
  await events.waitFor((e) => e.user === 'ws-1' && e.registered, 'registered:true for ws-1');
  const contact = await db.get(RedisKeys.sipRegistration('ws-1'));
  assert.is(contact, nameAddrUri(headers(response, 'contact')[0] ?? ''));
  assert.match(contact ?? '', /transport=ws/);
  const ttl = await db.ttl(RedisKeys.sipRegistration('ws-1'));
  assert.ok(ttl > WS_MAX_EXPIRES - 10 && ttl <= WS_MAX_EXPIRES, `TTL ${ttl}`);
});

test("expired, forged and someone else's browser credentials are refused with 403", async () => {
  const socket = await browser();
  const expired = await registerBrowser(socket, 'ws-2', ephemeralCredentials(kamailio.secret, 'ws-2', now() - 60));
  assert.is(expired.response.status, 403, expired.response.raw);

  const forged = await registerBrowser(
    socket,
    'ws-2',
    ephemeralCredentials('not-the-secret-'.repeat(4), 'ws-2', now() + 3600),
  );
  assert.is(forged.response.status, 403, forged.response.raw);

  const borrowed = await registerBrowser(socket, 'ws-2', ephemeralCredentials(kamailio.secret, 'ws-3', now() + 3600));
  assert.is(borrowed.response.status, 403, borrowed.response.raw);

  // A browser user name cannot be registered with a desk phone's static password either.
  await db.hset(RedisKeys.sipCredentials, 'ws-2', phoneHa1('ws-2', kamailio.domain, 'static'));
  const staticPassword = await register(socket, {
    user: 'ws-2',
    domain: kamailio.domain,
    username: 'ws-2',
    password: 'static',
    contact: socket.contact('ws-2'),
    expires: 60,
  });
  assert.is(staticPassword.response.status, 403, staticPassword.response.raw);

  assert.is(await db.exists(RedisKeys.sipRegistration('ws-2')), 0);
  assert.not.ok(events.messages.some((e) => e.user === 'ws-2'));
});

test("closing the browser's WebSocket removes its registration and publishes registered:false", async () => {
  const socket = await browser();
  assert.is((await registerBrowser(socket, 'ws-4')).response.status, 200);
  await events.waitFor((e) => e.user === 'ws-4' && e.registered, 'registered:true for ws-4');
  assert.is(await db.exists(RedisKeys.sipRegistration('ws-4')), 1);
  await socket.close();
  await events.waitFor((e) => e.user === 'ws-4' && e.registered === false, 'registered:false for ws-4');
  assert.is(await db.exists(RedisKeys.sipRegistration('ws-4')), 0);
});

test('a connection that dies without a close frame removes its registration too', async () => {
  const socket = await browser();
  assert.is((await registerBrowser(socket, 'ws-5')).response.status, 200);
  await socket.terminate();
  await events.waitFor((e) => e.user === 'ws-5' && e.registered === false, 'registered:false for ws-5');
  assert.is(await db.exists(RedisKeys.sipRegistration('ws-5')), 0);
});

test('a reloaded tab keeps its registration when the old connection closes after the new one registered', async () => {
  const old = await browser();
  assert.is((await registerBrowser(old, 'ws-6')).response.status, 200);
  const reloaded = await browser();
  const again = await registerBrowser(reloaded, 'ws-6');
  assert.is(again.response.status, 200);
  const newContact = nameAddrUri(headers(again.response, 'contact')[0] ?? '');
  // One contact per user: the new registration replaced the old one.
  assert.is(headers(again.response, 'contact').length, 1);
  await old.close();
  await kamailio.waitForLog(/WebSocket of ws-6 closed: a newer registration stays/);
  assert.not.ok(
    events.messages.some((e) => e.user === 'ws-6' && !e.registered),
    'ws-6 stays registered',
  );
  await waitFor(
    'ws-6 mirrored with its new contact',
    async () => (await db.get(RedisKeys.sipRegistration('ws-6'))) === newContact,
  );
});

test('a registration that expires is removed from Redis with registered:false', async () => {
  const short = await startTestKamailio({ redisUrl: redis.url, wsMaxExpires: 2, minExpires: 1 });
  try {
    const socket = await SipWsEndpoint.connect(short.wsUrl);
    sockets.push(socket);
    const credentials = await short.browserCredentials('ws-7');
    const { response } = await register(socket, {
      user: 'ws-7',
      domain: short.domain,
      ...credentials,
      contact: socket.contact('ws-7'),
      expires: 600,
    });
    assert.is(response.status, 200, response.raw);
    // usrloc looks for expired contacts every 10 s.
    await events.waitFor(
      (e) => e.user === 'ws-7' && e.registered === false,
      'registered:false for ws-7 on expiry',
      20_000,
    );
    assert.is(await db.exists(RedisKeys.sipRegistration('ws-7')), 0);
  } finally {
    await short.stop();
  }
});

test.run();
