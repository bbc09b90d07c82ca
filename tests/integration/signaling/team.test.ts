import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApiError, PublicUser, Workstation } from '@deskline/protocol';
import { asUser, useFreshApp, createUser, login, loginOk, type LoggedIn } from '../../helpers/signaling.js';

const fixture = useFreshApp(test);
let manager: LoggedIn;
let employee: LoggedIn;

test.before.each(async () => {
  manager = await loginOk(
    fixture.app,
    'maria@clinic.example',
    await createUser(fixture.app, 'maria@clinic.example', 'manager'),
  );
  employee = await loginOk(
    fixture.app,
    'anna@clinic.example',
    await createUser(fixture.app, 'anna@clinic.example', 'employee'),
  );
});

test('a manager lists and creates users; the new user can log in', async () => {
  const created = await asUser(fixture.app, manager, 'POST', '/api/users', {
    email: 'ben@clinic.example',
    displayName: '  Ben   Reception ',
    role: 'employee',
    password: 'a long enough password',
  });
  assert.is(created.statusCode, 201);
  assert.is(created.json<PublicUser>().displayName, 'Ben Reception');
  const list = await asUser(fixture.app, manager, 'GET', '/api/users');
  assert.equal(
    list.json<PublicUser[]>().map((u) => u.email),
    ['anna@clinic.example', 'ben@clinic.example', 'maria@clinic.example'],
  );
  assert.is((await login(fixture.app, 'ben@clinic.example', 'a long enough password')).statusCode, 200);
});

test('the server refuses user management to an employee, whatever the UI shows', async () => {
  const list = await asUser(fixture.app, employee, 'GET', '/api/users');
  assert.is(list.statusCode, 403);
  assert.is(list.json<ApiError>().message, 'Only a manager may do this.');
  const create = await asUser(fixture.app, employee, 'POST', '/api/users', {
    email: 'mallory@clinic.example',
    displayName: 'Mallory',
    role: 'manager',
    password: 'a long enough password',
  });
  assert.is(create.statusCode, 403);
  assert.is(await fixture.app.users.findByEmail('mallory@clinic.example'), undefined);
});

test('a duplicate email is 409 and a short password is 400, and neither changes the team', async () => {
  const duplicate = await asUser(fixture.app, manager, 'POST', '/api/users', {
    email: 'ANNA@clinic.example',
    displayName: 'Another Anna',
    role: 'employee',
    password: 'a long enough password',
  });
  assert.is(duplicate.statusCode, 409);
  assert.match(duplicate.json<ApiError>().message, /already exists/);
  const short = await asUser(fixture.app, manager, 'POST', '/api/users', {
    email: 'ben@clinic.example',
    displayName: 'Ben',
    role: 'employee',
    password: 'eleven char',
  });
  assert.is(short.statusCode, 400);
  assert.is(short.json<ApiError>().message, 'The password must be at least 12 characters long.');
  assert.is(await fixture.app.users.count(), 2);
});

test('disabling a user ends their sessions and refuses their next login', async () => {
  const anna = (await asUser(fixture.app, employee, 'GET', '/api/me')).json<{ user: PublicUser }>().user;
  const disabled = await asUser(fixture.app, manager, 'POST', `/api/users/${anna.id}/disable`);
  assert.is(disabled.statusCode, 200);
  assert.is(disabled.json<PublicUser>().disabled, true);
  assert.is((await asUser(fixture.app, employee, 'GET', '/api/me')).statusCode, 401);
  const again = await login(fixture.app, 'anna@clinic.example', 'correct horse battery');
  assert.is(again.statusCode, 403);
  assert.match(again.json<ApiError>().message, /disabled/);
});

test('a manager cannot disable their own account, and an unknown id is 404', async () => {
  const self = await asUser(fixture.app, manager, 'POST', `/api/users/${manager.info.user.id}/disable`);
  assert.is(self.statusCode, 400);
  const unknown = await asUser(fixture.app, manager, 'POST', '/api/users/00000000-0000-4000-8000-000000000000/disable');
  assert.is(unknown.statusCode, 404);
  const malformed = await asUser(fixture.app, manager, 'POST', '/api/users/not-a-uuid/disable');
  assert.is(malformed.statusCode, 400);
});

test('everyone lists workstations; only a manager creates them; names are unique', async () => {
  const created = await asUser(fixture.app, manager, 'POST', '/api/workstations', {
    name: 'Reception 1',
    kind: 'browser',
  });
  assert.is(created.statusCode, 201);
  const refused = await asUser(fixture.app, employee, 'POST', '/api/workstations', { name: 'Sneaky', kind: 'browser' });
  assert.is(refused.statusCode, 403);
  const duplicate = await asUser(fixture.app, manager, 'POST', '/api/workstations', {
    name: 'reception 1',
    kind: 'sip-phone',
  });
  assert.is(duplicate.statusCode, 409);
  const badKind = await asUser(fixture.app, manager, 'POST', '/api/workstations', { name: 'Desk 2', kind: 'fax' });
  assert.is(badKind.statusCode, 400);
  const list = await asUser(fixture.app, employee, 'GET', '/api/workstations');
  assert.is(list.statusCode, 200);
  assert.equal(
    list.json<Workstation[]>().map((w) => [w.name, w.kind]),
    [['Reception 1', 'browser']],
  );
});

test.run();
