/**
 * An attacker against the Staff routes (docs/managers.md, "Staff"): an employee promoting themselves
 * or acting on another user's id, other spellings of the paths, no session, a missing CSRF token or a
 * foreign Origin, and bad bodies. Every one is refused and nothing changes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CSRF_HEADER, SESSION_COOKIE, type ApiError } from '@deskline/protocol';
import { Staff } from '../helpers/staff.js';
import { asUser, createUser, loginOk, useFreshApp, type LoggedIn } from '../helpers/signaling.js';

const fixture = useFreshApp(test);

let maria: LoggedIn;
let anna: LoggedIn;
let annaId: string;
let mariaId: string;

test.before.each(async () => {
  await createUser(fixture.app, 'maria@clinic.example', 'manager');
  await createUser(fixture.app, 'anna@clinic.example', 'employee');
  maria = await loginOk(fixture.app, 'maria@clinic.example', 'correct horse battery');
  anna = await loginOk(fixture.app, 'anna@clinic.example', 'correct horse battery');
  annaId = anna.info.user.id;
  mariaId = maria.info.user.id;
});

async function nothingChanged(): Promise<void> {
  assert.is((await fixture.app.users.get(annaId))?.role, 'employee');
  assert.is((await fixture.app.users.get(mariaId))?.disabled, false);
  assert.is((await asUser(fixture.app, maria, 'GET', '/api/me')).statusCode, 200, "Maria's session lives");
}

test("an employee cannot promote themselves, nor reset, disable or force off another user's id", async () => {
  for (const [method, url, body] of [
    ['PUT', `/api/users/${annaId}/role`, { role: 'manager' }],
    ['POST', `/api/users/${mariaId}/password`, { setup: 'link' }],
    ['POST', `/api/users/${annaId}/password`, { setup: 'password' }],
    ['POST', `/api/users/${mariaId}/disable`, undefined],
    ['POST', `/api/users/${mariaId}/force-off`, undefined],
  ] as const) {
    const response = await asUser(fixture.app, anna, method, url, body);
    assert.is(response.statusCode, 403, `${method} ${url}`);
  }
  await nothingChanged();
});

test('other spellings of the paths meet the same guard', async () => {
  const spellings = [
    `/%61pi/users/${annaId}/role`,
    `/api/%75sers/${annaId}/role`,
    `/api/users/${annaId}/%72ole`,
    `//api/users/${annaId}/role`,
    `/api/users/${annaId}/role?x=1`,
  ];
  for (const url of spellings) {
    const response = await asUser(fixture.app, anna, 'PUT', url, { role: 'manager' });
    assert.ok([403, 404].includes(response.statusCode), `${url}: ${response.statusCode}`);
  }
  for (const url of [`/API/users/${annaId}/role`, `/api/users/${annaId}/role/`, `/api/users/${annaId}/ROLE`]) {
    const response = await asUser(fixture.app, anna, 'PUT', url, { role: 'manager' });
    assert.ok([403, 404].includes(response.statusCode), `${url}: ${response.statusCode}`);
  }
  await nothingChanged();
});

test('no session: 401 for every Staff route', async () => {
  for (const [method, url] of [
    ['PUT', `/api/users/${annaId}/role`],
    ['POST', `/api/users/${annaId}/enable`],
    ['POST', `/api/users/${annaId}/password`],
    ['POST', `/api/users/${annaId}/force-off`],
  ] as const) {
    const response = await fixture.app.inject({ method, url, payload: { role: 'manager', setup: 'link' } });
    assert.is(response.statusCode, 401, `${method} ${url}`);
  }
  await nothingChanged();
});

test("CSRF: a manager's session without its token, or from a foreign Origin, changes nothing", async () => {
  const staff = new Staff(fixture.db);
  const workstation = await staff.workstation('Reception 1');
  await staff.available(annaId, workstation.id);
  const cases = [
    { headers: {}, why: 'no token' },
    { headers: { [CSRF_HEADER]: anna.info.csrfToken }, why: "another session's token" },
    { headers: { [CSRF_HEADER]: maria.info.csrfToken, origin: 'https://evil.example' }, why: 'foreign Origin' },
  ];
  for (const { headers, why } of cases) {
    for (const [method, url, payload] of [
      ['PUT', `/api/users/${annaId}/role`, { role: 'manager' }],
      ['POST', `/api/users/${annaId}/password`, { setup: 'password' }],
      ['POST', `/api/users/${annaId}/force-off`, undefined],
    ] as const) {
      const response = await fixture.app.inject({
        method,
        url,
        cookies: { [SESSION_COOKIE]: maria.cookie },
        headers,
        ...(payload ? { payload } : {}),
      });
      assert.is(response.statusCode, 403, `${why}: ${method} ${url}`);
    }
  }
  await nothingChanged();
  assert.is((await staff.agent(annaId)).state, 'available', 'still on her workstation');
  assert.is((await asUser(fixture.app, anna, 'GET', '/api/me')).statusCode, 200, "Anna's session lives");
});

test('bad bodies and ids: 400, with nothing changed', async () => {
  for (const [method, url, payload] of [
    ['PUT', `/api/users/${annaId}/role`, { role: 'admin' }],
    ['PUT', `/api/users/${annaId}/role`, { role: 'manager', disabled: false }],
    ['PUT', `/api/users/not-a-uuid/role`, { role: 'manager' }],
    ['POST', `/api/users/${annaId}/password`, { setup: 'email' }],
    ['POST', `/api/users/${annaId}/password`, { setup: 'password', password: 'chosen by the manager' }],
    ['POST', '/api/users', { email: 'eve@clinic.example', displayName: 'Eve', role: 'manager', setup: 'sms' }],
    ['POST', '/api/users', { email: 'not an email', displayName: 'Eve', role: 'employee' }],
  ] as const) {
    const response = await asUser(fixture.app, maria, method, url, payload);
    assert.is(response.statusCode, 400, `${method} ${url} ${JSON.stringify(payload)}: ${response.body}`);
    assert.type(response.json<ApiError>().message, 'string');
  }
  await nothingChanged();
  assert.is(await fixture.app.users.count(), 2);
});

test.run();
