/**
 * Call outcomes (issue 16, docs/managers.md "Call outcomes", docs/call-board.md): a hang-up during
 * the intro is an Abandoned task without Call back, one in the queue an Unanswered task with it; the
 * managers' setting that lets Abandoned tasks be called back, through the API (who may read and
 * change it, bad bodies) and the CLI; and the migration of tasks and call records written the old
 * way, at signaling's start. Against a real Redis, with the call events appended in the sip app's
 * format and turned into tasks by signaling's own projector.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  SESSION_COOKIE,
  type ApiError,
  type CallView,
  type DayStatistics,
  type OutcomeSettings,
  type TaskListResponse,
  type TaskTab,
  type TaskView,
} from '@deskline/protocol';
import { RedisKeys, RedisStreams } from '@deskline/store';
import { asUser, buildTestApp, createUser, loginOk, useFreshApp, type LoggedIn } from '../../helpers/signaling.js';
import { taskOfCall } from '../../helpers/board-tasks.js';
import { runCli } from '../../helpers/cli.js';

const fixture = useFreshApp(test);
let maria: LoggedIn;
let anna: LoggedIn;
let seq = 0;

test.before.each(async () => {
  const { app } = fixture;
  maria = await loginOk(app, 'maria@clinic.example', await createUser(app, 'maria@clinic.example', 'manager'));
  anna = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
  await app.ready();
});

async function append(call: CallView): Promise<void> {
  await fixture.db.xadd(RedisStreams.callEvents, '*', 'event', JSON.stringify({ call }));
}

/** A patient who hangs up during the intro, as the sip app reports it. */
async function hangsUpInIntro(from: string): Promise<TaskView> {
  const now = Date.now();
  const call: CallView = { id: `intro-${++seq}`, from, line: '100', state: 'intro', startedAt: now };
  await append(call);
  await append({ ...call, state: 'abandoned', abandonedIn: 'intro', endedAt: now + 2_000 });
  return taskOfCall(fixture.app, fixture.db, call.id, (t) => t.call?.state === 'abandoned');
}

/** A patient who hangs up while waiting in the queue. */
async function hangsUpWaiting(from: string): Promise<TaskView> {
  const now = Date.now();
  const call: CallView = { id: `waiting-${++seq}`, from, line: '100', state: 'intro', startedAt: now };
  await append(call);
  await append({ ...call, state: 'waiting', queuedAt: now + 1_000 });
  await append({ ...call, state: 'abandoned', queuedAt: now + 1_000, abandonedIn: 'waiting', endedAt: now + 9_000 });
  return taskOfCall(fixture.app, fixture.db, call.id, (t) => t.call?.state === 'abandoned');
}

async function tab(who: LoggedIn, name: TaskTab): Promise<string[]> {
  const response = await asUser(fixture.app, who, 'GET', `/api/tasks?tab=${name}`);
  assert.is(response.statusCode, 200, response.body);
  return response.json<TaskListResponse>().tasks.map((t) => t.id);
}

async function onWorkstation(who: LoggedIn): Promise<void> {
  const workstation = await fixture.app.workstations.create({ name: `Desk of ${who.info.user.id}`, kind: 'browser' });
  await fixture.app.agents.selectWorkstation(who.info.user.id, workstation.id, async (holder) => holder);
}

test('an intro hang-up is Abandoned and refused a callback; a queue hang-up is Unanswered and called back', async () => {
  const { app } = fixture;
  const abandoned = await hangsUpInIntro('+48600100201');
  const unanswered = await hangsUpWaiting('+48600100202');
  assert.is(abandoned.status, 'abandoned');
  assert.is(unanswered.status, 'unanswered');
  assert.equal(await tab(anna, 'abandoned'), [abandoned.id]);
  assert.equal(await tab(anna, 'unanswered'), [unanswered.id]);
  assert.equal(await tab(anna, 'pending'), []);

  await onWorkstation(anna);
  let response = await asUser(app, anna, 'POST', `/api/tasks/${abandoned.id}/callback`);
  assert.is(response.statusCode, 409);
  assert.is(
    response.json<ApiError>().message,
    'The patient hung up during the intro: the clinic does not call back abandoned calls.',
  );
  assert.is(await fixture.db.get(RedisKeys.taskCallback(abandoned.id)), null, 'no lock, no grant');
  response = await asUser(app, anna, 'POST', `/api/tasks/${unanswered.id}/callback`);
  assert.is(response.statusCode, 201, response.body);

  // The same patient calls again and hangs up in the queue: the Abandoned task becomes Unanswered.
  const again = await hangsUpWaiting('+48600100201');
  assert.is(again.id, abandoned.id, 'one task per number');
  assert.is(again.status, 'unanswered');
  assert.is(again.attempts, 2);
  assert.equal(await tab(anna, 'abandoned'), []);
});

test('the setting: everyone reads it, only managers change it; on, an Abandoned task can be called back', async () => {
  const { app } = fixture;
  const abandoned = await hangsUpInIntro('+48600100203');
  await onWorkstation(anna);

  let response = await asUser(app, anna, 'GET', '/api/settings/outcomes');
  assert.is(response.statusCode, 200);
  assert.equal(response.json<OutcomeSettings>(), { abandonedCallbacks: false });

  response = await asUser(app, anna, 'PUT', '/api/settings/outcomes', { abandonedCallbacks: true });
  assert.is(response.statusCode, 403, 'an employee may not change it');
  assert.equal(await app.outcomeSettings.get(), { abandonedCallbacks: false });
  assert.is((await app.inject({ method: 'GET', url: '/api/settings/outcomes' })).statusCode, 401);
  assert.is(
    (await app.inject({ method: 'PUT', url: '/api/settings/outcomes', payload: { abandonedCallbacks: true } }))
      .statusCode,
    401,
  );
  // Without the CSRF token, or from another site.
  response = await app.inject({
    method: 'PUT',
    url: '/api/settings/outcomes',
    cookies: { [SESSION_COOKIE]: maria.cookie },
    payload: { abandonedCallbacks: true },
  });
  assert.is(response.statusCode, 403);
  for (const bad of [
    {},
    { abandonedCallbacks: 'yes' },
    { abandonedCallbacks: 'on' },
    { abandonedCallbacks: true, more: 1 },
  ]) {
    response = await asUser(app, maria, 'PUT', '/api/settings/outcomes', bad);
    assert.is(response.statusCode, 400, JSON.stringify(bad));
  }
  assert.equal(await app.outcomeSettings.get(), { abandonedCallbacks: false }, 'nothing saved by the refusals');

  response = await asUser(app, maria, 'PUT', '/api/settings/outcomes', { abandonedCallbacks: true });
  assert.is(response.statusCode, 200, response.body);
  assert.equal(response.json<OutcomeSettings>(), { abandonedCallbacks: true });
  response = await asUser(app, anna, 'GET', '/api/settings/outcomes');
  assert.equal(response.json<OutcomeSettings>(), { abandonedCallbacks: true });

  response = await asUser(app, anna, 'POST', `/api/tasks/${abandoned.id}/callback`);
  assert.is(response.statusCode, 201, response.body);
  assert.equal(await tab(anna, 'abandoned'), [abandoned.id], 'the task stays Abandoned until the callback starts');

  // Off again: refused again (another task, as this one is locked by the callback).
  assert.is((await asUser(app, maria, 'PUT', '/api/settings/outcomes', { abandonedCallbacks: false })).statusCode, 200);
  const other = await hangsUpInIntro('+48600100204');
  assert.is((await asUser(app, anna, 'POST', `/api/tasks/${other.id}/callback`)).statusCode, 409);
});

test('the statistics count Abandoned and Unanswered apart', async () => {
  await hangsUpInIntro('+48600100205');
  await hangsUpWaiting('+48600100206');
  await hangsUpWaiting('+48600100207');
  // The sip app is not running here: the records it would write.
  const now = Date.now();
  const records = [
    { id: 'r1', outcome: 'abandoned' },
    { id: 'r2', outcome: 'unanswered', queuedAt: now - 5_000 },
    { id: 'r3', outcome: 'unanswered', queuedAt: now - 5_000 },
  ];
  for (const r of records) {
    await fixture.db.set(
      RedisKeys.callRecord(r.id),
      JSON.stringify({ from: '+48600100205', line: '100', startedAt: now - 10_000, endedAt: now, ...r }),
    );
    await fixture.db.zadd(RedisKeys.callRecords, now - 10_000, r.id);
  }
  const response = await asUser(fixture.app, maria, 'GET', '/api/statistics');
  const day = response.json<DayStatistics>();
  assert.is(day.total.received, 3);
  assert.is(day.total.abandoned, 1);
  assert.is(day.total.unanswered, 2);
});

test('CLI: outcomes show and set, read back by the API; a bad value is refused', async () => {
  const env = { REDIS_URL: fixture.redisUrl };
  let run = await runCli(['outcomes', 'show'], env);
  assert.is(run.code, 0, run.stderr);
  assert.is(run.stdout.trim(), 'Abandoned calls (hung up during the intro): no Call back; Unanswered ones only');
  run = await runCli(['outcomes', 'set', '--abandoned-callbacks', 'on'], env);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, /Call back offered, as for Unanswered ones/);
  const response = await asUser(fixture.app, anna, 'GET', '/api/settings/outcomes');
  assert.equal(response.json<OutcomeSettings>(), { abandonedCallbacks: true });
  run = await runCli(['outcomes', 'show', '--json'], env);
  assert.equal(JSON.parse(run.stdout) as OutcomeSettings, { abandonedCallbacks: true });

  for (const args of [['--abandoned-callbacks', 'maybe'], []]) {
    run = await runCli(['outcomes', 'set', ...args], env);
    assert.is(run.code, 2, `${args.join(' ')}: ${run.stdout}`);
    assert.match(run.stderr, /abandoned-callbacks/);
  }
  assert.equal(await fixture.app.outcomeSettings.get(), { abandonedCallbacks: true }, 'unchanged by the refusals');
  run = await runCli(['outcomes', 'set', '--abandoned-callbacks', 'off'], env);
  assert.is(run.code, 0, run.stderr);
  assert.equal(await fixture.app.outcomeSettings.get(), { abandonedCallbacks: false });
});

// ----- Migration of what an older Deskline wrote --------------------------------------------------

/** A task as signaling wrote it before issue 16: every miss `abandoned`, a callback task. */
function oldTask(id: string, patient: string, call: Partial<CallView>, extra: Partial<TaskView> = {}): TaskView {
  const at = Date.now() - 60_000;
  return {
    id,
    patient,
    status: 'abandoned',
    call: {
      id: `${id}-call`,
      from: patient,
      line: '100',
      state: 'abandoned',
      startedAt: at,
      endedAt: at + 5_000,
      ...call,
    },
    callIds: [`${id}-call`],
    attempts: 1,
    callbacks: [],
    problems: [],
    createdAt: at,
    updatedAt: at,
    ...extra,
  };
}

test('migration at start: old tasks move to Abandoned or Unanswered, old call records are renamed; nothing lost, a second start changes nothing', async () => {
  const { db, redisUrl } = fixture;
  await fixture.app.close();
  await db.flushall();
  // Written the old way (JSON plus the bookkeeping the projector keeps), with the indexes and pointers.
  const tasks = [
    oldTask('intro', '+48600100301', { abandonedIn: 'intro' }),
    oldTask('waiting', '+48600100302', { abandonedIn: 'waiting', queuedAt: Date.now() - 58_000 }),
    oldTask(
      'asked',
      '+48600100303',
      { state: 'callback-requested', queuedAt: Date.now() - 58_000 },
      { callbackRequested: true },
    ),
    oldTask('twice', '+48600100304', { abandonedIn: 'intro' }, { attempts: 2 }),
  ];
  for (const task of tasks) {
    await db.set(
      RedisKeys.task(task.id),
      JSON.stringify({ ...task, applied: {}, finished: [task.call!.id] }),
      'EX',
      3_600,
    );
    await db.sadd(RedisKeys.openTasks, task.id);
    await db.set(RedisKeys.patientTask(task.patient), task.id, 'EX', 3_600);
  }
  const start = Date.now() - 30_000;
  const oldRecords = { a: 'abandoned-intro', b: 'abandoned-waiting', c: 'answered', d: 'closed' } as const;
  for (const [id, outcome] of Object.entries(oldRecords)) {
    await db.set(
      RedisKeys.callRecord(id),
      JSON.stringify({ id, from: '+48600100309', line: '100', outcome, startedAt: start, endedAt: start + 1_000 }),
      'EX',
      3_600,
    );
    await db.zadd(RedisKeys.callRecords, start, id);
  }

  fixture.app = await buildTestApp(redisUrl);
  await fixture.app.ready();
  const status = async (id: string): Promise<string | undefined> => (await fixture.app.tasks.get(id))?.status;
  assert.is(await status('intro'), 'abandoned', 'one hang-up surely during the intro stays Abandoned');
  assert.is(await status('waiting'), 'unanswered');
  assert.is(await status('asked'), 'unanswered');
  assert.is(await status('twice'), 'unanswered', 'an earlier miss of unknown kind keeps Call back');
  for (const task of tasks) {
    const after = await fixture.app.tasks.get(task.id);
    assert.equal({ ...after, status: task.status }, task, `${task.id}: nothing else changed`);
    const ttl = await db.ttl(RedisKeys.task(task.id));
    assert.ok(ttl > 3_000 && ttl <= 3_600, `${task.id}: expiry kept (${ttl})`);
  }
  const outcomes = async (): Promise<Record<string, string>> =>
    Object.fromEntries(
      await Promise.all(
        Object.keys(oldRecords).map(async (id): Promise<[string, string]> => [
          id,
          (JSON.parse((await db.get(RedisKeys.callRecord(id)))!) as { outcome: string }).outcome,
        ]),
      ),
    );
  assert.equal(await outcomes(), { a: 'abandoned', b: 'unanswered', c: 'answered', d: 'closed' });
  assert.ok((await db.ttl(RedisKeys.callRecord('a'))) > 3_000, 'record expiry kept');
  const day = (
    await asUser(
      fixture.app,
      await loginOk(
        fixture.app,
        'maria@clinic.example',
        await createUser(fixture.app, 'maria@clinic.example', 'manager'),
      ),
      'GET',
      '/api/statistics',
    )
  ).json<DayStatistics>();
  assert.is(day.total.received, 4);
  assert.is(day.total.abandoned, 1);
  assert.is(day.total.unanswered, 1);

  // The pointer still joins: the Unanswered patient calls again and hangs up in the intro.
  const joined = await hangsUpInIntro('+48600100302');
  assert.is(joined.id, 'waiting');
  assert.is(joined.status, 'unanswered');
  assert.is(joined.attempts, 2);

  // A second start changes nothing, and an old record written meanwhile (an older sip app still
  // running) is read in today's words and renamed.
  const before = await Promise.all(tasks.map((t) => db.get(RedisKeys.task(t.id))));
  await db.set(
    RedisKeys.callRecord('e'),
    JSON.stringify({
      id: 'e',
      from: '+48600100309',
      line: '100',
      outcome: 'abandoned-waiting',
      startedAt: start,
      endedAt: start + 1,
    }),
  );
  await db.zadd(RedisKeys.callRecords, start, 'e');
  await fixture.app.close();
  fixture.app = await buildTestApp(redisUrl);
  await fixture.app.ready();
  assert.equal(await Promise.all(tasks.map((t) => db.get(RedisKeys.task(t.id)))), before);
  assert.is((JSON.parse((await db.get(RedisKeys.callRecord('e')))!) as { outcome: string }).outcome, 'unanswered');
});

test.run();
