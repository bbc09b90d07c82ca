/**
 * GET /api/statistics (docs/call-board.md, "Statistics"). First the API against a test Redis alone:
 * who may ask, bad dates, the day's bounds, and the call records as the sip app's CallStore writes
 * them. Then a scripted day through the real call path (Redis, Kamailio, rtpengine and the sip app as
 * processes, signaling in this process with its task projector): patients call over UDP, two hang up
 * during the intro, two while nobody is there to answer, and two agents' workstations answer three
 * calls; then the two unanswered tasks are called back as the board does it (POST
 * /api/tasks/:id/callback, the browser's INVITE to the granted target through Kamailio, the patient's
 * phone behind the outbound trunk), one answered, one busy. The statistics must count exactly that.
 */
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  waitingMs,
  type CallRecord,
  type CallView,
  type CallbackStartResponse,
  type CallbackView,
  type DayStatistics,
  type StatisticsFigures,
  type TaskListResponse,
  type TaskView,
  type UserStatistics,
} from '@deskline/protocol';
import { RedisKeys, browserSipUser } from '@deskline/store';
import { freePort } from '@deskline/scripts/free-port';
import { CallStore } from '@deskline/sip/calls/call-store';
import { dateIn, dayBounds } from '@deskline/signaling/services/clinic-day';
import { asUser, buildTestApp, createUser, loginOk, useFreshApp, type LoggedIn } from '../../helpers/signaling.js';
import { AgentPhone } from '../../helpers/agent-phone.js';
import { CallEvents } from '../../helpers/call-events.js';
import { createClinic } from '../../helpers/clinic.js';
import { CLINIC_NUMBER, activeCallIds, startCallPath, type CallPath } from '../../helpers/call-path.js';
import { CallbackBrowser } from '../../helpers/callback-browser.js';
import { PATIENT_NUMBER, PatientLine, patientSdp } from '../../helpers/patient-line.js';
import { PatientPhone } from '../../helpers/patient-phone.js';
import { Staff } from '../../helpers/staff.js';
import { TrunkPhone } from '../../helpers/trunk-phone.js';
import { waitFor } from '../../helpers/wait.js';
import { zoneAtNoon } from '../../helpers/clinic-zone.js';

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
    abandoned: 0,
    unanswered: 0,
    closed: 0,
    callbackRequested: 0,
    voicemail: 0,
    callbacks: 0,
    callbackOutcomes: NO_CALLBACKS,
    waitAverageMs: null,
    waitP90Ms: null,
  };
  assert.equal(day.total, empty);
  assert.equal(day.users, []);
  assert.is(day.hours.length, 24);
});

api(
  "the sip app's records of ended calls count on their start's day in the clinic zone, kept HISTORY_RETENTION_DAYS",
  async () => {
    const { db, app } = fixture;
    const annaId = anna.info.user.id;
    // 29 March 2026 in Warsaw: 23 hours, from 28 March 23:00 UTC to 29 March 22:00 UTC.
    const { start, end } = dayBounds('2026-03-29', 'Europe/Warsaw');
    const calls = new CallStore(db, undefined, 30);
    const base = { from: PATIENT_NUMBER, line: CLINIC_NUMBER };
    const views: CallView[] = [
      // Answered: its wait is from the queue to the answer (20 s).
      {
        ...base,
        id: 'answered',
        state: 'ended',
        startedAt: start,
        queuedAt: start + 5000,
        answeredAt: start + 25_000,
        endedAt: start + 90_000,
        agentUserId: annaId,
        workstationId: 'w',
      },
      // Hung up while ringing Anna: not hers; waited 40 s.
      {
        ...base,
        id: 'waiting',
        state: 'abandoned',
        startedAt: end - 60_000,
        queuedAt: end - 50_000,
        endedAt: end - 10_000,
        agentUserId: annaId,
        workstationId: 'w',
      },
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
      outcome: 'unanswered',
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
      id: 'cb1',
      taskId: 't1',
      number: PATIENT_NUMBER,
      userId: annaId,
      workstationId: 'w',
      state: 'ended',
      outcome: 'busy',
      startedAt: start + 3_600_000,
      endedAt: start + 3_610_000,
    });
    await writeCallback(db, {
      id: 'cb2',
      taskId: 't1',
      number: PATIENT_NUMBER,
      userId: annaId,
      workstationId: 'w',
      state: 'ended',
      outcome: 'answered',
      startedAt: start - 3_600_000,
      answeredAt: start - 3_590_000,
      endedAt: start - 3_500_000,
    });

    const day = await statistics(app, maria, '?date=2026-03-29');
    assert.equal(day.total, {
      received: 3,
      answered: 1,
      abandoned: 1,
      unanswered: 1,
      closed: 0,
      callbackRequested: 0,
      voicemail: 0,
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
          abandoned: 0,
          unanswered: 0,
          closed: 0,
          callbackRequested: 0,
          voicemail: 0,
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
  },
);

api.run();

// ----- A scripted day through the sip app ----------------------------------------------------------

/** Generous: another test run may share this machine's two cores. */
const TIMEOUT = 15_000;
/** The two patients nobody answers, called back at the end of the day. */
const MISSED = ['+48600100201', '+48600100202'] as const;

interface Context {
  path: CallPath;
  app: FastifyInstance;
  staff: Staff;
  events: CallEvents;
  line: PatientLine;
  trunk: TrunkPhone;
  manager: LoggedIn;
  anna: LoggedIn;
  ben: LoggedIn;
  annaId: string;
  benId: string;
  timeZone: string;
  open: Array<{ close(): unknown }>;
}

const day = suite<Context>('a scripted day through the sip app');

/** The 90th percentile by nearest rank, computed here rather than by signaling's own function: the ⌈0.9·n⌉-th smallest. */
function p90(waits: number[]): number | null {
  if (waits.length === 0) return null;
  const sorted = [...waits].sort((a, b) => a - b);
  return sorted[Math.ceil(0.9 * sorted.length) - 1]!;
}

function average(waits: number[]): number | null {
  return waits.length === 0 ? null : Math.round(waits.reduce((a, b) => a + b, 0) / waits.length);
}

day.before(async (context) => {
  context.open = [];
  context.timeZone = zoneAtNoon();
  const trunkPort = await freePort('127.0.0.1', ['udp']);
  context.path = await startCallPath({
    appEnv: {
      RING_TIMEOUT_SECONDS: '10',
      HISTORY_RETENTION_DAYS: '7',
      OUTBOUND_TRUNK: `127.0.0.1:${trunkPort}`,
      CALLBACK_RING_SECONDS: '20',
    },
  });
  context.trunk = await TrunkPhone.open(context.path.kamailioPort, trunkPort);
  context.app = await buildTestApp(context.path.redisUrl, {
    CLINIC_TIME_ZONE: context.timeZone,
    SIP_EPHEMERAL_SECRET: context.path.kamailio.secret,
    SIP_DOMAIN: context.path.kamailio.domain,
    SIP_WS_PORT: String(context.path.kamailio.wsPort),
  });
  const { app } = context;
  // Starts the task projector (an onReady hook): the day's calls become tasks from the first one.
  await app.ready();
  // The statistics below know Ben by his full name.
  const { staff } = await createClinic(app, {
    staff: ['anna', 'ben', 'maria'],
    variants: { ben: { displayName: 'Ben Adams' } },
  });
  context.annaId = staff.anna.id;
  context.benId = staff.ben.id;
  context.manager = await loginOk(app, staff.maria.email, staff.maria.password);
  context.anna = await loginOk(app, staff.anna.email, staff.anna.password);
  context.ben = await loginOk(app, staff.ben.email, staff.ben.password);
  context.staff = new Staff(context.path.redis, context.path.kamailio.domain);
  context.events = await CallEvents.open(context.path.redisUrl);
  context.line = await PatientLine.open(context.path.kamailioPort);
});

day.after(async (context) => {
  for (const item of context.open.splice(0).reverse()) await item.close();
  await context.line?.close();
  await context.trunk?.close().catch(() => undefined);
  await context.events?.close();
  await context.app?.close();
  await context.path?.stop();
});

/** The patient calls (from PATIENT_NUMBER unless told); resolves once the queue has answered, with the dialog and the call's id. */
async function patientCalls(
  context: Context,
  number?: string,
): Promise<{ hangUp(): Promise<unknown>; id: string; from: number }> {
  const from = context.events.mark();
  const media = await PatientPhone.open();
  context.open.push(media);
  const dialog = await context.line.call({
    line: CLINIC_NUMBER,
    rtpPort: media.port,
    ...(number ? { from: number } : {}),
  });
  context.open.push(dialog);
  const intro = await context.events.waitFor({ state: 'intro', from }, TIMEOUT);
  return { id: intro.call.id, from, hangUp: () => dialog.hangUp() };
}

/** The open task of `number` (signaling's projector made it from the sip app's events), once `check` holds. */
async function taskOf(
  context: Context,
  number: string,
  check: (task: TaskView) => boolean,
  what: string,
): Promise<TaskView> {
  return waitFor(
    what,
    async () => {
      const response = await asUser(context.app, context.manager, 'GET', '/api/tasks?tab=unanswered');
      const listed = response.json<TaskListResponse>().tasks.find((t) => t.patient === number);
      return listed && check(listed) ? listed : undefined;
    },
    TIMEOUT,
  );
}

/** A task by id through the API, once `check` holds. */
async function taskNow(
  context: Context,
  id: string,
  check: (task: TaskView) => boolean,
  what: string,
): Promise<TaskView> {
  return waitFor(
    what,
    async () => {
      const response = await asUser(context.app, context.manager, 'GET', `/api/tasks/${id}`);
      const task = response.statusCode === 200 ? response.json<TaskView>() : undefined;
      return task && check(task) ? task : undefined;
    },
    TIMEOUT,
  );
}

/** The callback as the sip app keeps it, once it has ended. */
async function endedCallback(context: Context, id: string): Promise<CallbackView> {
  return waitFor(
    `callback ${id} to end`,
    async () => {
      const view = JSON.parse((await context.path.redis.get(RedisKeys.callback(id))) ?? 'null') as CallbackView | null;
      return view?.state === 'ended' ? view : undefined;
    },
    TIMEOUT,
  );
}

/**
 * The employee clicks Call back, as the board does: she takes her browser workstation (PUT
 * /api/workstation), signaling grants the callback (POST /api/tasks/:id/callback), and her browser
 * sends the INVITE to the granted target through Kamailio.
 */
async function callBack(context: Context, who: LoggedIn, workstationId: string, task: TaskView) {
  const { app, path } = context;
  const picked = await asUser(app, who, 'PUT', '/api/workstation', { workstationId });
  assert.is(picked.statusCode, 200, picked.body);
  const response = await asUser(app, who, 'POST', `/api/tasks/${task.id}/callback`);
  assert.is(response.statusCode, 201, response.body);
  const granted = response.json<CallbackStartResponse>();
  assert.match(granted.target, new RegExp(`^sip:cb-[0-9a-f]{32}@${path.kamailio.domain.replace(/\./g, '\\.')}$`));
  const browser = await CallbackBrowser.connect(path.kamailio, browserSipUser(workstationId));
  context.open.push(browser);
  const call = await browser.call(granted.target);
  const atTrunk = await context.trunk.nextCall(TIMEOUT);
  assert.is(atTrunk.number, task.patient, "the task's number, from the grant");
  return { callbackId: granted.callbackId, call, atTrunk };
}

day(
  '3 answered, 2 hung up during the intro, 2 while waiting, 2 callbacks (answered, busy): the statistics say exactly that',
  async (context) => {
    const { path, staff, events, app, manager, annaId, benId } = context;
    const ids: string[] = [];

    // Nobody is at a workstation yet. Two patients hang up during the intro (3 s long)...
    for (const number of MISSED) {
      const call = await patientCalls(context, number);
      await call.hangUp();
      await events.waitFor({ callId: call.id, state: 'abandoned', from: call.from }, TIMEOUT);
      assert.equal(events.states(call.id), ['intro', 'abandoned']);
      ids.push(call.id);
    }
    // ...and call again, and hang up once in the queue, with nobody there to answer.
    for (const number of MISSED) {
      const call = await patientCalls(context, number);
      await events.waitFor({ callId: call.id, state: 'waiting', from: call.from }, TIMEOUT);
      await call.hangUp();
      await events.waitFor({ callId: call.id, state: 'abandoned', from: call.from }, TIMEOUT);
      assert.equal(events.states(call.id), ['intro', 'waiting', 'abandoned']);
      ids.push(call.id);
    }
    // Signaling's projector made one task per number, with both misses: Unanswered, as the second waited.
    const missedTasks = [];
    for (const [i, number] of MISSED.entries()) {
      const task = await taskOf(
        context,
        number,
        (t) => t.status === 'unanswered' && t.attempts === 2,
        `${number}'s unanswered task with 2 attempts`,
      );
      assert.equal(task.callIds, [ids[i]!, ids[i + 2]!]);
      assert.is(task.assigneeUserId, undefined);
      assert.equal(task.callbacks, []);
      missedTasks.push(task);
    }

    // Anna answers two calls, then leaves; Ben answers one.
    const answeredBy = new Map<string, string>();
    const workstations = new Map<string, string>();
    for (const [userId, name, calls] of [
      [annaId, 'Reception 1', 2],
      [benId, 'Reception 2', 1],
    ] as const) {
      const workstation = await staff.workstation(name);
      workstations.set(userId, workstation.id);
      const phone = await AgentPhone.register(path.kamailio, workstation.id);
      context.open.push(phone);
      await staff.available(userId, workstation.id);
      for (let i = 0; i < calls; i++) {
        await waitFor(`${name} to be free`, async () => (await staff.agent(userId)).state === 'available', TIMEOUT);
        const call = await patientCalls(context);
        const ring = await phone.nextInvite(TIMEOUT);
        await ring.answer(TIMEOUT);
        await events.waitFor({ callId: call.id, state: 'bridged', from: call.from }, TIMEOUT);
        await call.hangUp();
        await ring.waitForBye(TIMEOUT);
        await events.waitFor({ callId: call.id, state: 'ended', from: call.from }, TIMEOUT);
        answeredBy.set(call.id, userId);
        ids.push(call.id);
      }
      await staff.leave(userId);
    }
    await waitFor('no active calls', async () => (await activeCallIds(path.redis)).length === 0, TIMEOUT);

    // The records the sip app wrote: one per call, each with what its events said.
    const records = await Promise.all(
      ids.map(
        async (id) => JSON.parse((await path.redis.get(RedisKeys.callRecord(id))) ?? 'null') as CallRecord | null,
      ),
    );
    for (const [i, record] of records.entries()) {
      const id = ids[i]!;
      assert.ok(record, `no record of ${id}`);
      const last = events.events.filter((e) => e.call.id === id).at(-1)!.call;
      assert.is(record.from, i < 4 ? MISSED[i % 2] : PATIENT_NUMBER);
      assert.is(record.startedAt, last.startedAt);
      assert.is(record.queuedAt, last.queuedAt);
      assert.is(record.endedAt, last.endedAt);
      assert.is(record.answeredAt, last.answeredAt);
      assert.is(record.agentUserId, answeredBy.get(id));
      assert.is(record.outcome, i < 2 ? 'abandoned' : i < 4 ? 'unanswered' : 'answered');
      assert.is(await path.redis.zscore(RedisKeys.callRecords, id), String(record.startedAt));
      const ttl = await path.redis.ttl(RedisKeys.callRecord(id));
      assert.ok(ttl > 7 * DAY_S - 120 && ttl <= 7 * DAY_S, `TTL ${ttl}`);
    }
    // The answered calls did not touch the missed patients' tasks.
    for (const task of missedTasks)
      await taskNow(
        context,
        task.id,
        (t) => t.status === 'unanswered' && t.attempts === 2,
        `${task.patient}'s task still unanswered`,
      );

    // The callbacks, as the board places them. Ben reaches the first patient, and hangs up after talking.
    const answered = await callBack(context, context.ben, workstations.get(benId)!, missedTasks[0]!);
    answered.atTrunk.ring();
    await answered.call.provisional(180, TIMEOUT);
    const media = await PatientPhone.open();
    context.open.push(media);
    const ack = answered.atTrunk.answer(patientSdp(media.port), TIMEOUT);
    const ok = await answered.call.final(TIMEOUT);
    assert.is(ok.status, 200, ok.startLine);
    await ack;
    await taskNow(
      context,
      missedTasks[0]!.id,
      (t) => t.status === 'on-the-line' && t.assigneeUserId === benId,
      'the called-back task on the line with Ben',
    );
    const byeAnswer = answered.call.hangUp(TIMEOUT);
    await answered.atTrunk.waitForBye(TIMEOUT);
    assert.is((await byeAnswer).status, 200);
    const answeredView = await endedCallback(context, answered.callbackId);
    assert.is(answeredView.outcome, 'answered');
    assert.is(answeredView.userId, benId);
    assert.ok(answeredView.answeredAt);

    // Anna finds the second patient's line busy.
    const busy = await callBack(context, context.anna, workstations.get(annaId)!, missedTasks[1]!);
    await busy.atTrunk.refuse(486, 'Busy Here', TIMEOUT);
    const refused = await busy.call.final(TIMEOUT);
    assert.is(refused.status, 486, refused.startLine);
    const busyView = await endedCallback(context, busy.callbackId);
    assert.is(busyView.outcome, 'busy');
    assert.is(busyView.userId, annaId);
    for (const view of [answeredView, busyView]) {
      assert.is(await path.redis.zscore(RedisKeys.callbacks, view.id), String(view.startedAt));
      const ttl = await path.redis.ttl(RedisKeys.callback(view.id));
      assert.ok(ttl > 7 * DAY_S - 120 && ttl <= 7 * DAY_S, `callback TTL ${ttl}`);
    }

    // The tasks: the answered callback's left Unanswered (Ben's wrap-up); the busy one is still Unanswered, with the attempt.
    const reached = await taskNow(
      context,
      missedTasks[0]!.id,
      (t) => t.status !== 'unanswered' && t.status !== 'on-the-line' && t.callbacks.every((a) => a.outcome),
      "the answered callback's task past the call",
    );
    assert.is(reached.status, 'wrap-up');
    assert.is(reached.assigneeUserId, benId);
    assert.equal(reached.callbacks, [
      { callbackId: answered.callbackId, userId: benId, at: answeredView.startedAt, outcome: 'answered' },
    ]);
    const stillMissed = await taskNow(
      context,
      missedTasks[1]!.id,
      (t) => t.status === 'unanswered' && t.callbacks.some((a) => a.outcome),
      'the busy callback recorded on its task',
    );
    assert.is(stillMissed.assigneeUserId, undefined);
    assert.is(stillMissed.attempts, 2, 'a callback is not a missed call');
    assert.equal(stillMissed.callbacks, [
      { callbackId: busy.callbackId, userId: annaId, at: busyView.startedAt, outcome: 'busy' },
    ]);
    const unansweredTab = (await asUser(app, manager, 'GET', '/api/tasks?tab=unanswered')).json<TaskListResponse>();
    assert.equal(
      unansweredTab.tasks.map((t) => t.id),
      [missedTasks[1]!.id],
    );

    // The statistics, figure by figure, from the records.
    const stats = await statistics(app, manager);
    assert.is(stats.date, dateIn(context.timeZone, Date.now()));
    assert.is(stats.timeZone, context.timeZone);
    const waits = records.map((r) => waitingMs(r!)).filter((w): w is number => w !== undefined);
    assert.is(waits.length, 5, 'the calls that reached the queue');
    assert.equal(stats.total, {
      received: 7,
      answered: 3,
      abandoned: 2,
      unanswered: 2,
      closed: 0,
      callbackRequested: 0,
      voicemail: 0,
      callbacks: 2,
      callbackOutcomes: { ...NO_CALLBACKS, answered: 1, busy: 1 },
      waitAverageMs: average(waits),
      waitP90Ms: p90(waits),
    });
    // With five waits the 90th percentile by nearest rank is the longest.
    assert.is(stats.total.waitP90Ms, Math.max(...waits));

    const waitsOf = (userId: string): number[] =>
      records.filter((r) => r!.agentUserId === userId).map((r) => waitingMs(r!)!);
    const row = (
      userId: string,
      name: string,
      answeredCalls: number,
      outcome: 'answered' | 'busy',
    ): UserStatistics => ({
      userId,
      name,
      figures: {
        received: 0,
        answered: answeredCalls,
        abandoned: 0,
        unanswered: 0,
        closed: 0,
        callbackRequested: 0,
        voicemail: 0,
        callbacks: 1,
        callbackOutcomes: { ...NO_CALLBACKS, [outcome]: 1 },
        waitAverageMs: average(waitsOf(userId)),
        waitP90Ms: p90(waitsOf(userId)),
      },
    });
    assert.equal(stats.users, [row(annaId, 'Anna Reception', 2, 'busy'), row(benId, 'Ben Adams', 1, 'answered')]);
    assert.is(waitsOf(annaId).length, 2);
    assert.is(waitsOf(benId).length, 1);

    // The chart: every call in the hour it started, in the clinic's zone.
    const hourOf = new Intl.DateTimeFormat('en-GB', { timeZone: context.timeZone, hour: 'numeric', hourCycle: 'h23' });
    const expectedHours = new Map<number, { hour: number; received: number; answered: number; abandoned: number }>();
    for (const record of records) {
      const hour = Number(hourOf.format(record!.startedAt));
      const entry = expectedHours.get(hour) ?? { hour, received: 0, answered: 0, abandoned: 0 };
      entry.received++;
      if (record!.outcome === 'answered') entry.answered++;
      else entry.abandoned++;
      expectedHours.set(hour, entry);
    }
    assert.equal(
      stats.hours.filter((h) => h.received > 0),
      [...expectedHours.values()].sort((a, b) => a.hour - b.hour),
    );

    // The day before is empty; an employee may not look.
    const { start } = dayBounds(stats.date, context.timeZone);
    const yesterday = await statistics(app, manager, `?date=${dateIn(context.timeZone, start - 1)}`);
    assert.is(yesterday.total.received, 0);
    assert.is(yesterday.total.callbacks, 0);
    assert.is((await asUser(app, context.anna, 'GET', '/api/statistics')).statusCode, 403);
  },
);

day.run();
