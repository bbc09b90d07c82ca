/**
 * The call board's signaling side (docs/call-board.md) against a real Redis: the projector turning
 * call and callback events into tasks, and /api/tasks. The events here are appended by the test in
 * the sip app's exact format (CallStore: field "event", CallEvent JSON; one entry per state change);
 * tests/integration/signaling/call-board-stack.test.ts drives the same through the real sip app.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CALLBACK_GRANT_SECONDS,
  CALLBACK_TOKEN_PATTERN,
  SESSION_COOKIE,
  TASK_COMMENT_MAX_LENGTH,
  type ApiError,
  type CallView,
  type CallbackGrant,
  type CallbackStartResponse,
  type CallbackView,
  type PushEvent,
  type Subject,
  type TaskListResponse,
  type TaskTab,
  type TaskView,
} from '@deskline/protocol';
import { RedisKeys, RedisStreams } from '@deskline/store';
import { Redis } from 'ioredis';
import pino from 'pino';
import { TASKS_GROUP, TaskProjector } from '@deskline/signaling/services/task-projector';
import { TaskStore } from '@deskline/signaling/services/task-store';
import { PushEvents } from '../../helpers/push-events.js';
import { asUser, buildTestApp, createUser, loginOk, useFreshApp, type LoggedIn } from '../../helpers/signaling.js';
import { REPLAY_TIMEOUT_MS, projected } from '../../helpers/board-tasks.js';
import { waitFor } from '../../helpers/wait.js';

const fixture = useFreshApp(test);
const NUMBER = '+48600100200';
let maria: LoggedIn;
let anna: LoggedIn;
let ben: LoggedIn;
let subjects: Subject[];
let seq = 0;

test.before.each(async () => {
  const { app } = fixture;
  maria = await loginOk(app, 'maria@clinic.example', await createUser(app, 'maria@clinic.example', 'manager'));
  anna = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
  ben = await loginOk(app, 'ben@clinic.example', await createUser(app, 'ben@clinic.example', 'employee'));
  subjects = await app.subjects.list();
  // The projector starts with the app.
  await app.ready();
});

const id = (who: LoggedIn): string => who.info.user.id;

/** Appends one state of a call as the sip app's CallStore does; answers the entry id. */
async function callEvent(call: CallView): Promise<string> {
  return (await fixture.db.xadd(
    RedisStreams.callEvents,
    'MAXLEN',
    '~',
    '10000',
    '*',
    'event',
    JSON.stringify({ call }),
  )) as string;
}

async function callbackEvent(callback: CallbackView): Promise<string> {
  return (await fixture.db.xadd(RedisStreams.callbackEvents, '*', 'event', JSON.stringify({ callback }))) as string;
}

/** A patient's call through its states, each one appended as an event. */
class PatientCall {
  readonly view: CallView;
  constructor(from: string) {
    const now = Date.now();
    this.view = { id: `call-${++seq}-${now}`, from, line: '100', state: 'intro', startedAt: now };
  }
  async to(state: CallView['state'], extra: Partial<CallView> = {}): Promise<string> {
    const now = Date.now();
    Object.assign(this.view, { state, ...extra });
    if (state === 'waiting') this.view.queuedAt ??= now;
    if (state === 'bridged') this.view.answeredAt = now;
    if (state === 'waiting') {
      delete this.view.agentUserId;
      delete this.view.workstationId;
    }
    if (state === 'ended' || state === 'abandoned') this.view.endedAt = now;
    return callEvent({ ...this.view });
  }
  static async arrives(from = NUMBER): Promise<PatientCall> {
    const call = new PatientCall(from);
    await call.to('intro');
    return call;
  }
  /** Arrives, waits, and hangs up before anyone answers. */
  static async missed(from = NUMBER): Promise<PatientCall> {
    const call = await PatientCall.arrives(from);
    await call.to('waiting');
    await call.to('abandoned');
    return call;
  }
  /** Arrives, is answered by `agent` and is still on the line. */
  static async answered(agent: string, from = NUMBER): Promise<PatientCall> {
    const call = await PatientCall.arrives(from);
    await call.to('waiting');
    await call.to('ringing', { agentUserId: agent, workstationId: 'w1' });
    await call.to('bridged');
    return call;
  }
}

/** The task of a call, once the projector has applied the call's last event so far. */
async function taskOf(call: PatientCall, check: (task: TaskView) => boolean = () => true): Promise<TaskView> {
  return waitFor(`the task of ${call.view.id} (${call.view.state})`, async () => {
    const taskId = await fixture.db.get(RedisKeys.callTask(call.view.id));
    const task = taskId ? await fixture.app.tasks.get(taskId) : undefined;
    return task && task.call?.id === call.view.id && task.call.state === call.view.state && check(task)
      ? task
      : undefined;
  });
}

async function tab(who: LoggedIn, name: TaskTab, query = ''): Promise<TaskView[]> {
  const response = await asUser(fixture.app, who, 'GET', `/api/tasks?tab=${name}${query}`);
  assert.is(response.statusCode, 200, response.body);
  return response.json<TaskListResponse>().tasks;
}

async function onWorkstation(who: LoggedIn, name: string): Promise<string> {
  const workstation = await fixture.app.workstations.create({ name, kind: 'browser' });
  await fixture.app.agents.selectWorkstation(id(who), workstation.id, async (holder) => holder);
  return workstation.id;
}

test('(a, g) three missed calls from one number are one unanswered task with 3 attempts; replayed and re-appended events count nothing again', async () => {
  const { db } = fixture;
  const first = await PatientCall.missed();
  const firstTask = await taskOf(first);
  assert.is(firstTask.status, 'unanswered');
  assert.is(firstTask.attempts, 1);
  assert.is(firstTask.assigneeUserId, undefined);
  assert.is(await db.get(RedisKeys.patientTask(NUMBER)), firstTask.id);

  const second = await PatientCall.arrives();
  // The new call joins the unanswered task: it is incoming again while the patient waits.
  assert.is((await taskOf(second)).id, firstTask.id);
  assert.is((await taskOf(second)).status, 'incoming');
  await second.to('abandoned');
  const third = await PatientCall.missed();
  const task = await taskOf(third);
  assert.is(task.id, firstTask.id);
  assert.is(task.status, 'unanswered');
  assert.is(task.attempts, 3);
  assert.equal(task.callIds, [first.view.id, second.view.id, third.view.id]);
  assert.equal(
    (await tab(maria, 'unanswered')).map((t) => t.id),
    [task.id],
  );
  assert.is((await db.smembers(RedisKeys.openTasks)).length, 1);
  await projected(db);

  // A consumer that died before its XACK gets its entries delivered again, with the same ids: here
  // the whole stream at once.
  const boardBefore = await db.xlen(RedisStreams.boardEvents);
  await db.xgroup('SETID', RedisStreams.callEvents, TASKS_GROUP, '0');
  await projected(db, REPLAY_TIMEOUT_MS);
  // And the sip app's last event appended a second time (a new id).
  await callEvent({ ...third.view });
  await projected(db);
  const after = await fixture.app.tasks.get(task.id);
  assert.is(after?.attempts, 3);
  assert.equal(after?.callIds.length, 3);
  assert.is(await db.xlen(RedisStreams.boardEvents), boardBefore, 'nothing was changed, so nothing announced');
});

test('events of one call applied out of order: the later state stays', async () => {
  const call = new PatientCall(NUMBER);
  call.view.state = 'intro';
  const introId = await callEvent({ ...call.view });
  await call.to('waiting');
  const waiting = await taskOf(call);
  // The intro's entry again (as another consumer applying its older entry late): stale.
  const result = await fixture.app.tasks.applyCallEvent({ ...call.view, state: 'intro' }, introId);
  assert.is(result, 'stale');
  assert.is((await fixture.app.tasks.get(waiting.id))?.call?.state, 'waiting');
});

test('withheld numbers never join: each call is its own task, and it cannot be called back', async () => {
  await onWorkstation(anna, 'Reception 1');
  const tasks: TaskView[] = [];
  for (const from of ['', 'anonymous', '', 'Anonymous']) tasks.push(await taskOf(await PatientCall.missed(from)));
  assert.is(new Set(tasks.map((t) => t.id)).size, 4);
  for (const task of tasks) assert.is(task.attempts, 1);
  assert.is(await fixture.db.exists(RedisKeys.patientTask(''), RedisKeys.patientTask('anonymous')), 0);
  const response = await asUser(fixture.app, anna, 'POST', `/api/tasks/${tasks[0]!.id}/callback`);
  assert.is(response.statusCode, 409, response.body);
  assert.match(response.json<ApiError>().message, /withheld/);
});

test('a caller the trunk cannot dial (a name, not a number) keeps one task per caller, but cannot be called back', async () => {
  await onWorkstation(anna, 'Reception 1');
  const first = await taskOf(await PatientCall.missed('alice'));
  const second = await taskOf(await PatientCall.missed('alice'));
  assert.is(second.id, first.id);
  assert.is(second.attempts, 2);
  const response = await asUser(fixture.app, anna, 'POST', `/api/tasks/${first.id}/callback`);
  assert.is(response.statusCode, 409, response.body);
  assert.is(
    response.json<ApiError>().message,
    "alice is outside the clinic's callback policy: it is not a phone number.",
  );
  assert.is(await fixture.db.exists(RedisKeys.taskCallback(first.id)), 0, 'no lock taken');
});

test('(d) an answered call: on the line with its agent, wrap-up at hang-up; close needs a subject; the subject persists; Closed tab; the next call shows it as previous', async () => {
  const { app, db } = fixture;
  const call = await PatientCall.answered(id(anna));
  const onLine = await taskOf(call);
  assert.is(onLine.status, 'on-the-line');
  assert.is(onLine.assigneeUserId, id(anna));
  assert.equal(
    (await tab(ben, 'on-the-line')).map((t) => t.id),
    [onLine.id],
  );

  let response = await asUser(app, anna, 'POST', `/api/tasks/${onLine.id}/close`);
  assert.is(response.statusCode, 409, 'not while on the line');

  await call.to('ended');
  const wrapUp = await taskOf(call);
  assert.is(wrapUp.status, 'wrap-up');
  assert.is(wrapUp.assigneeUserId, id(anna));

  response = await asUser(app, anna, 'POST', `/api/tasks/${wrapUp.id}/close`);
  assert.is(response.statusCode, 409);
  assert.equal(response.json(), {
    statusCode: 409,
    error: 'subject-required',
    message: 'Choose a subject before closing the task.',
  });

  const subject = subjects[1]!;
  response = await asUser(app, anna, 'PATCH', `/api/tasks/${wrapUp.id}`, {
    subjectId: subject.id,
    comment: 'Booked for Tuesday',
  });
  assert.is(response.statusCode, 200, response.body);
  assert.is(response.json<TaskView>().status, 'wrap-up', 'choosing a subject does not close');
  // Persisted: a reload (a fresh GET) shows it.
  response = await asUser(app, anna, 'GET', `/api/tasks/${wrapUp.id}`);
  assert.is(response.json<TaskView>().subjectId, subject.id);
  assert.is(response.json<TaskView>().comment, 'Booked for Tuesday');

  response = await asUser(app, anna, 'POST', `/api/tasks/${wrapUp.id}/close`);
  assert.is(response.statusCode, 200, response.body);
  const closed = response.json<TaskView>();
  assert.is(closed.status, 'closed');
  assert.is(closed.closedByUserId, id(anna));
  assert.ok(closed.closedAt && Math.abs(closed.closedAt - Date.now()) < 5000);
  assert.equal(
    (await tab(anna, 'closed')).map((t) => t.id),
    [closed.id],
  );
  assert.equal(await tab(anna, 'pending'), []);
  assert.is(await db.sismember(RedisKeys.openTasks, closed.id), 0);
  assert.ok((await db.ttl(RedisKeys.task(closed.id))) > 80 * 86400, 'kept for the retention period');
  assert.is(await db.get(RedisKeys.patientLastSubject(NUMBER)), subject.id);

  // Closing twice changes nothing.
  response = await asUser(app, anna, 'POST', `/api/tasks/${closed.id}/close`);
  assert.equal(response.json<TaskView>(), closed);

  const next = await PatientCall.arrives();
  const nextTask = await taskOf(next);
  assert.is.not(nextTask.id, closed.id);
  assert.is(nextTask.previousSubjectId, subject.id);

  // Closed is newest closed first.
  await next.to('waiting');
  await next.to('abandoned');
  await taskOf(next, (t) => t.status === 'unanswered');
  response = await asUser(app, maria, 'PATCH', `/api/tasks/${nextTask.id}`, { subjectId: subjects[0]!.id });
  assert.is(response.statusCode, 200);
  response = await asUser(app, maria, 'POST', `/api/tasks/${nextTask.id}/close`);
  assert.is(response.statusCode, 200, 'an unanswered task with a subject can be closed');
  assert.equal(
    (await tab(anna, 'closed')).map((t) => t.id),
    [nextTask.id, closed.id],
  );
  assert.equal(
    (await tab(anna, 'closed', '&limit=1')).map((t) => t.id),
    [nextTask.id],
  );
});

test('a subject chosen while on the line closes the task at hang-up', async () => {
  const call = await PatientCall.answered(id(anna));
  const task = await taskOf(call);
  const response = await asUser(fixture.app, anna, 'PATCH', `/api/tasks/${task.id}`, { subjectId: subjects[0]!.id });
  assert.is(response.statusCode, 200);
  await call.to('ended');
  const closed = await taskOf(call);
  assert.is(closed.status, 'closed');
  assert.is(closed.closedByUserId, id(anna));
  assert.is(closed.closedAt, call.view.endedAt);
});

test('a number whose task is on the line or in wrap-up gets a new task for a new call', async () => {
  const first = await PatientCall.answered(id(anna));
  const firstTask = await taskOf(first);
  const second = await PatientCall.missed();
  const secondTask = await taskOf(second);
  assert.is.not(secondTask.id, firstTask.id);
  await first.to('ended');
  await taskOf(first, (t) => t.status === 'wrap-up');
  const third = await PatientCall.missed();
  const thirdTask = await taskOf(third);
  assert.is(thirdTask.id, secondTask.id, 'the unanswered one is joined');
  assert.is(thirdTask.attempts, 2);
});

test('(e) employees change their own and unassigned tasks only; Pending shows an employee theirs and the unassigned, a manager everything', async () => {
  const { app } = fixture;
  const annas = await PatientCall.answered(id(anna), '+48600000001');
  await annas.to('ended');
  const annaTask = await taskOf(annas);
  const waiting = await PatientCall.arrives('+48600000002');
  await waiting.to('waiting');
  const unassigned = await taskOf(waiting);

  for (const [method, url, body] of [
    ['PATCH', `/api/tasks/${annaTask.id}`, { subjectId: subjects[0]!.id }],
    ['PATCH', `/api/tasks/${annaTask.id}`, { comment: 'mine now' }],
    ['POST', `/api/tasks/${annaTask.id}/close`, undefined],
    ['POST', `/api/tasks/${annaTask.id}/problems`, { kind: 'echo' }],
  ] as const) {
    const response = await asUser(app, ben, method, url, body);
    assert.is(response.statusCode, 403, `${method} ${url}: ${response.body}`);
  }
  assert.is((await asUser(app, ben, 'GET', `/api/tasks/${annaTask.id}`)).statusCode, 403);
  assert.is((await app.tasks.get(annaTask.id))?.subjectId, undefined, 'unchanged');

  assert.equal(
    (await tab(ben, 'pending')).map((t) => t.id),
    [unassigned.id],
  );
  assert.equal((await tab(anna, 'pending')).map((t) => t.id).sort(), [annaTask.id, unassigned.id].sort());
  assert.equal((await tab(maria, 'pending')).map((t) => t.id).sort(), [annaTask.id, unassigned.id].sort());

  // Ben may comment on the unassigned one; Maria (a manager) may change Anna's.
  assert.is(
    (await asUser(app, ben, 'PATCH', `/api/tasks/${unassigned.id}`, { comment: 'Asked about results' })).statusCode,
    200,
  );
  assert.is(
    (await asUser(app, maria, 'PATCH', `/api/tasks/${annaTask.id}`, { subjectId: subjects[2]!.id })).statusCode,
    200,
  );
  const closed = await asUser(app, maria, 'POST', `/api/tasks/${annaTask.id}/close`);
  assert.is(closed.statusCode, 200);
  assert.is(closed.json<TaskView>().closedByUserId, id(maria));
  assert.is(closed.json<TaskView>().assigneeUserId, id(anna));
});

test("(f) a callback needs a workstation and an unanswered task; a second click is refused naming who calls; the grant holds the task's number for 30 s", async () => {
  const { app, db } = fixture;
  const missed = await PatientCall.missed();
  const task = await taskOf(missed);
  const answered = await PatientCall.answered(id(maria), '+48600999999');
  const onLine = await taskOf(answered);

  let response = await asUser(app, anna, 'POST', `/api/tasks/${task.id}/callback`);
  assert.is(response.statusCode, 409);
  assert.is(response.json<ApiError>().message, 'Pick a workstation to call patients back.');

  const annaWorkstation = await onWorkstation(anna, 'Reception 1');
  await onWorkstation(ben, 'Reception 2');
  await onWorkstation(maria, 'Office');
  response = await asUser(app, maria, 'POST', `/api/tasks/${onLine.id}/callback`);
  assert.is(response.statusCode, 409, 'not unanswered');
  assert.match(response.json<ApiError>().message, /nobody answered/);

  response = await asUser(app, anna, 'POST', `/api/tasks/${task.id}/callback`);
  assert.is(response.statusCode, 201, response.body);
  const started = response.json<CallbackStartResponse>();
  const token = /^sip:cb-([0-9a-f]+)@deskline\.local$/.exec(started.target)?.[1] ?? '';
  assert.ok(CALLBACK_TOKEN_PATTERN.test(token), started.target);
  const grant = JSON.parse((await db.get(RedisKeys.callbackGrant(token))) ?? '{}') as CallbackGrant;
  assert.equal(
    { ...grant, grantedAt: 0 },
    {
      callbackId: started.callbackId,
      taskId: task.id,
      number: NUMBER,
      userId: id(anna),
      workstationId: annaWorkstation,
      sipUser: `ws-${annaWorkstation}`,
      grantedAt: 0,
    },
  );
  const ttl = await db.ttl(RedisKeys.callbackGrant(token));
  assert.ok(ttl > 0 && ttl <= CALLBACK_GRANT_SECONDS, `TTL ${ttl}`);
  assert.is(await db.get(RedisKeys.taskCallback(task.id)), started.callbackId);
  assert.ok((await db.ttl(RedisKeys.taskCallback(task.id))) <= CALLBACK_GRANT_SECONDS);

  // Ben clicks a moment later, and Anna herself twice.
  response = await asUser(app, ben, 'POST', `/api/tasks/${task.id}/callback`);
  assert.is(response.statusCode, 409);
  assert.is(response.json<ApiError>().message, 'anna is already calling this patient.');
  response = await asUser(app, anna, 'POST', `/api/tasks/${task.id}/callback`);
  assert.is(response.json<ApiError>().message, 'You are already calling this patient.');
  assert.is((await db.keys('callback-grant:*')).length, 1, 'one grant only');

  // Two clicks at the same moment: one grant.
  await db.del(RedisKeys.taskCallback(task.id));
  const both = await Promise.all([anna, ben].map((who) => asUser(app, who, 'POST', `/api/tasks/${task.id}/callback`)));
  assert.equal(both.map((r) => r.statusCode).sort(), [201, 409]);
});

test('a callback moves its task: calling-back with the caller, back to unanswered with the outcome, then on the line, wrap-up and Closed', async () => {
  const { app } = fixture;
  await onWorkstation(anna, 'Reception 1');
  const task = await taskOf(await PatientCall.missed());
  const view = (state: CallbackView['state'], callbackId: string, extra: Partial<CallbackView> = {}): CallbackView => ({
    id: callbackId,
    taskId: task.id,
    number: NUMBER,
    userId: id(anna),
    workstationId: 'w1',
    state,
    startedAt: 1_700_000_000_000 + Number(callbackId.slice(-1)),
    ...extra,
  });
  const until = (check: (t: TaskView) => boolean) =>
    waitFor('the callback to show', async () => {
      const t = await app.tasks.get(task.id);
      return t && check(t) ? t : undefined;
    });

  await callbackEvent(view('dialing', 'cb1'));
  let t = await until((x) => x.status === 'calling-back');
  assert.is(t.assigneeUserId, id(anna));
  assert.equal(
    (await tab(ben, 'on-the-line')).map((x) => x.id),
    [task.id],
  );
  assert.is((await asUser(app, anna, 'POST', `/api/tasks/${task.id}/close`)).statusCode, 409);
  await callbackEvent(view('ringing', 'cb1'));
  await callbackEvent(view('ended', 'cb1', { outcome: 'no-answer', endedAt: Date.now() }));
  t = await until((x) => x.status === 'unanswered');
  assert.is(t.assigneeUserId, undefined);
  assert.equal(t.callbacks, [{ callbackId: 'cb1', userId: id(anna), at: 1_700_000_000_001, outcome: 'no-answer' }]);
  assert.is(t.attempts, 1, 'a callback is not a missed call');

  await callbackEvent(view('dialing', 'cb2'));
  await callbackEvent(view('answered', 'cb2', { answeredAt: Date.now() }));
  t = await until((x) => x.status === 'on-the-line');
  assert.is(t.assigneeUserId, id(anna));
  await callbackEvent(view('ended', 'cb2', { outcome: 'answered', answeredAt: Date.now(), endedAt: Date.now() }));
  t = await until((x) => x.status === 'wrap-up');
  assert.equal(
    t.callbacks.map((a) => a.outcome),
    ['no-answer', 'answered'],
  );
  assert.is(
    (await asUser(app, anna, 'PATCH', `/api/tasks/${task.id}`, { subjectId: subjects[0]!.id })).statusCode,
    200,
  );
  assert.is((await asUser(app, anna, 'POST', `/api/tasks/${task.id}/close`)).statusCode, 200);
});

test('(h) bad bodies and queries are 400, unknown ids 404', async () => {
  const { app } = fixture;
  const task = await taskOf(await PatientCall.missed());
  const retired = await app.subjects.retire(subjects[0]!.id);
  for (const [method, url, body] of [
    ['GET', '/api/tasks', undefined],
    ['GET', '/api/tasks?tab=everything', undefined],
    ['GET', '/api/tasks?tab=closed&limit=0', undefined],
    ['GET', '/api/tasks?tab=closed&limit=501', undefined],
    ['PATCH', `/api/tasks/${task.id}`, { subject: 'x' }],
    ['PATCH', `/api/tasks/${task.id}`, { subjectId: 7 }],
    ['PATCH', `/api/tasks/${task.id}`, { comment: 'x'.repeat(TASK_COMMENT_MAX_LENGTH + 1) }],
    ['PATCH', `/api/tasks/${task.id}`, { subjectId: 'no-such-subject' }],
    ['PATCH', `/api/tasks/${task.id}`, { subjectId: retired.id }],
    ['POST', `/api/tasks/${task.id}/problems`, { kind: 'noise' }],
    ['POST', `/api/tasks/${task.id}/problems`, { kind: 'echo', note: 'x'.repeat(501) }],
    ['POST', `/api/tasks/${task.id}/problems`, {}],
  ] as const) {
    const response = await asUser(app, anna, method, url, body);
    assert.is(response.statusCode, 400, `${method} ${url} ${JSON.stringify(body)?.slice(0, 60)}: ${response.body}`);
    assert.ok(response.json<ApiError>().message.length > 0);
  }
  assert.is((await asUser(app, anna, 'GET', '/api/tasks?tab=closed&limit=500')).statusCode, 200);
  await onWorkstation(anna, 'Reception 1');
  for (const [method, url, body] of [
    ['GET', '/api/tasks/nope', undefined],
    ['PATCH', '/api/tasks/nope', { comment: 'x' }],
    ['POST', '/api/tasks/nope/close', undefined],
    ['POST', '/api/tasks/nope/problems', { kind: 'echo' }],
    ['POST', '/api/tasks/nope/callback', undefined],
  ] as const) {
    const response = await asUser(app, anna, method, url, body);
    assert.is(response.statusCode, 404, `${method} ${url}: ${response.body}`);
    assert.is(response.json<ApiError>().message, 'No such task.');
  }
  // Without a session, or without the CSRF token, nothing.
  assert.is((await app.inject({ method: 'GET', url: '/api/tasks?tab=pending' })).statusCode, 401);
  const noCsrf = await app.inject({
    method: 'PATCH',
    url: `/api/tasks/${task.id}`,
    cookies: { [SESSION_COOKIE]: anna.cookie },
    payload: { comment: 'x' },
  });
  assert.ok([401, 403].includes(noCsrf.statusCode), noCsrf.body);
});

test('a reported problem is kept on the task with its call, and a comment can be cleared', async () => {
  const { app } = fixture;
  const call = await PatientCall.answered(id(anna));
  const task = await taskOf(call);
  let response = await asUser(app, anna, 'POST', `/api/tasks/${task.id}/problems`, {
    kind: 'bad-audio',
    note: 'Crackling',
  });
  assert.is(response.statusCode, 201, response.body);
  const [problem] = response.json<TaskView>().problems;
  assert.equal(
    { ...problem, at: 0 },
    { kind: 'bad-audio', note: 'Crackling', callId: call.view.id, userId: id(anna), at: 0 },
  );
  response = await asUser(app, anna, 'PATCH', `/api/tasks/${task.id}`, { comment: 'Call back after 3' });
  assert.is(response.json<TaskView>().comment, 'Call back after 3');
  response = await asUser(app, anna, 'PATCH', `/api/tasks/${task.id}`, { comment: '', subjectId: null });
  assert.is(response.json<TaskView>().comment, undefined);
  assert.is(response.json<TaskView>().subjectId, undefined);
});

test('concurrent changes of one task are none of them lost (optimistic locking)', async () => {
  const { app } = fixture;
  const call = await PatientCall.answered(id(anna));
  const task = await taskOf(call);
  // The call ends meanwhile: the projector's write races the reports too.
  const [reports] = await Promise.all([
    Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        asUser(app, i % 2 ? anna : maria, 'POST', `/api/tasks/${task.id}/problems`, {
          kind: 'other',
          note: `report ${i}`,
        }),
      ),
    ),
    call.to('ended'),
  ]);
  assert.equal(
    reports.map((r) => r.statusCode),
    Array(12).fill(201),
  );
  const after = await taskOf(call, (t) => t.status === 'wrap-up');
  assert.equal(after.problems.map((p) => p.note).sort(), Array.from({ length: 12 }, (_, i) => `report ${i}`).sort());
});

test('push: hello carries the open tasks the user may see; task changes reach the sockets that may see them, subject changes every socket', async () => {
  const { app } = fixture;
  const annas = await PatientCall.answered(id(anna), '+48600000001');
  await annas.to('ended');
  const annaTask = await taskOf(annas);
  const unassigned = await taskOf(await PatientCall.missed('+48600000002'));

  const benPush = await PushEvents.open(app, ben);
  const mariaPush = await PushEvents.open(app, maria);
  try {
    const isHello = (e: PushEvent): e is Extract<PushEvent, { type: 'hello' }> => e.type === 'hello';
    const benHello = await benPush.waitFor("Ben's hello", isHello);
    assert.equal(
      benHello.event.tasks.map((t) => t.id),
      [unassigned.id],
      "not Anna's wrap-up",
    );
    const mariaHello = await mariaPush.waitFor("Maria's hello", isHello);
    assert.equal(mariaHello.event.tasks.map((t) => t.id).sort(), [annaTask.id, unassigned.id].sort());
    assert.not.ok(JSON.stringify(mariaHello.event.tasks).includes('applied'), 'no bookkeeping on the wire');

    const from = benPush.mark();
    const mariaFrom = mariaPush.mark();
    const sentAt = Date.now();
    assert.is(
      (await asUser(app, anna, 'PATCH', `/api/tasks/${annaTask.id}`, { comment: 'Needs a referral' })).statusCode,
      200,
    );
    // Anna's wrap-up is hers: the manager's socket hears of the comment, Ben's does not (REST refuses him too).
    const pushed = await mariaPush.waitFor(
      "Anna's comment at Maria's socket",
      (e): e is Extract<PushEvent, { type: 'task' }> =>
        e.type === 'task' && e.task.id === annaTask.id && e.task.comment === 'Needs a referral',
      mariaFrom,
    );
    assert.ok(pushed.at - sentAt < 1000, `${pushed.at - sentAt} ms`);

    const created = await asUser(app, maria, 'POST', '/api/subjects', { name: 'Prescription' });
    const subject = created.json<Subject>();
    const pushedSubject = await benPush.waitFor(
      "the new subject at Ben's socket",
      (e): e is Extract<PushEvent, { type: 'subject' }> => e.type === 'subject' && e.subject.id === subject.id,
      from,
    );
    assert.equal(pushedSubject.event.subject, subject);
    assert.not.ok(
      benPush.seen.slice(from).some(({ event }) => event.type === 'task' && event.task.id === annaTask.id),
      "Ben got nothing of Anna's pending task before the later subject",
    );
    await app.subjects.retire(subject.id);
    await benPush.waitFor(
      'the retired subject',
      (e): e is Extract<PushEvent, { type: 'subject' }> => e.type === 'subject' && e.subject.retired,
      from,
    );
  } finally {
    await benPush.close();
    await mariaPush.close();
  }
});

test('the projector picks up where it stopped: events appended while signaling was down are applied at the next start', async () => {
  const { app, redisUrl } = fixture;
  await app.close();
  const call = await PatientCall.missed();
  fixture.app = await buildTestApp(redisUrl);
  await fixture.app.ready();
  const task = await taskOf(call);
  assert.is(task.status, 'unanswered');
});

test('an instance that died holding events: another takes them over (XAUTOCLAIM) and applies them', async () => {
  const { app, db, redisUrl } = fixture;
  // The app's own projector stops, so that only the dead consumer can be handed the entry; the app
  // built again is not started (its projector starts when ready), and only reads the tasks here.
  await app.close();
  fixture.app = await buildTestApp(redisUrl);
  const call = new PatientCall(NUMBER);
  call.view.state = 'abandoned';
  call.view.endedAt = Date.now();
  await callEvent({ ...call.view });
  const taken = (await db.xreadgroup(
    'GROUP',
    TASKS_GROUP,
    'died',
    'COUNT',
    10,
    'STREAMS',
    RedisStreams.callEvents,
    '>',
  )) as Array<[string, unknown[]]>;
  assert.is(taken[0]?.[1].length, 1, 'the dead consumer holds the entry unacknowledged');

  const reader = new Redis(redisUrl);
  const survivor = new TaskProjector(
    db,
    reader,
    new TaskStore(db, { retentionDays: 90 }),
    'survivor',
    pino({ level: 'silent' }),
    {
      claimIdleMs: 200,
      claimEveryMs: 100,
    },
  );
  survivor.start();
  try {
    const task = await taskOf(call);
    assert.is(task.attempts, 1);
    await projected(db);
  } finally {
    await survivor.stop();
  }
});

test.run();
