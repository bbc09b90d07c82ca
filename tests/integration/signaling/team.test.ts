import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApiError, PublicUser, Workstation } from '@deskline/protocol';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { asUser, buildTestApp, createUser, login, loginOk, type LoggedIn } from '../../helpers/signaling.js';

let redis: TestRedis;
let app: FastifyInstance;
let db: Redis;
let manager: LoggedIn;
let employee: LoggedIn;

test.before(async () => {
  redis = await startTestRedis();
  db = new Redis(redis.url);
});

test.before.each(async () => {
  await db.flushall();
  app = await buildTestApp(redis.url);
  manager = await loginOk(app, 'maria@clinic.example', await createUser(app, 'maria@clinic.example', 'manager'));
  employee = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
});

test.after.each(async () => {
  await app.close();
});

test.after(async () => {
  db.disconnect();
  await redis.stop();
});

test('a manager lists and creates users; the new user can log in', async () => {
  const created = await asUser(app, manager, 'POST', '/api/users', {
    email: 'ben@clinic.example',
    displayName: '  Ben   Reception ',
    role: 'employee',
    password: 'a long enough password',
  });
  assert.is(created.statusCode, 201);
  assert.is(created.json<PublicUser>().displayName, 'Ben Reception');
  const list = await asUser(app, manager, 'GET', '/api/users');
  assert.equal(
    list.json<PublicUser[]>().map((u) => u.email),
    ['anna@clinic.example', 'ben@clinic.example', 'maria@clinic.example'],
  );
  assert.is((await login(app, 'ben@clinic.example', 'a long enough password')).statusCode, 200);
});

test('the server refuses user management to an employee, whatever the UI shows', async () => {
  const list = await asUser(app, employee, 'GET', '/api/users');
  assert.is(list.statusCode, 403);
  assert.is(list.json<ApiError>().message, 'Only a manager may do this.');
  const create = await asUser(app, employee, 'POST', '/api/users', {
    email: 'mallory@clinic.example',
    displayName: 'Mallory',
    role: 'manager',
    password: 'a long enough password',
  });
  assert.is(create.statusCode, 403);
  assert.is(await app.users.findByEmail('mallory@clinic.example'), undefined);
});

test('a duplicate email is 409 and a short password is 400, and neither changes the team', async () => {
  const duplicate = await asUser(app, manager, 'POST', '/api/users', {
    email: 'ANNA@clinic.example',
    displayName: 'Another Anna',
    role: 'employee',
    password: 'a long enough password',
  });
  assert.is(duplicate.statusCode, 409);
  assert.match(duplicate.json<ApiError>().message, /already exists/);
  const short = await asUser(app, manager, 'POST', '/api/users', {
    email: 'ben@clinic.example',
    displayName: 'Ben',
    role: 'employee',
    password: 'eleven char',
  });
  assert.is(short.statusCode, 400);
  assert.is(short.json<ApiError>().message, 'The password must be at least 12 characters long.');
  assert.is(await app.users.count(), 2);
});

test('disabling a user ends their sessions and refuses their next login', async () => {
  const anna = (await asUser(app, employee, 'GET', '/api/me')).json<{ user: PublicUser }>().user;
  const disabled = await asUser(app, manager, 'POST', `/api/users/${anna.id}/disable`);
  assert.is(disabled.statusCode, 200);
  assert.is(disabled.json<PublicUser>().disabled, true);
  assert.is((await asUser(app, employee, 'GET', '/api/me')).statusCode, 401);
  const again = await login(app, 'anna@clinic.example', 'correct horse battery');
  assert.is(again.statusCode, 403);
  assert.match(again.json<ApiError>().message, /disabled/);
});

test('a manager cannot disable their own account, and an unknown id is 404', async () => {
  const self = await asUser(app, manager, 'POST', `/api/users/${manager.info.user.id}/disable`);
  assert.is(self.statusCode, 400);
  const unknown = await asUser(app, manager, 'POST', '/api/users/00000000-0000-4000-8000-000000000000/disable');
  assert.is(unknown.statusCode, 404);
  const malformed = await asUser(app, manager, 'POST', '/api/users/not-a-uuid/disable');
  assert.is(malformed.statusCode, 400);
});

test('everyone lists workstations; only a manager creates them; names are unique', async () => {
  const created = await asUser(app, manager, 'POST', '/api/workstations', { name: 'Reception 1', kind: 'browser' });
  assert.is(created.statusCode, 201);
  const refused = await asUser(app, employee, 'POST', '/api/workstations', { name: 'Sneaky', kind: 'browser' });
  assert.is(refused.statusCode, 403);
  const duplicate = await asUser(app, manager, 'POST', '/api/workstations', { name: 'reception 1', kind: 'sip-phone' });
  assert.is(duplicate.statusCode, 409);
  const badKind = await asUser(app, manager, 'POST', '/api/workstations', { name: 'Desk 2', kind: 'fax' });
  assert.is(badKind.statusCode, 400);
  const list = await asUser(app, employee, 'GET', '/api/workstations');
  assert.is(list.statusCode, 200);
  assert.equal(
    list.json<Workstation[]>().map((w) => [w.name, w.kind]),
    [['Reception 1', 'browser']],
  );
});

test.run();
