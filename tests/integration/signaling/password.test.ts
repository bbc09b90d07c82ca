/** Changing one's own password: PUT /api/me/password. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SESSION_COOKIE, type ApiError, type SessionInfo } from '@deskline/protocol';
import {
  asUser,
  createUser,
  login,
  loginOk,
  sessionCookie,
  useFreshApp,
  type LoggedIn,
} from '../../helpers/signaling.js';

const fixture = useFreshApp(test, { LOGIN_FREE_ATTEMPTS: '3', LOGIN_DELAY_BASE_SECONDS: '30' });
const OLD = 'correct horse battery';
const NEW = 'a new staple for the clinic';
let anna: LoggedIn;

test.before.each(async () => {
  await fixture.app.users.create({
    email: 'anna@clinic.example',
    displayName: 'Anna Reception',
    role: 'employee',
    password: OLD,
  });
  anna = await loginOk(fixture.app, 'anna@clinic.example', OLD);
});

async function hash(): Promise<string | null> {
  return fixture.db.hget(`user:${anna.info.user.id}`, 'passwordHash');
}

function change(who: LoggedIn, currentPassword: string, newPassword: string) {
  return asUser(fixture.app, who, 'PUT', '/api/me/password', { currentPassword, newPassword });
}

test('a wrong current password is refused with 403 and a clear message; nothing changes', async () => {
  const before = await hash();
  const response = await change(anna, 'not my password', NEW);
  assert.is(response.statusCode, 403, response.body);
  assert.is(response.json<ApiError>().message, 'The current password is wrong. Your password was not changed.');
  assert.is(await hash(), before);
  assert.is((await asUser(fixture.app, anna, 'GET', '/api/me')).statusCode, 200, 'the session goes on');
});

test('a new password that is too short, too long, common (in any case), or the email or name is refused with 400', async () => {
  const before = await hash();
  const cases: Array<[string, RegExp]> = [
    ['eleven char', /at least 12 characters/],
    ['x'.repeat(129), /at most 128 characters/],
    ['qwerty123456', /most commonly used/],
    ['QWERTY123456', /most commonly used/],
    ['1Q2W3E4R5T6Y', /most commonly used/],
    ['Anna@Clinic.Example', /email address or your name/],
    ['anna reception', /email address or your name/],
    [OLD, /different from the current one/],
  ];
  for (const [newPassword, message] of cases) {
    const response = await change(anna, OLD, newPassword);
    assert.is(response.statusCode, 400, `${newPassword}: ${response.body}`);
    assert.match(response.json<ApiError>().message, message);
  }
  assert.is(await hash(), before);
  const missing = await asUser(fixture.app, anna, 'PUT', '/api/me/password', { newPassword: NEW });
  assert.is(missing.statusCode, 400);
  assert.match(missing.json<ApiError>().message, /currentPassword/);
});

test('a change ends the other sessions, renews this one (new cookie and CSRF token), and the old password stops working', async () => {
  const other = await loginOk(fixture.app, 'anna@clinic.example', OLD);
  const response = await change(anna, OLD, NEW);
  assert.is(response.statusCode, 200, response.body);
  const renewed = response.json<SessionInfo>();
  const cookie = sessionCookie(response);
  assert.is.not(cookie, anna.cookie, 'a new session id');
  assert.is.not(renewed.csrfToken, anna.info.csrfToken, 'a new CSRF token');
  assert.is(renewed.user.email, 'anna@clinic.example');

  assert.is((await asUser(fixture.app, other, 'GET', '/api/me')).statusCode, 401, 'the other session ended');
  assert.is((await asUser(fixture.app, anna, 'GET', '/api/me')).statusCode, 401, 'the old cookie stopped working');
  const fresh: LoggedIn = { cookie, info: renewed };
  const me = await asUser(fixture.app, fresh, 'GET', '/api/me');
  assert.is(me.statusCode, 200);
  assert.is(me.json<SessionInfo>().csrfToken, renewed.csrfToken);
  // The old token does not go with the new cookie.
  const oldToken = await asUser(fixture.app, { cookie, info: anna.info }, 'PUT', '/api/me/preferences', {
    notifications: true,
  });
  assert.is(oldToken.statusCode, 403);
  assert.is((await fixture.db.smembers(`user-sessions:${anna.info.user.id}`)).length, 1);

  assert.is((await login(fixture.app, 'anna@clinic.example', OLD)).statusCode, 401);
  assert.is((await login(fixture.app, 'anna@clinic.example', NEW)).statusCode, 200);
});

test("the other sessions' push sockets are closed at once; this session's socket stays and moves to the new session", async () => {
  const other = await loginOk(fixture.app, 'anna@clinic.example', OLD);
  await fixture.app.ready();
  const open = (who: LoggedIn) =>
    fixture.app.injectWS('/api/push', { headers: { cookie: `${SESSION_COOKIE}=${who.cookie}` } });
  const mine = await open(anna);
  const theirs = await open(other);
  const theirsClosed = new Promise<number>((resolve) => theirs.on('close', (code: number) => resolve(code)));
  let mineClosed: number | undefined;
  mine.on('close', (code: number) => {
    mineClosed = code;
  });
  const response = await change(anna, OLD, NEW);
  assert.is(response.statusCode, 200);
  assert.is(await theirsClosed, 4001);
  assert.is(mineClosed, undefined);
  // Logging out the renewed session closes the socket it inherited.
  const fresh: LoggedIn = { cookie: sessionCookie(response), info: response.json<SessionInfo>() };
  const closed = new Promise<number>((resolve) => mine.on('close', (code: number) => resolve(code)));
  await asUser(fixture.app, fresh, 'POST', '/api/auth/logout');
  assert.is(await closed, 4001);
});

test('wrong current passwords count like failed logins: past the free attempts 429 with Retry-After, even for the right one', async () => {
  for (let i = 0; i < 3; i += 1) assert.is((await change(anna, `guess ${i}`, NEW)).statusCode, 403);
  const limited = await change(anna, OLD, NEW);
  assert.is(limited.statusCode, 429, limited.body);
  assert.match(limited.json<ApiError>().message, /^Too many wrong passwords\. Try again in \d+ seconds\.$/);
  const retryAfter = Number(limited.headers['retry-after']);
  assert.ok(retryAfter > 25 && retryAfter <= 30, `Retry-After is the first delay, got ${retryAfter}`);
  assert.is((await login(fixture.app, 'anna@clinic.example', OLD)).statusCode, 429, 'the same delay as login');
});

test('without the CSRF token the change is refused with 403 and nothing changes', async () => {
  const before = await hash();
  const response = await fixture.app.inject({
    method: 'PUT',
    url: '/api/me/password',
    cookies: { [SESSION_COOKIE]: anna.cookie },
    payload: { currentPassword: OLD, newPassword: NEW },
  });
  assert.is(response.statusCode, 403);
  assert.match(response.json<ApiError>().message, /CSRF token/);
  assert.is(await hash(), before);
});

test('creating a user with a common password, or one equal to their email, is refused too', async () => {
  await createUser(fixture.app, 'maria@clinic.example', 'manager');
  const maria = await loginOk(fixture.app, 'maria@clinic.example', 'correct horse battery');
  for (const password of ['Password1234', 'ben@clinic.example']) {
    const response = await asUser(fixture.app, maria, 'POST', '/api/users', {
      email: 'ben@clinic.example',
      displayName: 'Ben',
      role: 'employee',
      password,
    });
    assert.is(response.statusCode, 400, `${password}: ${response.body}`);
  }
});

test.run();
