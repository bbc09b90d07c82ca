import { createHash, createHmac } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type ApiError, type CreatedWorkstation, type Workstation, type WorkstationListItem } from '@deskline/protocol';
import { RedisChannels, RedisKeys } from '@deskline/store';
import { asUser, createUser, loginOk, useFreshApp, type LoggedIn } from '../../helpers/signaling.js';

const SECRET = 'a-test-secret-of-enough-length';
const fixture = useFreshApp(test, { SIP_EPHEMERAL_SECRET: SECRET });
let anna: LoggedIn;
let ben: LoggedIn;
let desk1: Workstation;
let desk2: Workstation;

test.before.each(async () => {
  const { app } = fixture;
  anna = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
  ben = await loginOk(app, 'ben@clinic.example', await createUser(app, 'ben@clinic.example', 'employee'));
  desk1 = await app.workstations.create({ name: 'Reception 1', kind: 'browser' });
  desk2 = await app.workstations.create({ name: 'Reception 2', kind: 'browser' });
});

const pick = (who: LoggedIn, ws: Workstation) =>
  asUser(fixture.app, who, 'PUT', '/api/workstation', { workstationId: ws.id });

test('without a workstation an employee gets no SIP credentials, so the browser can neither register nor call', async () => {
  const response = await asUser(fixture.app, anna, 'GET', '/api/sip/credentials');
  assert.is(response.statusCode, 409);
  assert.is(response.json<ApiError>().message, 'Pick a workstation to receive calls and to call patients back.');
  assert.is(response.headers['cache-control'], undefined);
});

test('requireWorkstation: the workstation of a user on one, a 409 with the given message for anyone else', async () => {
  const { app } = fixture;
  const message = 'Pick a workstation before calling a patient back.';
  const refused = await app.agents.requireWorkstation(anna.info.user.id, message).catch((err: unknown) => err);
  assert.instance(refused, Error);
  assert.equal(
    { statusCode: (refused as { statusCode?: number }).statusCode, message: (refused as Error).message },
    { statusCode: 409, message },
  );
  await pick(anna, desk1);
  assert.equal(await app.agents.requireWorkstation(anna.info.user.id, message), desk1);
});

test('picking a workstation makes the user an available agent and wakes the router', async () => {
  const subscriber = fixture.db.duplicate();
  try {
    const woken = new Promise<string>((resolve) => subscriber.on('message', (_channel, message) => resolve(message)));
    await subscriber.subscribe(RedisChannels.routeWake);
    const response = await pick(anna, desk1);
    assert.is(response.statusCode, 200);
    assert.is(response.json<{ state: string }>().state, 'available');
    assert.is(await woken, anna.info.user.id);
    assert.is(await fixture.db.hget(RedisKeys.agent(anna.info.user.id), 'workstationId'), desk1.id);
    assert.ok((await fixture.db.zscore(RedisKeys.idleAgents, anna.info.user.id)) !== null);
  } finally {
    subscriber.disconnect();
  }
});

test('two users cannot hold one workstation; switching frees the old one at once', async () => {
  assert.is((await pick(anna, desk1)).statusCode, 200);
  const taken = await pick(ben, desk1);
  assert.is(taken.statusCode, 409);
  assert.is(taken.json<ApiError>().message, 'Reception 1 is in use by anna.');
  assert.is((await pick(anna, desk2)).statusCode, 200);
  assert.is((await pick(ben, desk1)).statusCode, 200, 'Reception 1 was freed when Anna moved');
  const status = await asUser(fixture.app, anna, 'GET', '/api/workstation');
  assert.is(status.json<{ workstation: Workstation }>().workstation.name, 'Reception 2');
});

test('SIP credentials are ephemeral auth_ephemeral credentials for this workstation', async () => {
  await pick(anna, desk1);
  const before = Date.now();
  const response = await asUser(fixture.app, anna, 'GET', '/api/sip/credentials');
  assert.is(response.statusCode, 200);
  assert.is(response.headers['cache-control'], 'no-store');
  const creds = response.json<{ wsUrl: string; uri: string; username: string; password: string; expiresAt: number }>();
  assert.is(creds.uri, `sip:ws-${desk1.id}@deskline.local`);
  assert.is(creds.wsUrl, 'ws://localhost:5066');
  const [expiry, user] = creds.username.split(':');
  assert.is(user, `ws-${desk1.id}`);
  const lifetime = Number(expiry) * 1000 - before;
  assert.ok(lifetime > 11.9 * 3_600_000 && lifetime <= 12 * 3_600_000 + 1000, `about 12 hours, got ${lifetime} ms`);
  assert.is(creds.password, createHmac('sha1', SECRET).update(creds.username).digest('base64'));
});

test('logging out frees the workstation for someone else', async () => {
  await pick(anna, desk1);
  assert.is((await asUser(fixture.app, anna, 'POST', '/api/auth/logout')).statusCode, 204);
  assert.is(await fixture.db.exists(RedisKeys.workstationHolder(desk1.id)), 0);
  assert.is(await fixture.db.zscore(RedisKeys.idleAgents, anna.info.user.id), null);
  assert.is((await pick(ben, desk1)).statusCode, 200);
});

test('disabling a user frees their workstation', async () => {
  await pick(anna, desk1);
  await fixture.app.accounts.disable(anna.info.user.id);
  assert.is(await fixture.db.exists(RedisKeys.workstationHolder(desk1.id)), 0);
  assert.is((await pick(ben, desk1)).statusCode, 200);
});

test('an unknown workstation is 404 and a bad body 400', async () => {
  assert.is((await asUser(fixture.app, anna, 'PUT', '/api/workstation', { workstationId: 'nope' })).statusCode, 404);
  assert.is((await asUser(fixture.app, anna, 'PUT', '/api/workstation', { id: desk1.id })).statusCode, 400);
});

const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

async function manager(): Promise<LoggedIn> {
  const { app } = fixture;
  return loginOk(app, 'maria@clinic.example', await createUser(app, 'maria@clinic.example', 'manager'));
}

test('the list says who is on each workstation and whether its SIP user is registered with Kamailio', async () => {
  const { app, db } = fixture;
  const phone = await app.workstations.create({ name: 'Desk phone 201', kind: 'sip-phone', sipUser: '201' });
  assert.is((await pick(anna, desk1)).statusCode, 200);
  assert.is((await pick(ben, phone)).statusCode, 200);
  // What Kamailio's registration mirror writes (pbx-config/kamailio/kamailio.cfg, MIRROR_REGISTRATION).
  await db.set(RedisKeys.sipRegistration('201'), 'sip:201@127.0.0.1:5090', 'EX', 60);
  await db.set(RedisKeys.sipRegistration(`ws-${desk1.id}`), 'sip:x@y.invalid;transport=ws', 'EX', 60);

  const response = await asUser(app, anna, 'GET', '/api/workstations');
  assert.is(response.statusCode, 200);
  const byName = Object.fromEntries(response.json<WorkstationListItem[]>().map((w) => [w.name, w]));
  assert.equal(byName['Reception 1'], {
    ...desk1,
    holder: { userId: anna.info.user.id, displayName: 'anna' },
    registered: true,
  });
  assert.equal(byName['Reception 2'], { ...desk2, registered: false });
  assert.equal(byName['Desk phone 201'], {
    id: phone.id,
    name: 'Desk phone 201',
    kind: 'sip-phone',
    sipUser: '201',
    holder: { userId: ben.info.user.id, displayName: 'ben' },
    registered: true,
  });
  assert.not.ok(response.body.includes('sipPassword'));

  await db.del(RedisKeys.sipRegistration('201'));
  assert.is(await pick(ben, desk2).then((r) => r.statusCode), 200);
  const after = Object.fromEntries(
    (await asUser(app, ben, 'GET', '/api/workstations')).json<WorkstationListItem[]>().map((w) => [w.name, w]),
  );
  assert.equal(after['Desk phone 201'], {
    id: phone.id,
    name: 'Desk phone 201',
    kind: 'sip-phone',
    sipUser: '201',
    registered: false,
  });
});

test('a manager creates a desk phone: its SIP password is in the 201 answer once, and Redis keeps only its HA1', async () => {
  const { app, db } = fixture;
  const maria = await manager();
  const response = await asUser(app, maria, 'POST', '/api/workstations', {
    name: 'Front desk phone',
    kind: 'sip-phone',
    sipUser: '205',
  });
  assert.is(response.statusCode, 201, response.body);
  assert.is(response.headers['cache-control'], 'no-store');
  const created = response.json<CreatedWorkstation>();
  assert.is(created.sipUser, '205');
  assert.match(created.sipPassword ?? '', /^[A-Za-z2-9]{5}(-[A-Za-z2-9]{5}){3}$/);
  assert.is(await db.hget(RedisKeys.sipCredentials, '205'), md5(`205:deskline.local:${created.sipPassword}`));

  // The password is nowhere in Redis, and no answer shows it again.
  for (const key of await db.keys('*')) {
    const type = await db.type(key);
    const dump =
      type === 'hash'
        ? JSON.stringify(await db.hgetall(key))
        : type === 'string'
          ? await db.get(key)
          : JSON.stringify(await db.smembers(key).catch(() => []));
    assert.not.ok(dump?.includes(created.sipPassword ?? '?'), `${key} holds the password`);
  }
  const listed = await asUser(app, maria, 'GET', '/api/workstations');
  assert.not.ok(listed.body.includes(created.sipPassword ?? '?'));
  const { sipPassword: _password, ...workstation } = created;
  assert.equal(await app.workstations.get(created.id), workstation);
});

test('a desk phone without a given SIP user gets phone-<n>; a browser gets no SIP credentials of its own', async () => {
  const { app, db } = fixture;
  const maria = await manager();
  const first = (
    await asUser(app, maria, 'POST', '/api/workstations', { name: 'Phone A', kind: 'sip-phone' })
  ).json<CreatedWorkstation>();
  const second = (
    await asUser(app, maria, 'POST', '/api/workstations', { name: 'Phone B', kind: 'sip-phone' })
  ).json<CreatedWorkstation>();
  assert.equal([first.sipUser, second.sipUser], ['phone-1', 'phone-2']);
  assert.ok(first.sipPassword && second.sipPassword && first.sipPassword !== second.sipPassword);
  const browser = await asUser(app, maria, 'POST', '/api/workstations', { name: 'Reception 3', kind: 'browser' });
  assert.is(browser.statusCode, 201);
  assert.equal(Object.keys(browser.json<CreatedWorkstation>()).sort(), ['id', 'kind', 'name']);
  assert.equal((await db.hkeys(RedisKeys.sipCredentials)).sort(), ['phone-1', 'phone-2']);
});

test('bad and taken SIP users are refused and leave nothing behind; employees may not create workstations', async () => {
  const { app, db } = fixture;
  const maria = await manager();
  const create = (body: object) => asUser(app, maria, 'POST', '/api/workstations', body);
  assert.is((await create({ name: 'Phone 201', kind: 'sip-phone', sipUser: '201' })).statusCode, 201);
  const taken = await create({ name: 'Another 201', kind: 'sip-phone', sipUser: '201' });
  assert.is(taken.statusCode, 409);
  assert.is(taken.json<ApiError>().message, 'The SIP user "201" is in use already.');
  for (const sipUser of ['ws-abc', 'Upper', 'with space', 'x'.repeat(65)]) {
    const bad = await create({ name: `Bad ${sipUser.length}`, kind: 'sip-phone', sipUser });
    assert.is(bad.statusCode, 400, sipUser);
  }
  const browserWithUser = await create({ name: 'Browser', kind: 'browser', sipUser: '300' });
  assert.is(browserWithUser.statusCode, 400);
  assert.is(browserWithUser.json<ApiError>().message, 'Only a desk phone has a SIP user.');
  assert.equal(await db.hkeys(RedisKeys.sipCredentials), ['201']);
  assert.equal((await app.workstations.list()).map((w) => w.name).sort(), ['Phone 201', 'Reception 1', 'Reception 2']);
  assert.is(
    (await asUser(app, anna, 'POST', '/api/workstations', { name: 'Mine', kind: 'sip-phone' })).statusCode,
    403,
  );
});

test("resetting a desk phone's SIP password replaces its HA1; a desk phone stored without a SIP user gets one", async () => {
  const { app, db } = fixture;
  const phone = await app.workstations.create({ name: 'Desk phone 201', kind: 'sip-phone', sipUser: '201' });
  const reset = await app.workstations.resetSipPassword(phone.id);
  assert.is(reset.sipUser, '201');
  assert.is.not(reset.sipPassword, phone.sipPassword);
  assert.is(await db.hget(RedisKeys.sipCredentials, '201'), md5(`201:deskline.local:${reset.sipPassword}`));

  const legacy = await app.workstations.create({ name: 'Old phone', kind: 'sip-phone' });
  await db.hdel(RedisKeys.sipCredentials, legacy.sipUser ?? '');
  await db.hdel(`workstation:${legacy.id}`, 'sipUser');
  const given = await app.workstations.resetSipPassword(legacy.id, '209');
  assert.is(given.sipUser, '209');
  assert.is((await app.workstations.get(legacy.id))?.sipUser, '209');
  assert.is(await db.hget(RedisKeys.sipCredentials, '209'), md5(`209:deskline.local:${given.sipPassword}`));
  const browser = await app.workstations.resetSipPassword(desk1.id).catch((err: Error) => err.message);
  assert.is(browser, 'Reception 1 is not a desk phone; it has no SIP password.');
});

test('on a desk phone the browser gets no SIP credentials: calls ring at the phone', async () => {
  const phone = await fixture.app.workstations.create({ name: 'Desk phone 201', kind: 'sip-phone', sipUser: '201' });
  await pick(anna, phone);
  const response = await asUser(fixture.app, anna, 'GET', '/api/sip/credentials');
  assert.is(response.statusCode, 409);
  assert.is(response.json<ApiError>().message, 'Desk phone 201 is a desk phone; calls ring there.');
});

test('switching is refused during a call (ringing or talking) with a clear message', async () => {
  assert.is((await pick(anna, desk1)).statusCode, 200);
  for (const state of ['ringing', 'on-call']) {
    await fixture.db.hset(RedisKeys.agent(anna.info.user.id), 'state', state);
    const refused = await pick(anna, desk2);
    assert.is(refused.statusCode, 409, state);
    assert.is(refused.json<ApiError>().message, 'Finish the current call before changing workstation.');
  }
  assert.is(await fixture.db.get(RedisKeys.workstationHolder(desk2.id)), null, 'Reception 2 was not claimed');
});

test.run();
