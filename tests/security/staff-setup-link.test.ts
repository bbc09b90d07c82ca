/**
 * An attacker against the setup link (docs/managers.md, "Staff"; docs/security.md): a link used
 * already, one that expired, a forged token, the link of a user who was disabled since, a request from
 * another site, and a session planted before the link was used. Each is refused with the one message
 * that says nothing about why, and nothing changes.
 */
import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SESSION_COOKIE, type ApiError, type CreatedUser } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { asUser, createUser, login, loginOk, sessionCookie, useFreshApp, type LoggedIn } from '../helpers/signaling.js';
import { waitFor } from '../helpers/wait.js';

const fixture = useFreshApp(test);
const PASSWORD = 'a password of my own';
const INVALID = 'This setup link is not valid any more: it was used, or it expired. Ask a manager for a new one.';

let maria: LoggedIn;
let ben: CreatedUser;

test.before.each(async () => {
  await createUser(fixture.app, 'maria@clinic.example', 'manager');
  maria = await loginOk(fixture.app, 'maria@clinic.example', 'correct horse battery');
  const response = await asUser(fixture.app, maria, 'POST', '/api/users', {
    email: 'ben@clinic.example',
    displayName: 'Ben Reception',
    role: 'employee',
  });
  ben = response.json<CreatedUser>();
});

const setUp = (token: string, headers: Record<string, string> = {}, cookies: Record<string, string> = {}) =>
  fixture.app.inject({
    method: 'POST',
    url: '/api/auth/setup',
    payload: { token, password: PASSWORD },
    headers,
    cookies,
  });

const passwordHash = async (): Promise<string | undefined> => (await fixture.app.users.get(ben.id))?.passwordHash;

async function refused(token: string, why: string): Promise<void> {
  const before = await passwordHash();
  const response = await setUp(token);
  assert.is(response.statusCode, 400, why);
  assert.is(response.json<ApiError>().message, INVALID, why);
  assert.is(response.cookies.length, 0, `${why}: no session`);
  assert.is(await passwordHash(), before, `${why}: no password set`);
}

test('forged tokens: random, empty-looking, the link with a character changed, a session id', async () => {
  await refused('A'.repeat(43), 'a random token of the right shape');
  await refused('x', 'a short one');
  const last = ben.setupToken!.at(-1) === 'A' ? 'B' : 'A';
  await refused(`${ben.setupToken!.slice(0, -1)}${last}`, 'one character changed');
  await refused(maria.cookie, "the manager's session id");
  const digest = createHash('sha256').update(ben.setupToken!).digest('base64url');
  await refused(digest, 'the digest Redis keeps, sent as the token');
  assert.is((await setUp(ben.setupToken!)).statusCode, 200, 'the real link still works');
  assert.is((await login(fixture.app, 'ben@clinic.example', PASSWORD)).statusCode, 200);
});

test('a used link does not work a second time, whoever sends it', async () => {
  assert.is((await setUp(ben.setupToken!)).statusCode, 200);
  const second = await fixture.app.inject({
    method: 'POST',
    url: '/api/auth/setup',
    payload: { token: ben.setupToken!, password: 'the attacker password' },
  });
  assert.is(second.statusCode, 400);
  assert.is((await login(fixture.app, 'ben@clinic.example', 'the attacker password')).statusCode, 401);
  assert.is((await login(fixture.app, 'ben@clinic.example', PASSWORD)).statusCode, 200);
});

test('two uses at the same time: one wins, the other is refused', async () => {
  const [a, b] = await Promise.all([setUp(ben.setupToken!), setUp(ben.setupToken!)]);
  assert.equal([a.statusCode, b.statusCode].sort(), [200, 400]);
});

test('an expired link is refused', async () => {
  const key = RedisKeys.setupToken(createHash('sha256').update(ben.setupToken!).digest('base64url'));
  const ttl = await fixture.db.pttl(key);
  assert.ok(ttl > 71 * 3_600_000 && ttl <= 72 * 3_600_000, `expires after 72 hours (${ttl} ms)`);
  await fixture.db.pexpire(key, 1);
  await waitFor('the link expired', async () => (await fixture.db.exists(key)) === 0);
  await refused(ben.setupToken!, 'expired');
});

test('the link of a user disabled since does not work, nor after they were enabled again', async () => {
  assert.is((await asUser(fixture.app, maria, 'POST', `/api/users/${ben.id}/disable`)).statusCode, 200);
  await refused(ben.setupToken!, 'disabled');
  assert.is((await asUser(fixture.app, maria, 'POST', `/api/users/${ben.id}/enable`)).statusCode, 200);
  await refused(ben.setupToken!, 'disabling voided the link');
});

test('from another site: a foreign Origin or a cross-site fetch is refused before the link is looked at', async () => {
  const foreign: Record<string, string>[] = [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }];
  for (const headers of foreign) {
    const response = await setUp(ben.setupToken!, headers);
    assert.is(response.statusCode, 403, JSON.stringify(headers));
    assert.is(response.json<ApiError>().message, 'Cross-site request refused.');
  }
  assert.is((await setUp(ben.setupToken!)).statusCode, 200, 'the link was not used up');
});

test('a session planted before the link is used is ended, and Ben gets a new one', async () => {
  const planted = maria.cookie;
  const response = await setUp(ben.setupToken!, {}, { [SESSION_COOKIE]: planted });
  assert.is(response.statusCode, 200);
  assert.is.not(sessionCookie(response), planted);
  assert.is((await asUser(fixture.app, maria, 'GET', '/api/me')).statusCode, 401);
});

test('bad bodies: no token, extra fields, a huge token', async () => {
  for (const payload of [
    { password: PASSWORD },
    { token: ben.setupToken!, password: PASSWORD, userId: maria.info.user.id },
    { token: 'x'.repeat(10_000), password: PASSWORD },
    { token: ben.setupToken!, password: PASSWORD, role: 'manager' },
  ]) {
    const response = await fixture.app.inject({ method: 'POST', url: '/api/auth/setup', payload });
    assert.is(response.statusCode, 400, JSON.stringify(payload).slice(0, 80));
  }
  assert.is((await fixture.app.users.findByEmail('ben@clinic.example'))?.role, 'employee');
});

test.run();
