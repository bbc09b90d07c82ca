/**
 * GET /api/queues (docs/call-plan.md, "Queues"), the queue names for the board's filter, as an
 * attacker would use it, against signaling and a real Redis: everyone logged in reads the queues'
 * ids and names and nothing else of the plan (not who belongs to which queue, not the music, not the
 * keys); no session, a logged-out or disabled session gets 401; no other method or spelling of the
 * path reads the plan or changes it; a foreign Origin gets no CORS grant.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_CALL_PLAN, SESSION_COOKIE, type CallPlan, type QueueList } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { asUser, createUser, loginOk, useFreshApp, type LoggedIn } from '../helpers/signaling.js';

const fixture = useFreshApp(test);
let maria: LoggedIn;
let anna: LoggedIn;

/** Two queues; Anna takes the test results, with a manager's own hold music. */
function twoQueues(): CallPlan {
  return {
    ...structuredClone(DEFAULT_CALL_PLAN),
    queues: [
      { id: 'appointments', name: 'Appointments', digit: '1', memberIds: [], musicId: null },
      { id: 'results', name: 'Test results', digit: '2', memberIds: [anna.info.user.id], musicId: 'music-7f3a' },
    ],
  };
}

const NAMES: QueueList = {
  queues: [
    { id: 'appointments', name: 'Appointments' },
    { id: 'results', name: 'Test results' },
  ],
};

const stored = async (): Promise<string | null> => fixture.db.get(RedisKeys.callPlan);

test.before.each(async () => {
  const { app } = fixture;
  maria = await loginOk(app, 'maria@clinic.example', await createUser(app, 'maria@clinic.example', 'manager'));
  anna = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
});

test("an employee reads the queues' ids and names in the plan's order, and nothing else of the plan", async () => {
  const { app } = fixture;
  const first = await asUser(app, anna, 'GET', '/api/queues');
  assert.is(first.statusCode, 200, first.body);
  assert.equal(first.json<QueueList>(), { queues: [{ id: 'main', name: 'Reception' }] }, 'the default plan');

  assert.is((await asUser(app, maria, 'PUT', '/api/settings/call-plan', twoQueues())).statusCode, 200);
  for (const who of [anna, maria]) {
    const response = await asUser(app, who, 'GET', '/api/queues');
    assert.is(response.statusCode, 200, response.body);
    assert.equal(response.json<QueueList>(), NAMES);
    for (const secret of [anna.info.user.id, 'music-7f3a', 'memberIds', 'digit', 'hours', 'maxWaitSeconds'])
      assert.not.ok(response.body.includes(secret), `the answer does not carry ${secret}: ${response.body}`);
  }
});

test('no session, a logged-out session, a disabled user or a forged cookie gets 401', async () => {
  const { app } = fixture;
  assert.is((await asUser(app, maria, 'PUT', '/api/settings/call-plan', twoQueues())).statusCode, 200);
  const anonymous = await app.inject({ method: 'GET', url: '/api/queues' });
  assert.is(anonymous.statusCode, 401, anonymous.body);
  assert.not.ok(anonymous.body.includes('Test results'));
  const forged = await app.inject({ method: 'GET', url: '/api/queues', cookies: { [SESSION_COOKIE]: 'x'.repeat(43) } });
  assert.is(forged.statusCode, 401, 'a forged cookie');

  const ben = await loginOk(app, 'ben@clinic.example', await createUser(app, 'ben@clinic.example', 'employee'));
  assert.is((await asUser(app, ben, 'POST', '/api/auth/logout')).statusCode, 204);
  assert.is((await asUser(app, ben, 'GET', '/api/queues')).statusCode, 401, 'logged out');

  assert.is((await asUser(app, maria, 'POST', `/api/users/${anna.info.user.id}/disable`)).statusCode, 200);
  assert.is((await asUser(app, anna, 'GET', '/api/queues')).statusCode, 401, 'disabled');
});

test('other methods and spellings of the path neither read the plan for a stranger nor change it', async () => {
  const { app } = fixture;
  assert.is((await asUser(app, maria, 'PUT', '/api/settings/call-plan', twoQueues())).statusCode, 200);
  const before = await stored();
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
    const response = await asUser(app, maria, method, '/api/queues', { queues: [] });
    assert.is(response.statusCode, 404, `${method} /api/queues: ${response.statusCode}`);
  }
  for (const url of [
    '/api/queues/',
    '/api//queues',
    '/api/./queues',
    '/api/x/../queues',
    '/api/Queues',
    '/API/queues',
    '/api/queue%73',
    '/api/queues;x=1',
    '/api/queues?x=1',
    '/api/queues/main',
    '/api/queues/..%2fsettings%2fcall-plan',
    '/api/queues/../settings/call-plan',
  ]) {
    const anonymous = await app.inject({ method: 'GET', url });
    assert.ok([401, 404].includes(anonymous.statusCode), `GET ${url} anonymous: ${anonymous.statusCode}`);
    assert.not.ok(anonymous.body.includes('Test results'), `GET ${url} anonymous: ${anonymous.body}`);
    const employee = await asUser(app, anna, 'GET', url);
    assert.not.ok(employee.body.includes('memberIds'), `GET ${url} as an employee: ${employee.body}`);
    assert.not.ok(employee.body.includes(anna.info.user.id), `GET ${url} as an employee: ${employee.body}`);
  }
  assert.is(await stored(), before, 'the plan is unchanged');
});

test('a foreign Origin gets no CORS grant: a page elsewhere cannot read the queues with the session', async () => {
  const { app } = fixture;
  const response = await app.inject({
    method: 'GET',
    url: '/api/queues',
    cookies: { [SESSION_COOKIE]: anna.cookie },
    headers: { origin: 'https://evil.example' },
  });
  assert.is(response.headers['access-control-allow-origin'], undefined);
  assert.is(response.headers['access-control-allow-credentials'], undefined);
  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/api/queues',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
  });
  assert.is(preflight.headers['access-control-allow-origin'], undefined);
});

test('a stored plan that no longer fits the schema answers the default queue, not its contents', async () => {
  const { app, db } = fixture;
  await db.set(RedisKeys.callPlan, JSON.stringify({ queues: [{ id: 'x', name: '<script>', memberIds: ['u'] }] }));
  const response = await asUser(app, anna, 'GET', '/api/queues');
  assert.is(response.statusCode, 200, response.body);
  assert.equal(response.json<QueueList>(), { queues: [{ id: 'main', name: 'Reception' }] });
});

test.run();
