/**
 * The Staff screen's API (issue 16, item 1; docs/managers.md, "Staff") on a real Redis: adding a user
 * with a setup link or a generated password, roles, enabling, password resets, taking someone off a
 * workstation; each refused to an employee (403), and the bad input the issue names.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  SESSION_COOKIE,
  type ApiError,
  type CreatedUser,
  type IssuedCredentials,
  type PublicUser,
  type SessionInfo,
  type TeamMember,
} from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { Staff } from '../../helpers/staff.js';
import {
  asUser,
  createUser,
  login,
  loginOk,
  sessionCookie,
  useFreshApp,
  type LoggedIn,
} from '../../helpers/signaling.js';

const fixture = useFreshApp(test);
const NEW_PASSWORD = 'a password of my own';

let maria: LoggedIn;
let anna: LoggedIn;
let annaId: string;

test.before.each(async () => {
  await createUser(fixture.app, 'maria@clinic.example', 'manager');
  const annaPassword = await createUser(fixture.app, 'anna@clinic.example', 'employee');
  maria = await loginOk(fixture.app, 'maria@clinic.example', 'correct horse battery');
  anna = await loginOk(fixture.app, 'anna@clinic.example', annaPassword);
  annaId = anna.info.user.id;
});

const addBen = (setup?: 'link' | 'password') =>
  asUser(fixture.app, maria, 'POST', '/api/users', {
    email: 'ben@clinic.example',
    displayName: 'Ben Reception',
    role: 'employee',
    ...(setup ? { setup } : {}),
  });

const setUp = (token: string, password = NEW_PASSWORD) =>
  fixture.app.inject({ method: 'POST', url: '/api/auth/setup', payload: { token, password } });

test('a user added without a password gets a setup link; it sets their password and logs them in, once', async () => {
  const response = await addBen();
  assert.is(response.statusCode, 201, response.body);
  const ben = response.json<CreatedUser>();
  assert.is(ben.email, 'ben@clinic.example');
  assert.ok(ben.setupToken && ben.setupToken.length >= 40, 'a long random token');
  assert.ok(ben.setupExpiresAt! > Date.now() + 71 * 3_600_000, 'valid for 72 hours');
  assert.is(ben.password, undefined);
  // Nothing logs Ben in before he chose his password.
  assert.is((await login(fixture.app, 'ben@clinic.example', 'correct horse battery')).statusCode, 401);

  const used = await setUp(ben.setupToken);
  assert.is(used.statusCode, 200, used.body);
  assert.is(used.json<SessionInfo>().user.id, ben.id);
  const me = await fixture.app.inject({
    method: 'GET',
    url: '/api/me',
    cookies: { [SESSION_COOKIE]: sessionCookie(used) },
  });
  assert.is(me.statusCode, 200, 'the link logged him in');
  assert.is((await login(fixture.app, 'ben@clinic.example', NEW_PASSWORD)).statusCode, 200);

  const again = await setUp(ben.setupToken, 'another password of mine');
  assert.is(again.statusCode, 400);
  assert.match(again.json<ApiError>().message, /not valid any more/);
  assert.is((await login(fixture.app, 'ben@clinic.example', NEW_PASSWORD)).statusCode, 200, 'unchanged');
});

test('a weak password on the setup page is refused and leaves the link usable', async () => {
  const ben = (await addBen()).json<CreatedUser>();
  const weak = await setUp(ben.setupToken!, 'short');
  assert.is(weak.statusCode, 400);
  assert.match(weak.json<ApiError>().message, /at least 12 characters/);
  assert.is((await setUp(ben.setupToken!)).statusCode, 200);
});

test('a user added with a generated password gets it once, and can log in with it', async () => {
  const response = await addBen('password');
  assert.is(response.statusCode, 201, response.body);
  const ben = response.json<CreatedUser>();
  assert.match(ben.password ?? '', /^[A-Za-z2-9]{5}(-[A-Za-z2-9]{5}){3}$/);
  assert.is(ben.setupToken, undefined);
  assert.is((await login(fixture.app, 'ben@clinic.example', ben.password!)).statusCode, 200);
  const listed = await asUser(fixture.app, maria, 'GET', '/api/users');
  assert.not.ok(listed.body.includes(ben.password!), 'never shown again');
});

test('a duplicate e-mail is refused with a clear message', async () => {
  await addBen();
  const again = await asUser(fixture.app, maria, 'POST', '/api/users', {
    email: 'BEN@clinic.example',
    displayName: 'Another Ben',
    role: 'employee',
  });
  assert.is(again.statusCode, 409);
  assert.is(again.json<ApiError>().message, 'A user with the email ben@clinic.example already exists.');
});

test('role: a manager promotes and demotes; the last manager cannot demote themselves', async () => {
  const promoted = await asUser(fixture.app, maria, 'PUT', `/api/users/${annaId}/role`, { role: 'manager' });
  assert.is(promoted.statusCode, 200, promoted.body);
  assert.is(promoted.json<PublicUser>().role, 'manager');
  assert.is((await asUser(fixture.app, anna, 'GET', '/api/users')).statusCode, 200, 'Anna manages now');
  const demoted = await asUser(fixture.app, anna, 'PUT', `/api/users/${annaId}/role`, { role: 'employee' });
  assert.is(demoted.statusCode, 200, 'Maria is still a manager');
  assert.is((await asUser(fixture.app, anna, 'GET', '/api/users')).statusCode, 403);

  const last = await asUser(fixture.app, maria, 'PUT', `/api/users/${maria.info.user.id}/role`, { role: 'employee' });
  assert.is(last.statusCode, 409);
  assert.match(last.json<ApiError>().message, /is the last manager: make someone else a manager first/);
  assert.is((await fixture.app.users.get(maria.info.user.id))?.role, 'manager');
});

test('disable and enable: sessions end; the last manager cannot be disabled, nor can anyone disable themselves', async () => {
  const disabled = await asUser(fixture.app, maria, 'POST', `/api/users/${annaId}/disable`);
  assert.is(disabled.statusCode, 200, disabled.body);
  assert.is(disabled.json<PublicUser>().disabled, true);
  assert.is((await asUser(fixture.app, anna, 'GET', '/api/me')).statusCode, 401);
  const enabled = await asUser(fixture.app, maria, 'POST', `/api/users/${annaId}/enable`);
  assert.is(enabled.statusCode, 200);
  assert.is(enabled.json<PublicUser>().disabled, false);
  assert.is((await login(fixture.app, 'anna@clinic.example', 'correct horse battery')).statusCode, 200);

  const self = await asUser(fixture.app, maria, 'POST', `/api/users/${maria.info.user.id}/disable`);
  assert.is(self.statusCode, 400);
  assert.is(self.json<ApiError>().message, 'You cannot disable your own account.');
  // Through the service, as the CLI does: the last manager stays.
  await fixture.app.accounts.setRole(annaId, 'manager');
  await fixture.app.accounts.disable(annaId);
  try {
    await fixture.app.accounts.disable(maria.info.user.id);
    assert.unreachable('the last manager was disabled');
  } catch (err) {
    assert.match((err as Error).message, /is the last manager/);
  }
});

for (const setup of ['link', 'password'] as const) {
  test(`a password reset (${setup}) voids the old password and ends every session at once`, async () => {
    const response = await asUser(fixture.app, maria, 'POST', `/api/users/${annaId}/password`, { setup });
    assert.is(response.statusCode, 200, response.body);
    const issued = response.json<IssuedCredentials>();
    assert.is((await asUser(fixture.app, anna, 'GET', '/api/me')).statusCode, 401, 'her session ended');
    assert.is((await login(fixture.app, 'anna@clinic.example', 'correct horse battery')).statusCode, 401);
    if (setup === 'link') {
      assert.is((await setUp(issued.setupToken!)).statusCode, 200);
      assert.is((await login(fixture.app, 'anna@clinic.example', NEW_PASSWORD)).statusCode, 200);
    } else {
      assert.is((await login(fixture.app, 'anna@clinic.example', issued.password!)).statusCode, 200);
    }
  });
}

test('a new link voids the previous one', async () => {
  const first = (await addBen()).json<CreatedUser>();
  const ben = first.id;
  const second = (
    await asUser(fixture.app, maria, 'POST', `/api/users/${ben}/password`, { setup: 'link' })
  ).json<IssuedCredentials>();
  assert.is((await setUp(first.setupToken!)).statusCode, 400);
  assert.is((await setUp(second.setupToken!)).statusCode, 200);
});

test('force-off takes an absent employee off their workstation: out of the idle agents, and the team says who did it', async () => {
  const staff = new Staff(fixture.db);
  const workstation = await staff.workstation('Reception 1');
  await staff.available(annaId, workstation.id);
  const before = Date.now();
  const response = await asUser(fixture.app, maria, 'POST', `/api/users/${annaId}/force-off`);
  assert.is(response.statusCode, 204, response.body);
  assert.equal(await staff.agent(annaId), {}, 'no state, no workstation, not idle');
  assert.is(await fixture.db.get(RedisKeys.workstationHolder(workstation.id)), null, 'the workstation is free');
  const team = (await asUser(fixture.app, maria, 'GET', '/api/team')).json<TeamMember[]>();
  const member = team.find((m) => m.userId === annaId)!;
  assert.is(member.state, 'offline');
  assert.is(member.workstation, undefined);
  assert.is(member.forcedOff?.by, 'maria');
  assert.ok(member.forcedOff!.at >= before);

  const twice = await asUser(fixture.app, maria, 'POST', `/api/users/${annaId}/force-off`);
  assert.is(twice.statusCode, 409);
  assert.is(twice.json<ApiError>().message, 'anna is not on a workstation.');
  // Picking a workstation again clears the note.
  await staff.available(annaId, workstation.id);
  const back = (await asUser(fixture.app, anna, 'GET', '/api/team'))
    .json<TeamMember[]>()
    .find((m) => m.userId === annaId)!;
  assert.is(back.state, 'available');
  assert.is(back.forcedOff, undefined);
});

test('force-off is refused while the user is on a call', async () => {
  const staff = new Staff(fixture.db);
  const workstation = await staff.workstation('Reception 1');
  await staff.available(annaId, workstation.id);
  await fixture.db.hset(RedisKeys.agent(annaId), { state: 'on-call', callId: 'call-1' });
  const response = await asUser(fixture.app, maria, 'POST', `/api/users/${annaId}/force-off`);
  assert.is(response.statusCode, 409);
  assert.is(response.json<ApiError>().message, 'anna is on a call: they are at their desk.');
  assert.is((await staff.agent(annaId)).state, 'on-call');
});

test('an employee gets 403 from every Staff operation, and nothing changes', async () => {
  const mariaId = maria.info.user.id;
  const attempts: Array<['POST' | 'PUT', string, object | undefined]> = [
    ['POST', '/api/users', { email: 'eve@clinic.example', displayName: 'Eve', role: 'manager' }],
    ['PUT', `/api/users/${annaId}/role`, { role: 'manager' }],
    ['POST', `/api/users/${mariaId}/disable`, undefined],
    ['POST', `/api/users/${mariaId}/enable`, undefined],
    ['POST', `/api/users/${mariaId}/password`, { setup: 'password' }],
    ['POST', `/api/users/${mariaId}/force-off`, undefined],
  ];
  for (const [method, url, body] of attempts) {
    const response = await asUser(fixture.app, anna, method, url, body);
    assert.is(response.statusCode, 403, `${method} ${url}`);
    assert.is(response.json<ApiError>().message, 'Only a manager may do this.');
  }
  assert.is((await fixture.app.users.get(annaId))?.role, 'employee');
  assert.is(await fixture.app.users.count(), 2);
  assert.is((await login(fixture.app, 'maria@clinic.example', 'correct horse battery')).statusCode, 200);
});

test('an unknown user is 404 for every operation', async () => {
  const nobody = '00000000-0000-4000-8000-000000000000';
  for (const [method, url, body] of [
    ['PUT', `/api/users/${nobody}/role`, { role: 'manager' }],
    ['POST', `/api/users/${nobody}/enable`, undefined],
    ['POST', `/api/users/${nobody}/password`, { setup: 'link' }],
    ['POST', `/api/users/${nobody}/force-off`, undefined],
  ] as const) {
    const response = await asUser(fixture.app, maria, method, url, body);
    assert.is(response.statusCode, 404, `${method} ${url}`);
  }
});

test.run();
