/**
 * The managers' workstation operations through the API (issue 16, item 2), against a real Redis and a
 * real Kamailio: a desk phone registers with a real REGISTER, and after a password reset or a removal
 * its old password is refused by Kamailio itself. Plus bad input, employees (403) and attackers.
 */
import { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CSRF_HEADER,
  SESSION_COOKIE,
  type ApiError,
  type CreatedWorkstation,
  type Workstation,
  type WorkstationListItem,
} from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { startTestKamailio, type TestKamailio } from '../../helpers/kamailio.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { SipUdpEndpoint } from '../../helpers/sip-endpoint.js';
import { registerDeskPhone } from '../../helpers/sip-register.js';
import { asUser, buildTestApp, createUser, loginOk, type LoggedIn } from '../../helpers/signaling.js';
import { waitFor } from '../../helpers/wait.js';

const PHONE_UA = 'Yealink SIP-T46U 108.86.0.20';

let redis: TestRedis;
let kamailio: TestKamailio;
let db: Redis;
let app: FastifyInstance;
let maria: LoggedIn;
let anna: LoggedIn;
const phones: SipUdpEndpoint[] = [];

test.before(async () => {
  redis = await startTestRedis();
  kamailio = await startTestKamailio({ redisUrl: redis.url });
  db = new Redis(redis.url);
});

test.before.each(async () => {
  await db.flushall();
  app = await buildTestApp(redis.url, { SIP_DOMAIN: kamailio.domain, SIP_EPHEMERAL_SECRET: kamailio.secret });
  maria = await loginOk(app, 'maria@clinic.example', await createUser(app, 'maria@clinic.example', 'manager'));
  anna = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
});

test.after.each(async () => {
  await app.close();
});

test.after(async () => {
  for (const phone of phones) await phone.close();
  db.disconnect();
  await kamailio.stop();
  await redis.stop();
});

/** A desk phone REGISTERs as `sipUser` (from its own UDP port, or from `phone`'s); Kamailio's final status. */
async function registerPhone(
  sipUser: string,
  password: string,
  expires = 300,
  phone?: SipUdpEndpoint,
): Promise<number> {
  const endpoint = phone ?? (await SipUdpEndpoint.open(kamailio.host, kamailio.sipPort));
  if (phone === undefined) phones.push(endpoint);
  return registerDeskPhone({ registrar: kamailio, sipUser, password }, { endpoint, expires, userAgent: PHONE_UA });
}

const list = async (who = maria) => (await asUser(app, who, 'GET', '/api/workstations')).json<WorkstationListItem[]>();
const itemOf = async (id: string) => (await list()).find((w) => w.id === id);

async function createPhone(name: string, sipUser?: string): Promise<CreatedWorkstation & { sipPassword: string }> {
  const response = await asUser(app, maria, 'POST', '/api/workstations', {
    name,
    kind: 'sip-phone',
    ...(sipUser === undefined ? {} : { sipUser }),
  });
  assert.is(response.statusCode, 201, response.body);
  const created = response.json<CreatedWorkstation>();
  assert.ok(created.sipPassword);
  return { ...created, sipPassword: created.sipPassword };
}

test('a desk phone registers with the password shown once; the list shows it registered, when, and its user agent', async () => {
  const phone = await createPhone('Front desk phone', '201');
  const before = await itemOf(phone.id);
  assert.equal(
    [before?.registered, before?.lastSeenAt, before?.userAgent, 'sipPassword' in (before ?? {})],
    [false, undefined, undefined, false],
  );

  const start = Date.now();
  const deskPhone = await SipUdpEndpoint.open(kamailio.host, kamailio.sipPort);
  phones.push(deskPhone);
  assert.is(await registerPhone('201', phone.sipPassword, 300, deskPhone), 200);
  const after = await itemOf(phone.id);
  assert.is(after?.registered, true);
  assert.is(after?.userAgent, PHONE_UA);
  // Kamailio stamps whole seconds.
  assert.ok(after?.lastSeenAt !== undefined && after.lastSeenAt >= start - 1000 && after.lastSeenAt <= Date.now());
  // Employees see registration too (they pick workstations by it), but never a password.
  assert.is((await list(anna)).find((w) => w.id === phone.id)?.registered, true);

  // Unregistered, it is still "last seen" then, with the same user agent.
  assert.is(await registerPhone('201', phone.sipPassword, 0, deskPhone), 200);
  const gone = await itemOf(phone.id);
  assert.equal([gone?.registered, gone?.userAgent], [false, PHONE_UA]);
  assert.ok(gone?.lastSeenAt !== undefined);
});

test("resetting a desk phone's SIP password: the new one is in the answer once, and Kamailio refuses the old one", async () => {
  const phone = await createPhone('Front desk phone', '201');
  assert.is(await registerPhone('201', phone.sipPassword), 200);

  const reset = await asUser(app, maria, 'POST', `/api/workstations/${phone.id}/sip-password`);
  assert.is(reset.statusCode, 200, reset.body);
  assert.is(reset.headers['cache-control'], 'no-store');
  const fresh = reset.json<CreatedWorkstation>();
  assert.equal([fresh.id, fresh.name, fresh.sipUser], [phone.id, 'Front desk phone', '201']);
  assert.ok(fresh.sipPassword && fresh.sipPassword !== phone.sipPassword);

  // The attacker (or the phone not yet set up again) with the old password is challenged again.
  assert.is(await registerPhone('201', phone.sipPassword), 401);
  assert.is(await registerPhone('201', fresh.sipPassword ?? ''), 200);

  const browser = await asUser(app, maria, 'POST', '/api/workstations', { name: 'Reception 1', kind: 'browser' });
  const notPhone = await asUser(app, maria, 'POST', `/api/workstations/${browser.json<Workstation>().id}/sip-password`);
  assert.is(notPhone.statusCode, 409);
  assert.is(notPhone.json<ApiError>().message, 'Reception 1 is not a desk phone; it has no SIP password.');
});

test('renaming keeps the id, the SIP user and its password; names stay unique ignoring case, and bad names get 400', async () => {
  const phone = await createPhone('Front desk phone', '201');
  await asUser(app, maria, 'POST', '/api/workstations', { name: 'Reception 1', kind: 'browser' });
  const rename = (name: unknown) => asUser(app, maria, 'PATCH', `/api/workstations/${phone.id}`, { name });

  const renamed = await rename('  Reception   desk phone ');
  assert.is(renamed.statusCode, 200, renamed.body);
  assert.equal(renamed.json<Workstation>(), {
    id: phone.id,
    name: 'Reception desk phone',
    kind: 'sip-phone',
    sipUser: '201',
  });
  assert.is(await registerPhone('201', phone.sipPassword), 200, 'the password still works');
  assert.is((await itemOf(phone.id))?.name, 'Reception desk phone');

  const taken = await rename('RECEPTION 1');
  assert.is(taken.statusCode, 409);
  assert.is(taken.json<ApiError>().message, 'A workstation named "RECEPTION 1" already exists.');
  for (const bad of ['   ', 'x'.repeat(61), '', null]) {
    const response = await rename(bad);
    assert.is(response.statusCode, 400, JSON.stringify(bad));
  }
  assert.is((await rename('reception DESK phone')).statusCode, 200, 'a change of case of its own name');

  // The old name is free again; a new workstation may have it.
  const reuse = await asUser(app, maria, 'POST', '/api/workstations', { name: 'Front desk phone', kind: 'browser' });
  assert.is(reuse.statusCode, 201, reuse.body);
});

test('removing a registered desk phone: its registration goes at once and Kamailio refuses its password', async () => {
  const phone = await createPhone('Front desk phone', '201');
  assert.is(await registerPhone('201', phone.sipPassword), 200);
  assert.is(await db.exists(RedisKeys.sipRegistration('201')), 1);

  const removed = await asUser(app, maria, 'DELETE', `/api/workstations/${phone.id}`);
  assert.is(removed.statusCode, 204, removed.body);
  assert.is(await itemOf(phone.id), undefined);
  // Kamailio pops the revocation within 100 ms and drops the contact: nothing can ring it any more.
  await waitFor(
    'the registration of 201 dropped',
    async () => (await db.exists(RedisKeys.sipRegistration('201'))) === 0,
  );
  assert.is(await registerPhone('201', phone.sipPassword), 401, 'the old password is refused');
  assert.is((await asUser(app, maria, 'DELETE', `/api/workstations/${phone.id}`)).statusCode, 404);

  // The SIP user and the name are free for a new phone, with a new password.
  const again = await createPhone('Front desk phone', '201');
  assert.is(await registerPhone('201', again.sipPassword), 200);
});

test('removing a workstation someone is on takes them off it; during a call it is refused with a clear message', async () => {
  const desk = (
    await asUser(app, maria, 'POST', '/api/workstations', { name: 'Reception 1', kind: 'browser' })
  ).json<Workstation>();
  assert.is((await asUser(app, anna, 'PUT', '/api/workstation', { workstationId: desk.id })).statusCode, 200);

  for (const state of ['ringing', 'on-call']) {
    await db.hset(RedisKeys.agent(anna.info.user.id), 'state', state);
    const refused = await asUser(app, maria, 'DELETE', `/api/workstations/${desk.id}`);
    assert.is(refused.statusCode, 409, state);
    assert.is(refused.json<ApiError>().message, 'anna is on a call at Reception 1; remove it after the call.');
    assert.is((await itemOf(desk.id))?.holder?.displayName, 'anna');
  }
  await db.hset(RedisKeys.agent(anna.info.user.id), 'state', 'available');

  const removed = await asUser(app, maria, 'DELETE', `/api/workstations/${desk.id}`);
  assert.is(removed.statusCode, 204, removed.body);
  const status = await asUser(app, anna, 'GET', '/api/workstation');
  assert.is(status.json<{ state: string }>().state, 'offline');
  assert.is(await db.zscore(RedisKeys.idleAgents, anna.info.user.id), null, 'no longer a candidate for calls');
  assert.is(await db.exists(RedisKeys.workstationHolder(desk.id)), 0);
  const pick = await asUser(app, anna, 'PUT', '/api/workstation', { workstationId: desk.id });
  assert.is(pick.statusCode, 404);
});

test('employees may not rename, remove or reset (403), and nothing changes', async () => {
  const phone = await createPhone('Front desk phone', '201');
  const attempts = [
    await asUser(app, anna, 'PATCH', `/api/workstations/${phone.id}`, { name: 'Mine' }),
    await asUser(app, anna, 'DELETE', `/api/workstations/${phone.id}`),
    await asUser(app, anna, 'POST', `/api/workstations/${phone.id}/sip-password`),
  ];
  assert.equal(
    attempts.map((r) => r.statusCode),
    [403, 403, 403],
  );
  assert.not.ok(attempts.some((r) => r.body.includes('sipPassword')));
  assert.is((await itemOf(phone.id))?.name, 'Front desk phone');
  assert.is(await registerPhone('201', phone.sipPassword), 200, 'the password was not reset');
});

test('attackers: unknown and malformed ids, no CSRF token, a foreign Origin, junk and oversized bodies', async () => {
  const phone = await createPhone('Front desk phone', '201');
  const unknown = '6f1c1f7e-0000-4000-8000-000000000000';
  for (const [method, url, payload] of [
    ['PATCH', `/api/workstations/${unknown}`, { name: 'X' }],
    ['DELETE', `/api/workstations/${unknown}`, undefined],
    ['POST', `/api/workstations/${unknown}/sip-password`, undefined],
  ] as const) {
    const response = await asUser(app, maria, method, url, payload);
    assert.is(response.statusCode, 404, `${method} ${url}`);
    assert.is(response.json<ApiError>().message, 'No such workstation.');
  }
  for (const id of ['not-a-uuid', '..%2F..%2Fusers', `${phone.id}%00`, 'phone-1']) {
    const response = await asUser(app, maria, 'DELETE', `/api/workstations/${id}`);
    assert.is(response.statusCode, 400, id);
  }

  const noCsrf = await app.inject({
    method: 'DELETE',
    url: `/api/workstations/${phone.id}`,
    cookies: { [SESSION_COOKIE]: maria.cookie },
  });
  assert.is(noCsrf.statusCode, 403);
  const foreign = await app.inject({
    method: 'POST',
    url: `/api/workstations/${phone.id}/sip-password`,
    cookies: { [SESSION_COOKIE]: maria.cookie },
    headers: { [CSRF_HEADER]: maria.info.csrfToken, origin: 'https://evil.example' },
  });
  assert.is(foreign.statusCode, 403);
  assert.not.ok(foreign.body.includes('sipPassword'));

  const extra = await asUser(app, maria, 'PATCH', `/api/workstations/${phone.id}`, { name: 'X', sipUser: '999' });
  assert.is(extra.statusCode, 400, 'a rename cannot change the SIP user');
  const huge = await app.inject({
    method: 'PATCH',
    url: `/api/workstations/${phone.id}`,
    cookies: { [SESSION_COOKIE]: maria.cookie },
    headers: { [CSRF_HEADER]: maria.info.csrfToken, 'content-type': 'application/json' },
    payload: JSON.stringify({ name: 'x'.repeat(100 * 1024) }),
  });
  assert.is(huge.statusCode, 413);

  assert.equal(await app.workstations.get(phone.id), {
    id: phone.id,
    name: 'Front desk phone',
    kind: 'sip-phone',
    sipUser: '201',
  });
  assert.is(await registerPhone('201', phone.sipPassword), 200, 'its password still works');
});

test('a duplicate SIP user and a duplicate name get clear errors', async () => {
  await createPhone('Front desk phone', '201');
  const sameUser = await asUser(app, maria, 'POST', '/api/workstations', {
    name: 'Back office phone',
    kind: 'sip-phone',
    sipUser: '201',
  });
  assert.is(sameUser.statusCode, 409);
  assert.is(sameUser.json<ApiError>().message, 'The SIP user "201" is in use already.');
  const sameName = await asUser(app, maria, 'POST', '/api/workstations', { name: 'front DESK phone', kind: 'browser' });
  assert.is(sameName.statusCode, 409);
  assert.is(sameName.json<ApiError>().message, 'A workstation named "front DESK phone" already exists.');
});

test.run();
