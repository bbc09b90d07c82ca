/**
 * Toll fraud through callbacks, tried as an attacker would (docs/security.md, "Callbacks: the
 * outbound policy"), against signaling and a real Redis: a patient's number is whatever the trunk's
 * From header said, so an attacker who calls in from a premium, foreign or service-code "number" and
 * hangs up leaves a task that an employee's Call back would dial. POST /api/tasks/:id/callback must
 * refuse those with 409 naming the policy, take no lock and spend nothing; allow the clinic's own
 * landlines and mobiles; and stop each employee at the policy's daily cap, exactly, under concurrency.
 * Only managers read or change the policy.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  SESSION_COOKIE,
  type ApiError,
  type CallView,
  type CallbackStartResponse,
  type OutboundPolicy,
  type OutboundPolicyResponse,
  type TaskView,
} from '@deskline/protocol';
import { RedisKeys, RedisStreams } from '@deskline/store';
import { dateIn } from '@deskline/signaling/services/clinic-day';
import { asUser, createUser, loginOk, useFreshApp, type LoggedIn } from '../helpers/signaling.js';
import { waitFor } from '../helpers/wait.js';

const TIME_ZONE = 'Europe/Warsaw';
const fixture = useFreshApp(test, { CLINIC_COUNTRY: 'PL', CLINIC_TIME_ZONE: TIME_ZONE });
let maria: LoggedIn;
let anna: LoggedIn;
let ben: LoggedIn;
let seq = 0;

test.before.each(async () => {
  const { app } = fixture;
  maria = await loginOk(app, 'maria@clinic.example', await createUser(app, 'maria@clinic.example', 'manager'));
  anna = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
  ben = await loginOk(app, 'ben@clinic.example', await createUser(app, 'ben@clinic.example', 'employee'));
  await app.ready();
  for (const [who, name] of [
    [anna, 'Reception 1'],
    [ben, 'Reception 2'],
  ] as const) {
    const workstation = await app.workstations.create({ name, kind: 'browser' });
    await app.agents.selectWorkstation(who.info.user.id, workstation.id, async (holder) => holder);
  }
});

/** A patient who called from `from` and hung up while waiting, as the sip app reports it: their unanswered task. */
async function missedCallFrom(from: string): Promise<TaskView> {
  const now = Date.now();
  const call: CallView = { id: `call-${++seq}-${now}`, from, line: '100', state: 'intro', startedAt: now };
  for (const state of ['intro', 'waiting', 'abandoned'] as const) {
    const view: CallView = {
      ...call,
      state,
      ...(state !== 'intro' ? { queuedAt: now } : {}),
      ...(state === 'abandoned' ? { endedAt: now } : {}),
    };
    await fixture.db.xadd(RedisStreams.callEvents, '*', 'event', JSON.stringify({ call: view }));
  }
  return waitFor(`the unanswered task of ${from}`, async () => {
    const taskId = await fixture.db.get(RedisKeys.callTask(call.id));
    const task = taskId ? await fixture.app.tasks.get(taskId) : undefined;
    return task?.status === 'unanswered' && task.call?.state === 'abandoned' ? task : undefined;
  });
}

function callBack(who: LoggedIn, task: TaskView) {
  return asUser(fixture.app, who, 'POST', `/api/tasks/${task.id}/callback`);
}

async function setPolicy(change: Partial<OutboundPolicy>): Promise<OutboundPolicy> {
  const current = (
    await asUser(fixture.app, maria, 'GET', '/api/settings/outbound-policy')
  ).json<OutboundPolicyResponse>().policy;
  const response = await asUser(fixture.app, maria, 'PUT', '/api/settings/outbound-policy', { ...current, ...change });
  assert.is(response.statusCode, 200, response.body);
  return response.json<OutboundPolicyResponse>().policy;
}

const todaysCount = async (who: LoggedIn): Promise<number> =>
  Number((await fixture.db.get(RedisKeys.callbackCount(who.info.user.id, dateIn(TIME_ZONE, Date.now())))) ?? 0);

for (const [number, why] of [
  ['+48701234567', /^\+48701234567 is outside the clinic's callback policy: premium-rate numbers are not allowed\.$/],
  ['701234567', /^701234567 is outside the clinic's callback policy: premium-rate numbers are not allowed\.$/],
  ['0048701234567', /premium-rate numbers are not allowed/],
  ['+48800123456', /toll-free numbers are not allowed/],
  ['+48391234567', /VoIP numbers are not allowed/],
  [
    '+449012345678',
    /^\+449012345678 is outside the clinic's callback policy: only numbers starting with \+48 are allowed\.$/,
  ],
  ['+4915112345678', /only numbers starting with \+48 are allowed/],
  ['+12025550123', /only numbers starting with \+48 are allowed/],
  ['*100#', /^\*100# is outside the clinic's callback policy: service codes \(with \* or #\) are not allowed\.$/],
  ['#31#601234567', /service codes/],
  ['*21*48601234567#', /service codes/],
  ['+48*601234567', /service codes/],
  ['112', /not a possible phone number \(too short or too long\)/],
  ['+4860', /not a possible phone number/],
  ['+486012345678901234', /not a possible phone number/],
  ['+48601234567890123456789012345678', /not a possible phone number/],
  ['+48300123456', /not in any known landline or mobile range/],
] as const) {
  test(`a callback to ${number} is refused 409 naming the policy; no lock, no grant, nothing counted`, async () => {
    const task = await missedCallFrom(number);
    const response = await callBack(anna, task);
    assert.is(response.statusCode, 409, response.body);
    const body = response.json<ApiError>();
    assert.is(body.error, 'outbound-policy');
    assert.match(body.message, why);
    assert.is(await fixture.db.exists(RedisKeys.taskCallback(task.id)), 0, 'no lock');
    assert.equal(await fixture.db.keys('callback-grant:*'), [], 'no grant');
    assert.is(await todaysCount(anna), 0, 'nothing counted');
  });
}

test('UK premium rate is refused for its kind even where the policy allows +44, and a denied prefix wins over an allowed one', async () => {
  await setPolicy({ allowedPrefixes: ['+48', '+44'], deniedPrefixes: ['+4822'] });
  let response = await callBack(anna, await missedCallFrom('+449012345678'));
  assert.is(response.statusCode, 409, response.body);
  assert.match(
    response.json<ApiError>().message,
    /^\+449012345678 is outside the clinic's callback policy: premium-rate numbers are not allowed\.$/,
  );
  response = await callBack(anna, await missedCallFrom('+48221234567'));
  assert.is(response.statusCode, 409, response.body);
  assert.match(response.json<ApiError>().message, /numbers starting with \+4822 are not allowed/);
  response = await callBack(anna, await missedCallFrom('+447911123456'));
  assert.is(response.statusCode, 201, `a UK mobile is allowed now: ${response.body}`);
});

test("the clinic's own landlines and mobiles are called back, in any spelling; the grant keeps the task's number", async () => {
  for (const number of ['+48221234567', '+48601234567', '601234568', '0048601234569', '+48600100200']) {
    const task = await missedCallFrom(number);
    const response = await callBack(anna, task);
    assert.is(response.statusCode, 201, `${number}: ${response.body}`);
    assert.ok(response.json<CallbackStartResponse>().target.startsWith('sip:cb-'));
  }
  assert.is(await todaysCount(anna), 5);
});

test('the daily cap: the (N+1)-th callback of an employee is refused 409 naming the policy; others are not affected', async () => {
  await setPolicy({ maxCallbacksPerDay: 2 });
  for (const number of ['+48601000001', '+48601000002']) {
    assert.is((await callBack(anna, await missedCallFrom(number))).statusCode, 201);
  }
  const third = await missedCallFrom('+48601000003');
  const response = await callBack(anna, third);
  assert.is(response.statusCode, 409, response.body);
  assert.is(response.json<ApiError>().error, 'callback-cap');
  assert.is(
    response.json<ApiError>().message,
    "You have made 2 callbacks today, the most the clinic's callback policy allows an employee in a day.",
  );
  assert.is(await fixture.db.exists(RedisKeys.taskCallback(third.id)), 0, 'the refused request left no lock');
  assert.is(await todaysCount(anna), 2);
  assert.is((await callBack(ben, third)).statusCode, 201, 'the cap is per employee');
  const ttl = await fixture.db.ttl(RedisKeys.callbackCount(anna.info.user.id, dateIn(TIME_ZONE, Date.now())));
  assert.ok(ttl > 24 * 3600 && ttl <= 48 * 3600, `the day's count expires after the day: ${ttl} s`);
});

test('the daily cap under concurrency: 12 requests at the last slot, exactly one passes', async () => {
  await setPolicy({ maxCallbacksPerDay: 3 });
  for (const number of ['+48602000001', '+48602000002']) {
    assert.is((await callBack(anna, await missedCallFrom(number))).statusCode, 201);
  }
  const tasks: TaskView[] = [];
  for (let i = 10; i < 22; i++) tasks.push(await missedCallFrom(`+486020000${i}`));
  const responses = await Promise.all(tasks.map((task) => callBack(anna, task)));
  const statuses = responses.map((r) => r.statusCode).sort();
  assert.equal(statuses, [201, ...Array<number>(11).fill(409)], JSON.stringify(statuses));
  for (const r of responses.filter((r) => r.statusCode === 409)) assert.is(r.json<ApiError>().error, 'callback-cap');
  assert.is(await todaysCount(anna), 3);
  assert.is((await fixture.db.keys('callback-grant:*')).length, 3, 'three grants in all');
});

test('a cap of 0 turns callbacks off', async () => {
  await setPolicy({ maxCallbacksPerDay: 0 });
  const response = await callBack(anna, await missedCallFrom('+48601234567'));
  assert.is(response.statusCode, 409, response.body);
  assert.is(response.json<ApiError>().message, "The clinic's callback policy allows no callbacks at the moment.");
});

test("GET and PUT /api/settings/outbound-policy: the default of the clinic's country; managers only (employee 403, anonymous 401, CSRF required); bad policies 400", async () => {
  const { app, db } = fixture;
  const got = await asUser(app, maria, 'GET', '/api/settings/outbound-policy');
  assert.is(got.statusCode, 200, got.body);
  assert.equal(got.json<OutboundPolicyResponse>(), {
    policy: {
      allowedPrefixes: ['+48'],
      deniedPrefixes: [],
      allowedTypes: ['FIXED_LINE', 'MOBILE', 'FIXED_LINE_OR_MOBILE'],
      maxCallbacksPerDay: 50,
      maxDurationSeconds: 1800,
    },
    country: 'PL',
    countryPrefix: '+48',
  });
  assert.equal(await db.hgetall(RedisKeys.outboundPrefixes), { '+48': 'allow' }, "Kamailio's copy of the prefixes");

  const wide: OutboundPolicy = {
    allowedPrefixes: ['+1', '+44', '+48'],
    deniedPrefixes: ['+4870'],
    allowedTypes: ['PREMIUM_RATE', 'FIXED_LINE', 'MOBILE'],
    maxCallbacksPerDay: 5,
    maxDurationSeconds: 60,
  };
  assert.is((await asUser(app, anna, 'PUT', '/api/settings/outbound-policy', wide)).statusCode, 403);
  assert.is((await asUser(app, anna, 'GET', '/api/settings/outbound-policy')).statusCode, 403);
  assert.is((await app.inject({ method: 'GET', url: '/api/settings/outbound-policy' })).statusCode, 401);
  assert.is((await app.inject({ method: 'PUT', url: '/api/settings/outbound-policy', payload: wide })).statusCode, 401);
  const noCsrf = await app.inject({
    method: 'PUT',
    url: '/api/settings/outbound-policy',
    payload: wide,
    cookies: { [SESSION_COOKIE]: maria.cookie },
  });
  assert.is(noCsrf.statusCode, 403, 'no CSRF token');
  assert.equal(
    (JSON.parse((await db.get(RedisKeys.outboundPolicy)) ?? '{}') as { allowedPrefixes?: string[] }).allowedPrefixes,
    ['+48'],
    'nothing changed',
  );

  for (const bad of [
    { ...wide, allowedPrefixes: ['48'] },
    { ...wide, allowedPrefixes: ['+0'] },
    { ...wide, deniedPrefixes: ['+48*'] },
    { ...wide, allowedTypes: ['EVERYTHING'] },
    { ...wide, maxCallbacksPerDay: -1 },
    { ...wide, maxDurationSeconds: 1 },
    { ...wide, extra: true },
  ]) {
    const response = await asUser(app, maria, 'PUT', '/api/settings/outbound-policy', bad);
    assert.is(response.statusCode, 400, JSON.stringify(bad));
  }

  const put = await asUser(app, maria, 'PUT', '/api/settings/outbound-policy', wide);
  assert.is(put.statusCode, 200, put.body);
  assert.equal(put.json<OutboundPolicyResponse>().policy, {
    ...wide,
    allowedTypes: ['FIXED_LINE', 'MOBILE', 'PREMIUM_RATE'],
  });
  assert.equal(await db.hgetall(RedisKeys.outboundPrefixes), {
    '+1': 'allow',
    '+44': 'allow',
    '+48': 'allow',
    '+4870': 'deny',
  });
  // Polish premium is now refused by its prefix only.
  const response = await callBack(anna, await missedCallFrom('+48701234567'));
  assert.match(response.json<ApiError>().message, /numbers starting with \+4870 are not allowed/);
});

test.run();
