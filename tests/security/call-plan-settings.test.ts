/**
 * The call plan's routes as an attacker and a careless manager would use them (docs/call-plan.md,
 * "For clinic IT"), against signaling and a real Redis: GET/PUT /api/settings/call-plan and GET
 * /api/settings/call-plan/preview are managers' only (an employee gets 403, no session 401, a PUT
 * without the CSRF token or from a foreign Origin 403, other spellings of the path never reach the
 * plan); a bad, oversized or inconsistent plan is refused 400 with the problems in words, and the
 * stored plan stays as it was.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CSRF_HEADER,
  DEFAULT_CALL_PLAN,
  SESSION_COOKIE,
  type ApiError,
  type CallPlan,
  type CallPlanPreview,
  type CallPlanResponse,
} from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { asUser, createUser, loginOk, useFreshApp, type LoggedIn } from '../helpers/signaling.js';

const TIME_ZONE = 'Europe/Warsaw';
const fixture = useFreshApp(test, { CLINIC_TIME_ZONE: TIME_ZONE });
let maria: LoggedIn;
let anna: LoggedIn;

const weekdays = (start: string, end: string): CallPlan['hours'] => ({
  mon: [{ start, end }],
  tue: [{ start, end }],
  wed: [{ start, end }],
  thu: [{ start, end }],
  fri: [{ start, end }],
  sat: [],
  sun: [],
});

/** A clinic's plan: Mon–Fri 08:00–16:00, a holiday next year, two queues (Anna takes test results). */
function clinicPlan(): CallPlan {
  const year = new Date().getUTCFullYear() + 1;
  return {
    ...structuredClone(DEFAULT_CALL_PLAN),
    hours: weekdays('08:00', '16:00'),
    closures: [{ from: `${year}-12-25`, to: `${year}-12-26`, kind: 'holiday', reason: 'Christmas' }],
    closedAction: 'voicemail',
    announcements: { intervalSeconds: 30, expectedWait: true, offerCallback: false },
    queues: [
      { id: 'appointments', name: 'Appointments', digit: '1', memberIds: [], musicId: null },
      { id: 'results', name: 'Test results', digit: '2', memberIds: [anna.info.user.id], musicId: null },
    ],
    maxWaitSeconds: 600,
  };
}

const stored = async (): Promise<string | null> => fixture.db.get(RedisKeys.callPlan);

test.before.each(async () => {
  const { app } = fixture;
  maria = await loginOk(app, 'maria@clinic.example', await createUser(app, 'maria@clinic.example', 'manager'));
  anna = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
});

test('a manager reads the default plan, saves one, and reads it back; the sip app would see it in Redis', async () => {
  const { app } = fixture;
  const got = await asUser(app, maria, 'GET', '/api/settings/call-plan');
  assert.is(got.statusCode, 200, got.body);
  assert.equal(got.json<CallPlanResponse>(), { plan: DEFAULT_CALL_PLAN, timeZone: TIME_ZONE });
  assert.is(await stored(), null, 'reading stores nothing');

  const plan = clinicPlan();
  const put = await asUser(app, maria, 'PUT', '/api/settings/call-plan', plan);
  assert.is(put.statusCode, 200, put.body);
  assert.equal(put.json<CallPlanResponse>().plan, plan);
  assert.equal((await asUser(app, maria, 'GET', '/api/settings/call-plan')).json<CallPlanResponse>().plan, plan);
  assert.equal(await app.callPlan.get(), plan);
});

test('employees get 403, no session 401, no CSRF token or a foreign Origin 403; the plan is unchanged', async () => {
  const { app } = fixture;
  const plan = clinicPlan();
  for (const [method, url] of [
    ['GET', '/api/settings/call-plan'],
    ['PUT', '/api/settings/call-plan'],
    ['GET', '/api/settings/call-plan/preview?at=2030-01-01T10:00'],
  ] as const) {
    const employee = await asUser(app, anna, method, url, method === 'PUT' ? plan : undefined);
    assert.is(employee.statusCode, 403, `${method} ${url} as an employee: ${employee.body}`);
    const anonymous = await app.inject({ method, url, ...(method === 'PUT' ? { payload: plan } : {}) });
    assert.is(anonymous.statusCode, 401, `${method} ${url} without a session`);
  }
  const noCsrf = await app.inject({
    method: 'PUT',
    url: '/api/settings/call-plan',
    payload: plan,
    cookies: { [SESSION_COOKIE]: maria.cookie },
  });
  assert.is(noCsrf.statusCode, 403, 'no CSRF token');
  const foreign = await app.inject({
    method: 'PUT',
    url: '/api/settings/call-plan',
    payload: plan,
    cookies: { [SESSION_COOKIE]: maria.cookie },
    headers: { [CSRF_HEADER]: maria.info.csrfToken, origin: 'https://evil.example' },
  });
  assert.is(foreign.statusCode, 403, 'a foreign Origin');
  const wrongToken = await app.inject({
    method: 'PUT',
    url: '/api/settings/call-plan',
    payload: plan,
    cookies: { [SESSION_COOKIE]: maria.cookie },
    headers: { [CSRF_HEADER]: anna.info.csrfToken },
  });
  assert.is(wrongToken.statusCode, 403, "another session's CSRF token");
  assert.is(await stored(), null, 'nothing was stored');
});

test('other spellings of the path never let an employee or a stranger read or change the plan', async () => {
  const { app } = fixture;
  const plan = clinicPlan();
  for (const url of [
    '/api/settings/call-plan/',
    '/api/settings//call-plan',
    '/api/settings/./call-plan',
    '/api/settings/x/../call-plan',
    '/api/settings/Call-Plan',
    '/api/settings/call%2dplan',
    '/api/settings%2fcall-plan',
    '/api/settings/call-plan;x=1',
    '/api/settings/call-plan?x=1',
    '/API/settings/call-plan',
  ]) {
    for (const method of ['GET', 'PUT'] as const) {
      const employee = await asUser(app, anna, method, url, method === 'PUT' ? plan : undefined);
      assert.ok([403, 404].includes(employee.statusCode), `${method} ${url} as an employee: ${employee.statusCode}`);
      const anonymous = await app.inject({ method, url, ...(method === 'PUT' ? { payload: plan } : {}) });
      assert.ok([401, 404].includes(anonymous.statusCode), `${method} ${url} anonymous: ${anonymous.statusCode}`);
    }
  }
  assert.is(await stored(), null, 'nothing was stored');
});

test('bad bodies are refused 400 and the stored plan is unchanged', async () => {
  const { app } = fixture;
  const good = clinicPlan();
  assert.is((await asUser(app, maria, 'PUT', '/api/settings/call-plan', good)).statusCode, 200);
  const before = await stored();
  const bodies: Array<[string, unknown]> = [
    ['an empty object', {}],
    ['a list', [good]],
    ['an unknown field', { ...good, extra: true }],
    ['a time of day 25:00', { ...good, hours: { ...good.hours, mon: [{ start: '08:00', end: '25:00' }] } }],
    ['a weekday that does not exist', { ...good, hours: { ...good.hours, funday: [] } }],
    ['no queue', { ...good, queues: [] }],
    ['ten queues', { ...good, queues: Array.from({ length: 10 }, (_, i) => ({ ...good.queues[0]!, id: `q${i}` })) }],
    ['a queue id with a slash', { ...good, queues: [{ ...good.queues[0]!, id: '../x' }] }],
    ['key 0', { ...good, keypad: { callbackDigit: '0', voicemailDigit: null } }],
    ['a negative maximum wait', { ...good, maxWaitSeconds: -1 }],
    ['voicemail of an hour', { ...good, voicemail: { maxSeconds: 3600 } }],
    ['an unknown language', { ...good, languages: ['de'] }],
    ['a reason of 121 characters', { ...good, closures: [{ ...good.closures[0]!, reason: 'x'.repeat(121) }] }],
    ['201 closures', { ...good, closures: Array.from({ length: 201 }, () => good.closures[0]!) }],
  ];
  for (const [what, body] of bodies) {
    const response = await asUser(app, maria, 'PUT', '/api/settings/call-plan', body as object);
    assert.is(response.statusCode, 400, `${what}: ${response.body}`);
  }
  const notJson = await app.inject({
    method: 'PUT',
    url: '/api/settings/call-plan',
    payload: '{"hours":',
    headers: { 'content-type': 'application/json', [CSRF_HEADER]: maria.info.csrfToken },
    cookies: { [SESSION_COOKIE]: maria.cookie },
  });
  assert.is(notJson.statusCode, 400, 'not JSON');
  const huge = await app.inject({
    method: 'PUT',
    url: '/api/settings/call-plan',
    payload: JSON.stringify({ ...good, padding: 'x'.repeat(600 * 1024) }),
    headers: { 'content-type': 'application/json', [CSRF_HEADER]: maria.info.csrfToken },
    cookies: { [SESSION_COOKIE]: maria.cookie },
  });
  assert.is(huge.statusCode, 413, 'a body over the limit');
  assert.is(await stored(), before, 'the stored plan is unchanged');
});

test('an inconsistent plan gets every problem in words, one per line; the stored plan is unchanged', async () => {
  const { app } = fixture;
  const good = clinicPlan();
  assert.is((await asUser(app, maria, 'PUT', '/api/settings/call-plan', good)).statusCode, 200);
  const before = await stored();
  const bad: CallPlan = {
    ...good,
    hours: {
      ...good.hours,
      mon: [
        { start: '08:00', end: '12:00' },
        { start: '11:00', end: '16:00' },
      ],
      tue: [{ start: '16:00', end: '08:00' }],
    },
    closures: [...good.closures, { from: '2001-01-01', to: '2001-01-02', kind: 'closure', reason: 'Long ago' }],
    keypad: { callbackDigit: '2', voicemailDigit: null },
    queues: [good.queues[0]!, { ...good.queues[1]!, memberIds: ['no-such-user'] }],
  };
  const response = await asUser(app, maria, 'PUT', '/api/settings/call-plan', bad);
  assert.is(response.statusCode, 400, response.body);
  assert.equal(response.json<ApiError>().message.split('\n'), [
    'Monday: 08:00–12:00 and 11:00–16:00 overlap.',
    'Tuesday: 16:00–08:00 ends before it starts (an interval cannot cross midnight: end it at 24:00 and start the next day at 00:00).',
    'Closure "Long ago" (2001-01-01 to 2001-01-02) is entirely in the past.',
    'Queue "Test results" uses key 2, the key that asks for a callback.',
    'Queue "Test results": no user has the id "no-such-user".',
  ]);
  assert.is(await stored(), before, 'the stored plan is unchanged');
});

test('a closure that has passed since it was saved does not block the next save', async () => {
  const { app } = fixture;
  const plan = clinicPlan();
  plan.closures.push({ from: '2001-01-01', to: '2001-01-01', kind: 'holiday', reason: 'Saved long ago' });
  // As if saved back then: straight into the store.
  await app.callPlan.put(plan);
  const response = await asUser(app, maria, 'PUT', '/api/settings/call-plan', { ...plan, maxWaitSeconds: 300 });
  assert.is(response.statusCode, 200, response.body);
  assert.is((await app.callPlan.get()).maxWaitSeconds, 300);
});

test('the preview: what a caller hears at a time, in the clinic time zone or at an instant; bad times 400', async () => {
  const { app } = fixture;
  const plan = clinicPlan();
  assert.is((await asUser(app, maria, 'PUT', '/api/settings/call-plan', plan)).statusCode, 200);
  const year = new Date().getUTCFullYear() + 1;
  const preview = async (at: string): Promise<CallPlanPreview> => {
    const response = await asUser(app, maria, 'GET', `/api/settings/call-plan/preview?at=${encodeURIComponent(at)}`);
    assert.is(response.statusCode, 200, response.body);
    return response.json<CallPlanPreview>();
  };
  const christmas = await preview(`${year}-12-25T10:00`);
  assert.equal(christmas.steps, ['the closed message (Christmas)', 'voicemail, up to 120 s']);
  assert.equal(christmas.closure, plan.closures[0]);
  const open = await preview('2030-01-07T09:00:00+01:00');
  assert.equal(open.steps, [
    'the intro',
    'the menu: 1 Appointments, 2 Test results (no choice: Appointments)',
    'hold music with the position and the expected wait every 30 s',
    'after 10 min: voicemail, up to 120 s',
  ]);
  assert.is(open.closesAt, Date.parse('2030-01-07T15:00:00Z'));
  // 2030-01-06 is a Sunday.
  const sunday = await preview('2030-01-06T10:00');
  assert.is(sunday.open, false);
  assert.equal(sunday.steps[0], 'the closed message (outside the opening hours)');
  assert.is(sunday.opensAt, Date.parse('2030-01-07T07:00:00Z'));
  const now = await asUser(app, maria, 'GET', '/api/settings/call-plan/preview');
  assert.is(now.statusCode, 200, 'without at: now');
  for (const bad of ['tomorrow', '2030-02-30T10:00', '2030-01-06', 'x'.repeat(41), '2030-01-06T10:00&at=1']) {
    const response = await asUser(app, maria, 'GET', `/api/settings/call-plan/preview?at=${encodeURIComponent(bad)}`);
    assert.is(response.statusCode, 400, `${bad}: ${response.body}`);
  }
  const unknownParameter = await asUser(app, maria, 'GET', '/api/settings/call-plan/preview?when=2030-01-06T10:00');
  assert.is(unknownParameter.statusCode, 400, 'an unknown parameter');
});

test('a plan stored by an older version: the parts that no longer fit fall back to the default, the rest is kept', async () => {
  const { app, db } = fixture;
  const plan = clinicPlan();
  await db.set(
    RedisKeys.callPlan,
    JSON.stringify({ ...plan, queues: [{ id: 'main', name: 'Reception' }], retired: 1 }),
  );
  const got = (await asUser(app, maria, 'GET', '/api/settings/call-plan')).json<CallPlanResponse>().plan;
  assert.equal(got, { ...plan, queues: DEFAULT_CALL_PLAN.queues });
  assert.equal((await app.callPlan.read()).replaced, ['queues', 'retired']);
  await db.set(RedisKeys.callPlan, 'not json');
  assert.equal(await app.callPlan.get(), DEFAULT_CALL_PLAN);
});

test.run();
