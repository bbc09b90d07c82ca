import { createHmac } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisChannels, RedisKeys, type ApiError, type Workstation } from '@deskline/protocol';
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

const pick = (who: LoggedIn, ws: Workstation) => asUser(fixture.app, who, 'PUT', '/api/workstation', { workstationId: ws.id });

test('without a workstation an employee gets no SIP credentials', async () => {
  const response = await asUser(fixture.app, anna, 'GET', '/api/sip/credentials');
  assert.is(response.statusCode, 409);
  assert.is(response.json<ApiError>().message, 'Choose a workstation first.');
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

test.run();
