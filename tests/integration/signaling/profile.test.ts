/** The user's own name (PUT /api/me/profile) and preferences (GET/PUT /api/me/preferences). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CSRF_HEADER,
  SESSION_COOKIE,
  type ApiError,
  type PublicUser,
  type SessionInfo,
  type UserPreferences,
} from '@deskline/protocol';
import { RedisStreams } from '@deskline/store';
import { asUser, createUser, loginOk, useFreshApp, type LoggedIn } from '../../helpers/signaling.js';

const fixture = useFreshApp(test);
let anna: LoggedIn;
let password: string;

test.before.each(async () => {
  password = await createUser(fixture.app, 'anna@clinic.example', 'employee');
  anna = await loginOk(fixture.app, 'anna@clinic.example', password);
  // Creating the user is announced too; each test counts only what it does.
  await fixture.db.del(RedisStreams.teamEvents);
});

async function teamEvents(): Promise<string[]> {
  const entries = await fixture.db.xrange(RedisStreams.teamEvents, '-', '+');
  return entries.map(([, fields]) => `${fields[0]}=${fields[1]}`);
}

test('a user renames themselves: spaces are tidied, everyone sees it, and the change is announced', async () => {
  const response = await asUser(fixture.app, anna, 'PUT', '/api/me/profile', { displayName: '  Anna   Nowak ' });
  assert.is(response.statusCode, 200, response.body);
  assert.is(response.json<PublicUser>().displayName, 'Anna Nowak');
  assert.is((await asUser(fixture.app, anna, 'GET', '/api/me')).json<SessionInfo>().user.displayName, 'Anna Nowak');
  assert.is(await fixture.db.hget(`user:${anna.info.user.id}`, 'displayName'), 'Anna Nowak');
  assert.equal(await teamEvents(), [`userId=${anna.info.user.id}`]);
});

test("a bad name is refused with the user store's rules and the old name stays", async () => {
  const cases: Array<[unknown, number, RegExp]> = [
    ['   ', 400, /must not be empty/],
    ['x'.repeat(81), 400, /at most 80 characters/],
    ['Anna\u0007Bell', 400, /control characters/],
    [{ first: 'Anna' }, 400, /displayName/],
  ];
  for (const [displayName, status, message] of cases) {
    const response = await asUser(fixture.app, anna, 'PUT', '/api/me/profile', { displayName });
    assert.is(response.statusCode, status, `${JSON.stringify(displayName)}: ${response.body}`);
    assert.match(response.json<ApiError>().message, message);
  }
  const extra = await asUser(fixture.app, anna, 'PUT', '/api/me/profile', { displayName: 'Anna', role: 'manager' });
  assert.is(extra.statusCode, 400, 'no other field can be slipped in');
  assert.is(await fixture.db.hget(`user:${anna.info.user.id}`, 'role'), 'employee');
  assert.is(await fixture.db.hget(`user:${anna.info.user.id}`, 'displayName'), 'anna');
  assert.equal(await teamEvents(), []);
});

test('renaming without the CSRF token is refused with 403', async () => {
  const response = await fixture.app.inject({
    method: 'PUT',
    url: '/api/me/profile',
    cookies: { [SESSION_COOKIE]: anna.cookie },
    payload: { displayName: 'Mallory' },
  });
  assert.is(response.statusCode, 403);
  assert.is(await fixture.db.hget(`user:${anna.info.user.id}`, 'displayName'), 'anna');
});

test('notifications are off until chosen; the choice is kept on the server and follows the next login', async () => {
  const initial = await asUser(fixture.app, anna, 'GET', '/api/me/preferences');
  assert.is(initial.statusCode, 200);
  assert.equal(initial.json<UserPreferences>(), { notifications: false });
  const on = await asUser(fixture.app, anna, 'PUT', '/api/me/preferences', { notifications: true });
  assert.is(on.statusCode, 200, on.body);
  assert.equal(on.json<UserPreferences>(), { notifications: true });
  assert.is(await fixture.db.hget(`user:${anna.info.user.id}`, 'notifications'), 'on');

  // Another machine: a new login sees the same choice.
  const elsewhere = await loginOk(fixture.app, 'anna@clinic.example', password);
  assert.equal((await asUser(fixture.app, elsewhere, 'GET', '/api/me/preferences')).json<UserPreferences>(), {
    notifications: true,
  });

  const off = await asUser(fixture.app, elsewhere, 'PUT', '/api/me/preferences', { notifications: false });
  assert.equal(off.json<UserPreferences>(), { notifications: false });
  assert.is(await fixture.db.hget(`user:${anna.info.user.id}`, 'notifications'), 'off');
});

test('bad preferences are refused and change nothing; without CSRF 403', async () => {
  await asUser(fixture.app, anna, 'PUT', '/api/me/preferences', { notifications: true });
  for (const body of [{ notifications: 'yes' }, {}, { notifications: true, theme: 'dark' }]) {
    const response = await asUser(fixture.app, anna, 'PUT', '/api/me/preferences', body);
    assert.is(response.statusCode, 400, JSON.stringify(body));
  }
  const forged = await fixture.app.inject({
    method: 'PUT',
    url: '/api/me/preferences',
    cookies: { [SESSION_COOKIE]: anna.cookie },
    headers: { [CSRF_HEADER]: 'not-the-token' },
    payload: { notifications: false },
  });
  assert.is(forged.statusCode, 403);
  assert.is(await fixture.db.hget(`user:${anna.info.user.id}`, 'notifications'), 'on');
});

test.run();
