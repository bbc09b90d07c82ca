/**
 * The distribution settings' routes (docs/managers.md, "Distribution") as an attacker and a careless
 * manager would use them, against signaling and a real Redis: GET/PUT /api/settings/distribution are
 * managers' only (an employee gets 403, no session 401, a PUT without the CSRF token or from a
 * foreign Origin 403, other spellings of the path never reach the settings); bad bodies and numbers
 * out of range are refused 400, and the stored settings stay as they were.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CSRF_HEADER,
  DEFAULT_DISTRIBUTION,
  SESSION_COOKIE,
  type ApiError,
  type DistributionSettings,
} from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { asUser, createUser, loginOk, useFreshApp, type LoggedIn } from '../helpers/signaling.js';

const fixture = useFreshApp(test);
let maria: LoggedIn;
let anna: LoggedIn;
const URL = '/api/settings/distribution';

const stored = async (): Promise<Record<string, string>> => fixture.db.hgetall(RedisKeys.distribution);

function clinicSettings(): DistributionSettings {
  return {
    strategy: 'fixed-order',
    fixedOrder: [anna.info.user.id, maria.info.user.id],
    wrapUpSeconds: 10,
    autoPauseAfter: 2,
    ringTimeoutSeconds: 15,
  };
}

test.before.each(async () => {
  const { app } = fixture;
  maria = await loginOk(app, 'maria@clinic.example', await createUser(app, 'maria@clinic.example', 'manager'));
  anna = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
});

test('a manager reads the defaults, saves settings, and reads them back; the sip app reads the same from Redis', async () => {
  const { app } = fixture;
  const got = await asUser(app, maria, 'GET', URL);
  assert.is(got.statusCode, 200, got.body);
  assert.equal(got.json<DistributionSettings>(), DEFAULT_DISTRIBUTION);
  assert.equal(await stored(), {}, 'reading stores nothing');

  const settings = clinicSettings();
  const put = await asUser(app, maria, 'PUT', URL, settings);
  assert.is(put.statusCode, 200, put.body);
  assert.equal(put.json<DistributionSettings>(), settings);
  assert.equal((await asUser(app, maria, 'GET', URL)).json<DistributionSettings>(), settings);
  assert.equal(await app.distribution.get(), settings);

  // Without a ring timeout: back to the sip app's RING_TIMEOUT_SECONDS.
  const { ringTimeoutSeconds: _timeout, ...noTimeout } = settings;
  assert.is((await asUser(app, maria, 'PUT', URL, noTimeout)).statusCode, 200);
  assert.equal(await app.distribution.get(), noTimeout);
  assert.is((await stored())['ringTimeoutSeconds'], undefined);
});

test('employees get 403, no session 401, no CSRF token or a foreign Origin 403; nothing is stored', async () => {
  const { app } = fixture;
  const settings = clinicSettings();
  for (const method of ['GET', 'PUT'] as const) {
    const employee = await asUser(app, anna, method, URL, method === 'PUT' ? settings : undefined);
    assert.is(employee.statusCode, 403, `${method} as an employee: ${employee.body}`);
    const anonymous = await app.inject({ method, url: URL, ...(method === 'PUT' ? { payload: settings } : {}) });
    assert.is(anonymous.statusCode, 401, `${method} without a session`);
  }
  const cookies = { [SESSION_COOKIE]: maria.cookie };
  const noCsrf = await app.inject({ method: 'PUT', url: URL, payload: settings, cookies });
  assert.is(noCsrf.statusCode, 403, 'no CSRF token');
  const foreign = await app.inject({
    method: 'PUT',
    url: URL,
    payload: settings,
    cookies,
    headers: { [CSRF_HEADER]: maria.info.csrfToken, origin: 'https://evil.example' },
  });
  assert.is(foreign.statusCode, 403, 'a foreign Origin');
  const wrongToken = await app.inject({
    method: 'PUT',
    url: URL,
    payload: settings,
    cookies,
    headers: { [CSRF_HEADER]: anna.info.csrfToken },
  });
  assert.is(wrongToken.statusCode, 403, "another session's CSRF token");
  assert.equal(await stored(), {}, 'nothing was stored');
});

test('other spellings of the path never let an employee or a stranger read or change the settings', async () => {
  const { app } = fixture;
  const settings = clinicSettings();
  for (const url of [
    '/api/settings/distribution/',
    '/api/settings//distribution',
    '/api/settings/./distribution',
    '/api/settings/x/../distribution',
    '/api/settings/Distribution',
    '/api/settings/distributio%6e',
    '/api/settings%2fdistribution',
    '/api/settings/distribution;x=1',
    '/api/settings/distribution?x=1',
    '/API/settings/distribution',
  ]) {
    for (const method of ['GET', 'PUT'] as const) {
      const employee = await asUser(app, anna, method, url, method === 'PUT' ? settings : undefined);
      assert.ok([403, 404].includes(employee.statusCode), `${method} ${url} as an employee: ${employee.statusCode}`);
      const anonymous = await app.inject({ method, url, ...(method === 'PUT' ? { payload: settings } : {}) });
      assert.ok([401, 404].includes(anonymous.statusCode), `${method} ${url} anonymous: ${anonymous.statusCode}`);
    }
  }
  assert.equal(await stored(), {}, 'nothing was stored');
});

test('bad bodies and numbers out of range are refused 400; the stored settings are unchanged', async () => {
  const { app } = fixture;
  const good = clinicSettings();
  assert.is((await asUser(app, maria, 'PUT', URL, good)).statusCode, 200);
  const before = await stored();
  const bodies: Array<[string, unknown]> = [
    ['an empty object', {}],
    ['a list', [good]],
    ['an unknown field', { ...good, extra: true }],
    ['an unknown strategy', { ...good, strategy: 'round-robin' }],
    ['ring-all, not built', { ...good, strategy: 'ring-all' }],
    ['a negative wrap-up', { ...good, wrapUpSeconds: -1 }],
    ['a wrap-up of 601 s', { ...good, wrapUpSeconds: 601 }],
    ['a wrap-up of 1.5 s', { ...good, wrapUpSeconds: 1.5 }],
    ['auto-pause after 21 rings', { ...good, autoPauseAfter: 21 }],
    ['auto-pause after -1 rings', { ...good, autoPauseAfter: -1 }],
    ['a ring timeout of 1 s', { ...good, ringTimeoutSeconds: 1 }],
    ['a ring timeout of 61 s', { ...good, ringTimeoutSeconds: 61 }],
    ['a ring timeout of null', { ...good, ringTimeoutSeconds: null }],
    ['someone twice in the order', { ...good, fixedOrder: [anna.info.user.id, anna.info.user.id] }],
    ['an empty id in the order', { ...good, fixedOrder: [''] }],
    ['a user who does not exist', { ...good, fixedOrder: ['ghost'] }],
    ['501 names in the order', { ...good, fixedOrder: Array.from({ length: 501 }, (_, i) => `u${i}`) }],
  ];
  for (const [what, body] of bodies) {
    const response = await asUser(app, maria, 'PUT', URL, body as object);
    assert.is(response.statusCode, 400, `${what}: ${response.body}`);
  }
  const ghost = await asUser(app, maria, 'PUT', URL, { ...good, fixedOrder: ['ghost'] });
  assert.is(ghost.json<ApiError>().message, 'The fixed order names ghost, who is not a user.');
  const notJson = await app.inject({
    method: 'PUT',
    url: URL,
    payload: '{"strategy":',
    headers: { 'content-type': 'application/json', [CSRF_HEADER]: maria.info.csrfToken },
    cookies: { [SESSION_COOKIE]: maria.cookie },
  });
  assert.is(notJson.statusCode, 400, 'not JSON');
  assert.equal(await stored(), before, 'the stored settings are unchanged');
});

test.run();
