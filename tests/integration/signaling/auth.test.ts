import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CSRF_HEADER, SESSION_COOKIE, type ApiError, type SessionInfo } from '@deskline/protocol';
import { asUser, useFreshApp, createUser, login, loginOk, sessionCookie } from '../../helpers/signaling.js';

// A long first delay, so that no slow machine lets the wait pass between two attempts of a test.
const fixture = useFreshApp(test, {
  LOGIN_FREE_ATTEMPTS: '3',
  LOGIN_DELAY_BASE_SECONDS: '30',
  LOGIN_MAX_FAILURES_PER_IP: '6',
});

test('health answers ok while Redis is up', async () => {
  const response = await fixture.app.inject({ method: 'GET', url: '/api/health' });
  assert.is(response.statusCode, 200);
  assert.equal(response.json(), { status: 'ok', redis: 'ok' });
});

test('login with the right password returns the user and an HttpOnly SameSite=Strict session cookie', async () => {
  const password = await createUser(fixture.app, 'anna@clinic.example', 'employee');
  const response = await login(fixture.app, 'Anna@Clinic.Example', password);
  assert.is(response.statusCode, 200);
  const body = response.json<SessionInfo>();
  assert.is(body.user.email, 'anna@clinic.example');
  assert.is(body.user.role, 'employee');
  assert.ok(body.csrfToken.length >= 32);
  assert.not.ok('passwordHash' in body.user, 'the hash never leaves the server');
  const cookie = response.cookies.find((c) => c.name === SESSION_COOKIE);
  assert.ok(cookie, 'a session cookie is set');
  assert.is(cookie.httpOnly, true);
  assert.is(cookie.sameSite, 'Strict');
  assert.is(cookie.path, '/');

  const me = await fixture.app.inject({ method: 'GET', url: '/api/me', cookies: { [SESSION_COOKIE]: cookie.value } });
  assert.is(me.statusCode, 200);
  assert.is(me.json<SessionInfo>().user.email, 'anna@clinic.example');
  assert.is(me.json<SessionInfo>().csrfToken, body.csrfToken);
});

test('a wrong password and an unknown email both get 401 with the same message', async () => {
  await createUser(fixture.app, 'anna@clinic.example', 'employee');
  const wrong = await login(fixture.app, 'anna@clinic.example', 'not the password');
  const unknown = await login(fixture.app, 'nobody@clinic.example', 'not the password');
  assert.is(wrong.statusCode, 401);
  assert.is(unknown.statusCode, 401);
  assert.is(wrong.json<ApiError>().message, 'Wrong email or password.');
  assert.is(unknown.json<ApiError>().message, 'Wrong email or password.');
  assert.is(wrong.cookies.length, 0);
});

test('past the free attempts an account waits from that address (429 with Retry-After), even for the right password', async () => {
  const password = await createUser(fixture.app, 'anna@clinic.example', 'employee');
  await createUser(fixture.app, 'ben@clinic.example', 'employee', 'bens own password');
  for (let i = 0; i < 3; i += 1)
    assert.is((await login(fixture.app, 'anna@clinic.example', `guess ${i}`)).statusCode, 401);
  const delayed = await login(fixture.app, 'anna@clinic.example', password);
  assert.is(delayed.statusCode, 429);
  assert.match(
    delayed.json<ApiError>().message,
    /^Too many failed logins for this account\. Try again in \d+ seconds\.$/,
  );
  const retryAfter = Number(delayed.headers['retry-after']);
  assert.ok(retryAfter > 25 && retryAfter <= 30, `Retry-After is the first delay, got ${retryAfter}`);
  assert.is(delayed.cookies.length, 0, 'no session while waiting');
  // Another account on the same address is not affected by Anna's delay.
  assert.is((await login(fixture.app, 'ben@clinic.example', 'bens own password')).statusCode, 200);
});

test('failures spread over many accounts from one address lock that address', async () => {
  const password = await createUser(fixture.app, 'anna@clinic.example', 'employee');
  for (let i = 0; i < 6; i += 1)
    assert.is((await login(fixture.app, `user${i}@clinic.example`, 'guess')).statusCode, 401);
  const refused = await login(fixture.app, 'anna@clinic.example', password);
  assert.is(refused.statusCode, 429);
  assert.match(refused.json<ApiError>().message, /from this network/);
});

test('a successful login forgets earlier failures of that account', async () => {
  const password = await createUser(fixture.app, 'anna@clinic.example', 'employee');
  for (let i = 0; i < 2; i += 1) await login(fixture.app, 'anna@clinic.example', 'guess');
  assert.is((await login(fixture.app, 'anna@clinic.example', password)).statusCode, 200);
  for (let i = 0; i < 2; i += 1) await login(fixture.app, 'anna@clinic.example', 'guess');
  assert.is((await login(fixture.app, 'anna@clinic.example', password)).statusCode, 200);
});

test('login renews the session id and ends the session it replaces', async () => {
  const password = await createUser(fixture.app, 'anna@clinic.example', 'employee');
  const first = sessionCookie(await login(fixture.app, 'anna@clinic.example', password));
  const second = sessionCookie(await login(fixture.app, 'anna@clinic.example', password, first));
  assert.is.not(second, first);
  const old = await fixture.app.inject({ method: 'GET', url: '/api/me', cookies: { [SESSION_COOKIE]: first } });
  assert.is(old.statusCode, 401);
  const current = await fixture.app.inject({ method: 'GET', url: '/api/me', cookies: { [SESSION_COOKIE]: second } });
  assert.is(current.statusCode, 200);
});

test('logout destroys the session on the server and clears the cookie', async () => {
  const password = await createUser(fixture.app, 'anna@clinic.example', 'employee');
  const anna = await loginOk(fixture.app, 'anna@clinic.example', password);
  assert.is((await fixture.db.keys('session:*')).length, 1);
  const response = await asUser(fixture.app, anna, 'POST', '/api/auth/logout');
  assert.is(response.statusCode, 204);
  const cleared = response.cookies.find((c) => c.name === SESSION_COOKIE);
  assert.is(cleared?.value, '');
  assert.is((await fixture.db.keys('session:*')).length, 0, 'nothing of the session is left in Redis');
  const after = await fixture.app.inject({ method: 'GET', url: '/api/me', cookies: { [SESSION_COOKIE]: anna.cookie } });
  assert.is(after.statusCode, 401);
  assert.is(after.json<ApiError>().message, 'Your session has ended. Please log in again.');
});

test('Redis stores only a digest of the session id, never the cookie value', async () => {
  const password = await createUser(fixture.app, 'anna@clinic.example', 'employee');
  const anna = await loginOk(fixture.app, 'anna@clinic.example', password);
  const keys = await fixture.db.keys('session:*');
  assert.is(keys.length, 1);
  assert.not.ok(keys[0]?.includes(anna.cookie));
});

test('a session past its maximum age is refused and removed', async () => {
  const password = await createUser(fixture.app, 'anna@clinic.example', 'employee');
  const anna = await loginOk(fixture.app, 'anna@clinic.example', password);
  const [key] = await fixture.db.keys('session:*');
  await fixture.db.hset(key!, 'createdAt', String(Date.now() - 13 * 3_600_000));
  const response = await asUser(fixture.app, anna, 'GET', '/api/me');
  assert.is(response.statusCode, 401);
  assert.is(await fixture.db.exists(key!), 0);
});

test('a state-changing request without the CSRF token is refused and changes nothing', async () => {
  const password = await createUser(fixture.app, 'anna@clinic.example', 'employee');
  const anna = await loginOk(fixture.app, 'anna@clinic.example', password);
  const missing = await fixture.app.inject({
    method: 'POST',
    url: '/api/auth/logout',
    cookies: { [SESSION_COOKIE]: anna.cookie },
  });
  assert.is(missing.statusCode, 403);
  assert.match(missing.json<ApiError>().message, /CSRF token/);
  const wrong = await fixture.app.inject({
    method: 'POST',
    url: '/api/auth/logout',
    cookies: { [SESSION_COOKIE]: anna.cookie },
    headers: { [CSRF_HEADER]: 'x'.repeat(43) },
  });
  assert.is(wrong.statusCode, 403);
  assert.is((await asUser(fixture.app, anna, 'GET', '/api/me')).statusCode, 200, 'the session survived both attempts');
});

test('a request from a foreign origin is refused, login included', async () => {
  const password = await createUser(fixture.app, 'anna@clinic.example', 'employee');
  const forged = await fixture.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers: { origin: 'https://evil.example' },
    payload: { email: 'anna@clinic.example', password },
  });
  assert.is(forged.statusCode, 403);
  assert.is(forged.json<ApiError>().message, 'Cross-site request refused.');
  const sameOrigin = await fixture.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers: { origin: 'http://localhost:80', host: 'localhost:80' },
    payload: { email: 'anna@clinic.example', password },
  });
  assert.is(sameOrigin.statusCode, 200);
});

test('bad login bodies get 400 (or 413/415) with a message naming the problem', async () => {
  const cases: Array<{ payload: string; type?: string; status: number; message: RegExp }> = [
    { payload: '{"email":"anna@clinic.example"}', status: 400, message: /password/ },
    { payload: '{"email":"not-an-email","password":"x"}', status: 400, message: /email/ },
    {
      payload: '{"email":"anna@clinic.example","password":"x","admin":true}',
      status: 400,
      message: /additional properties/,
    },
    { payload: '{"email":', status: 400, message: /not valid JSON/ },
    { payload: '', status: 400, message: /empty/ },
    { payload: 'email=a&password=b', type: 'application/x-www-form-urlencoded', status: 415, message: /JSON/ },
    {
      payload: JSON.stringify({ email: 'a@b.example', password: 'x'.repeat(70_000) }),
      status: 413,
      message: /too large/,
    },
  ];
  for (const c of cases) {
    const response = await fixture.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': c.type ?? 'application/json' },
      payload: c.payload,
    });
    assert.is(response.statusCode, c.status, `${c.payload.slice(0, 40)} → ${response.body}`);
    assert.match(response.json<ApiError>().message, c.message);
  }
});

test('an unknown API path is a JSON 404, and without a session the API says to log in', async () => {
  const anonymous = await fixture.app.inject({ method: 'GET', url: '/api/me' });
  assert.is(anonymous.statusCode, 401);
  assert.is(anonymous.json<ApiError>().message, 'Please log in.');
  const password = await createUser(fixture.app, 'anna@clinic.example', 'employee');
  const anna = await loginOk(fixture.app, 'anna@clinic.example', password);
  const missing = await asUser(fixture.app, anna, 'GET', '/api/nothing-here');
  assert.is(missing.statusCode, 404);
  assert.match(missing.json<ApiError>().message, /No such resource/);
});

test.run();
