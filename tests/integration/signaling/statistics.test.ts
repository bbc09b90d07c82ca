/**
 * GET /api/statistics (docs/call-board.md, "Statistics"). First the API against a test Redis alone:
 * who may ask, bad dates, the day's bounds, and the call records as the sip app's CallStore writes
 * them. Then a scripted day through the real call path (Redis, Kamailio, rtpengine and the sip app as
 * processes): patients call over UDP, two hang up during the intro, two while nobody is there to
 * answer, and two agents' workstations answer three calls; the statistics must count exactly that.
 */
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  RedisKeys,
  waitingMs,
  type CallRecord,
  type CallView,
  type CallbackView,
  type DayStatistics,
  type StatisticsFigures,
} from '@deskline/protocol';
import { CallStore } from '@deskline/sip/calls/call-store';
import { dateIn, dayBounds } from '@deskline/signaling/services/clinic-day';
import { p90NearestRank } from '@deskline/signaling/services/statistics';
import { asUser, buildTestApp, createUser, loginOk, useFreshApp, type LoggedIn } from '../../helpers/signaling.js';
import { AgentPhone } from '../sip/agent-phone.js';
import { CallEvents } from '../sip/call-events.js';
import { CLINIC_NUMBER, activeCallIds, startCallPath, type CallPath } from '../sip/call-path.js';
import { PATIENT_NUMBER, PatientLine } from '../sip/patient-line.js';
import { PatientPhone } from '../sip/patient-phone.js';
import { Staff } from '../sip/staff.js';
import { waitFor } from '../../helpers/wait.js';

const NO_CALLBACKS = { answered: 0, 'no-answer': 0, busy: 0, rejected: 0, failed: 0, cancelled: 0 };
const DAY_S = 24 * 60 * 60;

async function statistics(app: FastifyInstance, who: LoggedIn, query = ''): Promise<DayStatistics> {
  const response = await asUser(app, who, 'GET', `/api/statistics${query}`);
  assert.is(response.statusCode, 200, response.body);
  return response.json<DayStatistics>();
}

/** A callback as the sip app keeps it: `callback:<id>` and the `callbacks` index by start. */
async function writeCallback(db: Redis, callback: CallbackView): Promise<void> {
  await db.set(RedisKeys.callback(callback.id), JSON.stringify(callback));
  await db.zadd(RedisKeys.callbacks, callback.startedAt, callback.id);
}

// ----- The API alone ------------------------------------------------------------------------------

const api = suite('GET /api/statistics');
const fixture = useFreshApp(api, { CLINIC_TIME_ZONE: 'Europe/Warsaw', HISTORY_RETENTION_DAYS: '30' });
let maria: LoggedIn;
let anna: LoggedIn;

api.before.each(async () => {
  const { app } = fixture;
  maria = await loginOk(app, 'maria@clinic.example', await createUser(app, 'maria@clinic.example', 'manager'));
  anna = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
});

api('only managers: an employee gets 403, nobody logged in 401', async () => {
  const employee = await asUser(fixture.app, anna, 'GET', '/api/statistics');
  assert.is(employee.statusCode, 403, employee.body);
  assert.is(employee.json<{ message: string }>().message, 'Only a manager may do this.');
  assert.is((await fixture.app.inject({ method: 'GET', url: '/api/statistics' })).statusCode, 401);
});

api('a bad date is 400 with a message; unknown parameters too', async () => {
  for (const bad of ['yesterday', '2026-2-1', '2026-02-30', '2026-13-01']) {
    const response = await asUser(fixture.app, maria, 'GET', `/api/statistics?date=${encodeURIComponent(bad)}`);
    assert.is(response.statusCode, 400, `${bad}: ${response.body}`);
    assert.ok(response.json<{ message: string }>().message.length > 0);
  }
  const real = await asUser(fixture.app, maria, 'GET', '/api/statistics?date=2026-02-30');
  assert.match(real.json<{ message: string }>().message, /"2026-02-30" is not a date: use YYYY-MM-DD/);
  assert.is((await asUser(fixture.app, maria, 'GET', '/api/statistics?day=2026-02-01')).statusCode, 400);
});

api('by default today in the clinic zone; a day without calls has zeros and no waiting figures', async () => {
  const day = await statistics(fixture.app, maria);
  assert.is(day.date, dateIn('Europe/Warsaw', Date.now()));
  assert.is(day.timeZone, 'Europe/Warsaw');
  const empty: StatisticsFigures = {
    received: 0,
    answered: 0,
    abandonedDuringIntro: 0,
    abandonedWhileWaiting: 0,
    callbacks: 0,
    callbackOutcomes: NO_CALLBACKS,
    waitAverageMs: null,
    waitP90Ms: null,
  };
  assert.equal(day.total, empty);
  assert.equal(day.users, []);
  assert.is(day.hours.length, 24);
});

api("the sip app's records of ended calls count on their start's day in the clinic zone, kept HISTORY_RETENTION_DAYS", async () => {
  const { db, app } = fixture;
  const annaId = anna.info.user.id;
  // 29 March 2026 in Warsaw: 23 hours, from 28 March 23:00 UTC to 29 March 22:00 UTC.
  const { start, end } = dayBounds('2026-03-29', 'Europe/Warsaw');
  const calls = new CallStore(db, undefined, 30);
  const base = { from: PATIENT_NUMBER, line: CLINIC_NUMBER };
  const views: CallView[] = [
    // Answered: its wait is from the queue to the answer (20 s).
    { ...base, id: 'answered', state: 'ended', startedAt: start, queuedAt: start + 5000, answeredAt: start + 25_000, endedAt: start + 90_000, agentUserId: annaId, workstationId: 'w' },
    // Hung up while ringing Anna: not hers; waited 40 s.
    { ...base, id: 'waiting', state: 'abandoned', startedAt: end - 60_000, queuedAt: end - 50_000, endedAt: end - 10_000, agentUserId: annaId, workstationId: 'w' },
    { ...base, id: 'intro', state: 'abandoned', startedAt: end - 30_000, endedAt: end - 29_000 },
    // The day before and the day after.
    { ...base, id: 'before', state: 'abandoned', startedAt: start - 1, endedAt: start + 1000 },
    { ...base, id: 'after', state: 'abandoned', startedAt: end, endedAt: end + 1000 },
  ];
  for (const view of views) await calls.record(view);
  assert.equal(JSON.parse((await db.get(RedisKeys.callRecord('waiting'))) ?? 'null'), {
    id: 'waiting',
    from: PATIENT_NUMBER,
    line: CLINIC_NUMBER,
    outcome: 'abandoned-waiting',
    startedAt: end - 60_000,
    queuedAt: end - 50_000,
    endedAt: end - 10_000,
  } satisfies CallRecord);
  const ttl = await db.ttl(RedisKeys.callRecord('answered'));
  assert.ok(ttl > 30 * DAY_S - 60 && ttl <= 30 * DAY_S, `TTL ${ttl}`);
  // Records that started longer ago than the retention are gone from the index.
  assert.is(await db.zscore(RedisKeys.callRecords, 'answered'), null, 'March 2026 is more than 30 days before now');

  // Put back in the index what the trim took, to read a day in the past.
  for (const view of views) await db.zadd(RedisKeys.callRecords, view.startedAt, view.id);
  await writeCallback(db, {
    id: 'cb1', taskId: 't1', number: PATIENT_NUMBER, userId: annaId, workstationId: 'w',
    state: 'ended', outcome: 'busy', startedAt: start + 3_600_000, endedAt: start + 3_610_000,
  });
  await writeCallback(db, {
    id: 'cb2', taskId: 't1', number: PATIENT_NUMBER, userId: annaId, workstationId: 'w',
    state: 'ended', outcome: 'answered', startedAt: start - 3_600_000, answeredAt: start - 3_590_000, endedAt: start - 3_500_000,
  });

  const day = await statistics(app, maria, '?date=2026-03-29');
  assert.equal(day.total, {
    received: 3,
    answered: 1,
    abandonedDuringIntro: 1,
    abandonedWhileWaiting: 1,
    callbacks: 1,
    callbackOutcomes: { ...NO_CALLBACKS, busy: 1 },
    waitAverageMs: 30_000,
    waitP90Ms: 40_000,
  });
  assert.equal(day.users, [
    {
      userId: annaId,
      name: 'anna',
      figures: {
        received: 0,
        answered: 1,
        abandonedDuringIntro: 0,
        abandonedWhileWaiting: 0,
        callbacks: 1,
        callbackOutcomes: { ...NO_CALLBACKS, busy: 1 },
        waitAverageMs: 20_000,
        waitP90Ms: 20_000,
      },
    },
  ]);
  // Local hours: the first call at 00:00, the last two at 23:59 (the day's last hour is 23 even on a 23 hour day).
  assert.equal(
    day.hours.filter((h) => h.received > 0),
    [
      { hour: 0, received: 1, answered: 1, abandoned: 0 },
      { hour: 23, received: 2, answered: 0, abandoned: 2 },
    ],
  );
  const dayBefore = await statistics(app, maria, '?date=2026-03-28');
  assert.is(dayBefore.total.received, 1);
  assert.equal(dayBefore.total.callbackOutcomes, { ...NO_CALLBACKS, answered: 1 });
});

api.run();

// ----- A scripted day through the sip app ----------------------------------------------------------

interface Context {
  path: CallPath;
  app: FastifyInstance;
  staff: Staff;
  events: CallEvents;
  line: PatientLine;
  manager: LoggedIn;
  employee: LoggedIn;
  annaId: string;
  benId: string;
  timeZone: string;
  open: Array<{ close(): unknown }>;
}

const day = suite<Context>('a scripted day through the sip app');

/**
 * A fixed-offset zone where it is about noon now, so that the day's calls cannot straddle the
 * clinic's midnight whenever the test runs. Etc/GMT-2 is UTC+2 (the sign is POSIX's).
 */
function zoneAtNoon(): string {
  const offset = 12 - new Date().getUTCHours();
  return offset === 0 ? 'Etc/GMT' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}

day.before(async (context) => {
  context.open = [];
  context.timeZone = zoneAtNoon();
  context.path = await startCallPath({ appEnv: { RING_TIMEOUT_SECONDS: '10', HISTORY_RETENTION_DAYS: '7' } });
  context.app = await buildTestApp(context.path.redisUrl, { CLINIC_TIME_ZONE: context.timeZone });
  const { app } = context;
  context.annaId = (await app.users.create({ email: 'anna@clinic.example', displayName: 'Anna Reception', role: 'employee', password: 'Anna Reception password' })).id;
  context.benId = (await app.users.create({ email: 'ben@clinic.example', displayName: 'Ben Adams', role: 'employee', password: 'Ben Reception password' })).id;
  await app.users.create({ email: 'maria@clinic.example', displayName: 'Maria Manager', role: 'manager', password: 'Maria Manager password' });
  context.manager = await loginOk(app, 'maria@clinic.example', 'Maria Manager password');
  context.employee = await loginOk(app, 'anna@clinic.example', 'Anna Reception password');
  context.staff = new Staff(context.path.redis);
  context.events = await CallEvents.open(context.path.redisUrl);
  context.line = await PatientLine.open(context.path.kamailioPort);
});

day.after(async (context) => {
  for (const item of context.open.splice(0)) await item.close();
  await context.line?.close();
  await context.events?.close();
  await context.app?.close();
  await context.path?.stop();
});

/** The patient calls; resolves once the queue has answered, with the dialog and the call's id. */
async function patientCalls(context: Context): Promise<{ hangUp(): Promise<unknown>; id: string; from: number }> {
  const from = context.events.mark();
  const media = await PatientPhone.open();
  context.open.push(media);
  const dialog = await context.line.call({ line: CLINIC_NUMBER, rtpPort: media.port });
  context.open.push(dialog);
  const intro = await context.events.waitFor({ state: 'intro', from });
  return { id: intro.call.id, from, hangUp: () => dialog.hangUp() };
}

day('3 answered, 2 hung up during the intro, 2 while waiting: the statistics say exactly that', async (context) => {
  const { path, staff, events, app, manager, annaId, benId } = context;
  const ids: string[] = [];

  // Nobody is at a workstation yet. Two patients hang up during the intro (3 s long)...
  for (let i = 0; i < 2; i++) {
    const call = await patientCalls(context);
    await call.hangUp();
    await events.waitFor({ callId: call.id, state: 'abandoned', from: call.from });
    assert.equal(events.states(call.id), ['intro', 'abandoned']);
    ids.push(call.id);
  }
  // ...and two once in the queue, with nobody there to answer.
  for (let i = 0; i < 2; i++) {
    const call = await patientCalls(context);
    await events.waitFor({ callId: call.id, state: 'waiting', from: call.from }, 8000);
    await call.hangUp();
    await events.waitFor({ callId: call.id, state: 'abandoned', from: call.from });
    assert.equal(events.states(call.id), ['intro', 'waiting', 'abandoned']);
    ids.push(call.id);
  }

  // Anna answers two calls, then leaves; Ben answers one.
  const answeredBy = new Map<string, string>();
  for (const [userId, name, calls] of [
    [annaId, 'Reception 1', 2],
    [benId, 'Reception 2', 1],
  ] as const) {
    const workstation = await staff.workstation(name);
    const phone = await AgentPhone.register(path.kamailio, workstation.id);
    context.open.push(phone);
    await staff.available(userId, workstation.id);
    for (let i = 0; i < calls; i++) {
      await waitFor(`${name} to be free`, async () => (await staff.agent(userId)).state === 'available');
      const call = await patientCalls(context);
      const ring = await phone.nextInvite(8000);
      await ring.answer();
      await events.waitFor({ callId: call.id, state: 'bridged', from: call.from });
      await call.hangUp();
      await ring.waitForBye();
      await events.waitFor({ callId: call.id, state: 'ended', from: call.from });
      answeredBy.set(call.id, userId);
      ids.push(call.id);
    }
    await staff.leave(userId);
  }
  await waitFor('no active calls', async () => (await activeCallIds(path.redis)).length === 0);

  // The records the sip app wrote: one per call, each with what its events said.
  const records = await Promise.all(
    ids.map(async (id) => JSON.parse((await path.redis.get(RedisKeys.callRecord(id))) ?? 'null') as CallRecord | null),
  );
  for (const [i, record] of records.entries()) {
    const id = ids[i]!;
    assert.ok(record, `no record of ${id}`);
    const last = events.events.filter((e) => e.call.id === id).at(-1)!.call;
    assert.is(record.startedAt, last.startedAt);
    assert.is(record.queuedAt, last.queuedAt);
    assert.is(record.endedAt, last.endedAt);
    assert.is(record.answeredAt, last.answeredAt);
    assert.is(record.agentUserId, answeredBy.get(id));
    assert.is(record.outcome, i < 2 ? 'abandoned-intro' : i < 4 ? 'abandoned-waiting' : 'answered');
    assert.is(await path.redis.zscore(RedisKeys.callRecords, id), String(record.startedAt));
    const ttl = await path.redis.ttl(RedisKeys.callRecord(id));
    assert.ok(ttl > 7 * DAY_S - 120 && ttl <= 7 * DAY_S, `TTL ${ttl}`);
  }

  // Two callbacks as the sip app keeps them: Ben reached a patient, Anna found the line busy.
  const now = Date.now();
  await writeCallback(path.redis, {
    id: 'cb-ben', taskId: 't1', number: PATIENT_NUMBER, userId: benId, workstationId: 'w2',
    state: 'ended', outcome: 'answered', startedAt: now, answeredAt: now + 5000, endedAt: now + 60_000,
  });
  await writeCallback(path.redis, {
    id: 'cb-anna', taskId: 't2', number: PATIENT_NUMBER, userId: annaId, workstationId: 'w1',
    state: 'ended', outcome: 'busy', startedAt: now, endedAt: now + 2000,
  });

  const stats = await statistics(app, manager);
  assert.is(stats.date, dateIn(context.timeZone, now));
  assert.is(stats.timeZone, context.timeZone);
  const waits = records.map((r) => waitingMs(r!)).filter((w): w is number => w !== undefined);
  assert.is(waits.length, 5, 'the calls that reached the queue');
  assert.equal(stats.total, {
    received: 7,
    answered: 3,
    abandonedDuringIntro: 2,
    abandonedWhileWaiting: 2,
    callbacks: 2,
    callbackOutcomes: { ...NO_CALLBACKS, answered: 1, busy: 1 },
    waitAverageMs: Math.round(waits.reduce((a, b) => a + b, 0) / waits.length),
    waitP90Ms: p90NearestRank(waits),
  });
  // With five waits the 90th percentile by nearest rank is the longest.
  assert.is(stats.total.waitP90Ms, Math.max(...waits));

  assert.equal(
    stats.users.map((u) => [u.name, u.figures.answered, u.figures.callbacks]),
    [
      ['Anna Reception', 2, 1],
      ['Ben Adams', 1, 1],
    ],
  );
  const annaWaits = records.filter((r) => r!.agentUserId === annaId).map((r) => waitingMs(r!)!);
  const anna = stats.users[0]!.figures;
  assert.is(anna.waitAverageMs, Math.round((annaWaits[0]! + annaWaits[1]!) / 2));
  assert.is(anna.waitP90Ms, Math.max(...annaWaits));
  assert.equal(anna.callbackOutcomes, { ...NO_CALLBACKS, busy: 1 });
  assert.is(anna.abandonedWhileWaiting, 0, 'an abandoned call is nobody’s');
  const ben = stats.users[1]!.figures;
  assert.is(ben.waitAverageMs, waitingMs(records.find((r) => r!.agentUserId === benId)!));
  assert.equal(ben.callbackOutcomes, { ...NO_CALLBACKS, answered: 1 });

  // The chart: every call in the hour it started, in the clinic's zone.
  assert.is(stats.hours.reduce((n, h) => n + h.received, 0), 7);
  assert.is(stats.hours.reduce((n, h) => n + h.answered, 0), 3);
  assert.is(stats.hours.reduce((n, h) => n + h.abandoned, 0), 4);

  // The day before is empty; an employee may not look.
  const { start } = dayBounds(stats.date, context.timeZone);
  const yesterday = await statistics(app, manager, `?date=${dateIn(context.timeZone, start - 1)}`);
  assert.is(yesterday.total.received, 0);
  assert.is((await asUser(app, context.employee, 'GET', '/api/statistics')).statusCode, 403);
});

day.run();
