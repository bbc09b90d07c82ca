import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  hungUpDuringIntro,
  isCallable,
  isWithheld,
  statusMayBeCalledBack,
  taskTab,
  type CallView,
  type CallbackView,
} from '@deskline/protocol';
import {
  applyCall,
  applyCallback,
  isLaterEntry,
  isNewEvent,
  mayChange,
  newTask,
  toView,
  upgradeTaskOutcome,
  type StoredTask,
} from '@deskline/signaling/services/task-rules';

const NOW = 1_750_000_000_000;
const call = (id: string, state: CallView['state'], extra: Partial<CallView> = {}): CallView => ({
  id,
  from: '+48600100200',
  line: '100',
  state,
  startedAt: NOW,
  ...extra,
});
const callback = (id: string, state: CallbackView['state'], extra: Partial<CallbackView> = {}): CallbackView => ({
  id,
  taskId: 't1',
  number: '+48600100200',
  userId: 'anna',
  workstationId: 'w1',
  state,
  startedAt: NOW + 1000,
  ...extra,
});

/** Applies call events one after another, with increasing entry ids. */
function through(task: StoredTask, ...events: CallView[]): StoredTask {
  return events.reduce((t, e, i) => applyCall(t, e, `${NOW + i}-0`, NOW), task);
}

test('stream ids compare by time, then sequence, beyond what a double holds', () => {
  assert.ok(isLaterEntry('2-0', '1-9'));
  assert.ok(isLaterEntry('1-10', '1-9'));
  assert.not.ok(isLaterEntry('1-9', '1-9'));
  assert.not.ok(isLaterEntry('1-8', '1-9'));
  assert.ok(isLaterEntry('1-0', undefined));
  assert.ok(isLaterEntry('9007199254740993-0', '9007199254740992-0'));
});

test('withheld numbers are not callable; only what the trunk can dial is', () => {
  for (const n of ['', ' ', 'anonymous', 'Anonymous']) {
    assert.ok(isWithheld(n), n);
    assert.not.ok(isCallable(n), n);
  }
  for (const n of ['+48600100200', '0601', '*31#600']) assert.ok(isCallable(n), n);
  // A From user that is a name, or that would put more into the trunk's request URI, is never dialled.
  for (const n of ['alice', '600;user=phone', '600@evil.example', '+', '1'.repeat(33)]) {
    assert.not.ok(isWithheld(n), n);
    assert.not.ok(isCallable(n), n);
  }
});

test('who may change a task', () => {
  assert.ok(mayChange({}, { id: 'ben', role: 'employee' }));
  assert.ok(mayChange({ assigneeUserId: 'ben' }, { id: 'ben', role: 'employee' }));
  assert.not.ok(mayChange({ assigneeUserId: 'anna' }, { id: 'ben', role: 'employee' }));
  assert.ok(mayChange({ assigneeUserId: 'anna' }, { id: 'maria', role: 'manager' }));
});

test('a call answered and hung up: incoming, on the line with the agent, wrap-up; with a subject, closed at the hang-up', () => {
  let task = through(
    newTask('t1', '+48600100200', NOW),
    call('c1', 'intro'),
    call('c1', 'waiting'),
    call('c1', 'ringing', { agentUserId: 'anna' }),
  );
  assert.is(task.status, 'incoming');
  assert.is(task.assigneeUserId, undefined, 'the ringing agent is not the assignee');
  task = applyCall(task, call('c1', 'bridged', { agentUserId: 'anna' }), `${NOW + 10}-0`, NOW);
  assert.is(task.status, 'on-the-line');
  assert.is(task.assigneeUserId, 'anna');
  const ended = call('c1', 'ended', { agentUserId: 'anna', endedAt: NOW + 5000 });
  assert.is(applyCall(task, ended, `${NOW + 11}-0`, NOW).status, 'wrap-up');
  const closed = applyCall({ ...task, subjectId: 's1' }, ended, `${NOW + 11}-0`, NOW);
  assert.is(closed.status, 'closed');
  assert.is(closed.closedAt, NOW + 5000);
  assert.is(closed.closedByUserId, 'anna');
  assert.is(closed.attempts, 0);
});

test("a finished call's events count no more, whatever their entry id", () => {
  const task = through(newTask('t1', '+48600100200', NOW), call('c1', 'intro'), call('c1', 'abandoned'));
  assert.is(task.attempts, 1);
  assert.not.ok(isNewEvent(task, 'c1', `${NOW + 99}-0`));
  assert.ok(isNewEvent(task, 'c2', `${NOW}-0`));
  assert.not.ok(
    isNewEvent(through(newTask('t2', '', NOW), call('c3', 'intro')), 'c3', `${NOW}-0`),
    'an equal entry id is a duplicate',
  );
});

test("an older call's late miss counts, but does not move the stage of the newer call", () => {
  let task = through(newTask('t1', '+48600100200', NOW), call('old', 'intro'));
  task = applyCall(task, call('new', 'waiting', { startedAt: NOW + 1000 }), `${NOW + 5}-0`, NOW);
  task = applyCall(task, call('old', 'abandoned'), `${NOW + 6}-0`, NOW);
  assert.is(task.status, 'incoming');
  assert.is(task.call?.id, 'new');
  assert.is(task.attempts, 1);
});

test('a callback: calling back with the caller, unanswered with the outcome; events of an older callback only recorded', () => {
  let task = through(
    newTask('t1', '+48600100200', NOW),
    call('c1', 'abandoned', { queuedAt: NOW, abandonedIn: 'waiting' }),
  );
  assert.is(task.status, 'unanswered');
  task = applyCallback(task, callback('cb1', 'ringing'), '1-0', NOW);
  assert.is(task.status, 'calling-back');
  assert.is(task.assigneeUserId, 'anna');
  task = applyCallback(task, callback('cb1', 'ended', { outcome: 'busy' }), '2-0', NOW);
  assert.is(task.status, 'unanswered');
  assert.is(task.assigneeUserId, undefined);
  assert.equal(task.callbacks, [{ callbackId: 'cb1', userId: 'anna', at: NOW + 1000, outcome: 'busy' }]);
  const older = applyCallback(task, callback('cb0', 'dialing', { startedAt: NOW }), '3-0', NOW);
  assert.is(older.status, 'unanswered');
  assert.is(older.callback?.id, 'cb1');
});

test('a callback does not take over a task whose patient is calling in', () => {
  const task = through(
    newTask('t1', '+48600100200', NOW),
    call('c1', 'abandoned'),
    call('c2', 'waiting', { startedAt: NOW + 10 }),
  );
  const after = applyCallback(task, callback('cb1', 'dialing'), '1-0', NOW);
  assert.is(after.status, 'incoming');
  assert.is(after.callbacks.length, 1);
});

test("the call plan's endings (issue 15): a callback request and a closed call leave an unanswered task to call back; the flag goes with a new call", () => {
  const asked = through(
    newTask('t1', '+48600100200', NOW),
    call('c1', 'intro'),
    call('c1', 'waiting', { queuedAt: NOW + 5 }),
    call('c1', 'callback-requested', { queuedAt: NOW + 5, endedAt: NOW + 9 }),
  );
  assert.is(asked.status, 'unanswered');
  assert.is(asked.callbackRequested, true);
  assert.is(asked.attempts, 1);
  const again = through(asked, call('c2', 'intro', { startedAt: NOW + 100 }));
  assert.is(again.status, 'incoming');
  assert.is(again.callbackRequested, undefined);

  const closing = through(
    newTask('t2', '+48600100200', NOW),
    call('c3', 'intro'),
    call('c3', 'closed', { afterHours: true }),
  );
  assert.is(closing.status, 'incoming', 'still on the line, hearing the closed message');
  const closed = through(closing, call('c3', 'closed', { afterHours: true, endedAt: NOW + 3 }));
  assert.is(closed.status, 'unanswered');
  assert.is(closed.attempts, 1);
  assert.is(closed.callbackRequested, undefined);
});

test('the view leaves the bookkeeping out', () => {
  const view = toView(through(newTask('t1', '', NOW), call('c1', 'intro')));
  assert.not.ok('applied' in view);
  assert.not.ok('finished' in view);
});

// Issue 16, docs/call-board.md "Outcomes": a hang-up during the intro is Abandoned, one later Unanswered.

const introHangUp = (id: string, at = NOW): CallView =>
  call(id, 'abandoned', { startedAt: at, abandonedIn: 'intro', endedAt: at + 3 });
const queueHangUp = (id: string, at = NOW, abandonedIn: CallView['state'] = 'waiting'): CallView =>
  call(id, 'abandoned', { startedAt: at, queuedAt: at + 5, abandonedIn, endedAt: at + 30 });

test('which hang-ups are during the intro: intro and menu; waiting, ringing, offer, voicemail are not', () => {
  assert.ok(hungUpDuringIntro(introHangUp('a')));
  assert.ok(hungUpDuringIntro(call('m', 'abandoned', { abandonedIn: 'menu' })));
  for (const state of ['waiting', 'ringing', 'offer', 'voicemail'] as const)
    assert.not.ok(hungUpDuringIntro(call('w', 'abandoned', { abandonedIn: state })), state);
  // An older sip app's call without abandonedIn: by whether it reached the queue.
  assert.ok(hungUpDuringIntro(call('o', 'abandoned')));
  assert.not.ok(hungUpDuringIntro(call('o', 'abandoned', { queuedAt: NOW })));
  assert.not.ok(hungUpDuringIntro(call('c', 'closed', { endedAt: NOW })));
});

test('a hang-up during the intro (or the menu) makes an Abandoned task; one in the queue or ringing an Unanswered one', () => {
  const intro = through(newTask('t1', '+48600100200', NOW), call('c1', 'intro'), introHangUp('c1'));
  assert.is(intro.status, 'abandoned');
  assert.is(taskTab(intro.status), 'abandoned');
  assert.is(intro.attempts, 1);
  const menu = through(
    newTask('t2', '+48600100200', NOW),
    call('c2', 'menu'),
    call('c2', 'abandoned', { abandonedIn: 'menu' }),
  );
  assert.is(menu.status, 'abandoned');
  for (const where of ['waiting', 'ringing'] as const) {
    const task = through(
      newTask('t3', '+48600100200', NOW),
      call('c3', 'waiting', { queuedAt: NOW + 5 }),
      queueHangUp('c3', NOW, where),
    );
    assert.is(task.status, 'unanswered', where);
    assert.is(taskTab(task.status), 'unanswered');
  }
});

test('Unanswered wins: an intro hang-up after an unanswered call leaves the task Unanswered; two intro hang-ups stay Abandoned', () => {
  let task = through(newTask('t1', '+48600100200', NOW), queueHangUp('c1'));
  task = through(task, call('c2', 'intro', { startedAt: NOW + 100 }));
  assert.is(task.status, 'incoming', 'the patient is calling again');
  task = through(task, introHangUp('c2', NOW + 100));
  assert.is(task.status, 'unanswered');
  assert.is(task.attempts, 2);

  let twice = through(newTask('t2', '+48600100200', NOW), introHangUp('c3'));
  twice = through(twice, call('c4', 'intro', { startedAt: NOW + 100 }), introHangUp('c4', NOW + 100));
  assert.is(twice.status, 'abandoned');
  assert.is(twice.attempts, 2);
  // An abandoned patient who calls again and waits in vain becomes Unanswered.
  const later = through(
    twice,
    call('c5', 'waiting', { startedAt: NOW + 200, queuedAt: NOW + 205 }),
    queueHangUp('c5', NOW + 200),
  );
  assert.is(later.status, 'unanswered');
  assert.not.ok('unansweredMiss' in toView(later), 'bookkeeping stays out of the view');
});

test("the call plan's endings are Unanswered: callback request, voicemail message, closed message", () => {
  const asked = through(
    newTask('t1', '+48600100200', NOW),
    call('c1', 'callback-requested', { queuedAt: NOW + 5, endedAt: NOW + 9 }),
  );
  assert.is(asked.status, 'unanswered');
  const message = applyCall(
    newTask('t2', '+48600100200', NOW),
    call('c2', 'message-left', { endedAt: NOW + 9, voicemailId: 'v1' }),
    `${NOW}-0`,
    NOW,
    {
      id: 'v1',
      durationMs: 4000,
      createdAt: NOW + 9,
    },
  );
  assert.is(message.status, 'unanswered');
  const closed = through(
    newTask('t3', '+48600100200', NOW),
    call('c3', 'closed', { afterHours: true, endedAt: NOW + 3 }),
  );
  assert.is(closed.status, 'unanswered');
});

test('a failed callback of an Abandoned task (managers allowed it) leaves it Unanswered; an answered one closes as usual', () => {
  const abandoned = through(newTask('t1', '+48600100200', NOW), introHangUp('c1'));
  const cb = (state: CallbackView['state'], extra: Partial<CallbackView> = {}): CallbackView =>
    callback('cb1', state, extra);
  let task = applyCallback(abandoned, cb('ringing'), '1-0', NOW);
  assert.is(task.status, 'calling-back');
  task = applyCallback(task, cb('ended', { outcome: 'no-answer' }), '2-0', NOW);
  assert.is(task.status, 'unanswered');
  const answered = applyCallback(
    applyCallback(abandoned, cb('answered'), '1-0', NOW),
    cb('ended', { outcome: 'answered' }),
    '2-0',
    NOW,
  );
  assert.is(answered.status, 'wrap-up');
});

test('Call back: Unanswered always; Abandoned only with the setting; nothing else', () => {
  assert.ok(statusMayBeCalledBack('unanswered', { abandonedCallbacks: false }));
  assert.not.ok(statusMayBeCalledBack('abandoned', { abandonedCallbacks: false }));
  assert.ok(statusMayBeCalledBack('abandoned', { abandonedCallbacks: true }));
  for (const status of ['incoming', 'on-the-line', 'wrap-up', 'calling-back', 'closed'])
    assert.not.ok(statusMayBeCalledBack(status, { abandonedCallbacks: true }), status);
});

/** A task as signaling wrote it before issue 16: every miss `abandoned`, no unansweredMiss. */
function oldTask(extra: Partial<StoredTask>): StoredTask {
  return { ...newTask('old', '+48600100200', NOW), status: 'abandoned', attempts: 1, ...extra };
}

test('migration of the tasks of before issue 16: sure intro hang-ups stay Abandoned, everything else becomes Unanswered', () => {
  assert.is(
    upgradeTaskOutcome(oldTask({ call: introHangUp('c1') })),
    undefined,
    'one intro hang-up: Abandoned as it was',
  );
  // An older sip app's intro hang-up, without abandonedIn.
  assert.is(upgradeTaskOutcome(oldTask({ call: call('c1', 'abandoned', { endedAt: NOW }) })), undefined);
  const cases: Array<[string, Partial<StoredTask>]> = [
    ['hung up waiting', { call: queueHangUp('c1') }],
    ['hung up ringing', { call: queueHangUp('c1', NOW, 'ringing') }],
    ['several misses, the last in the intro (the earlier ones unknown)', { attempts: 3, call: introHangUp('c1') }],
    ['asked for a callback', { callbackRequested: true, call: call('c1', 'callback-requested', { queuedAt: NOW }) }],
    ['left a message', { voicemail: { id: 'v1', durationMs: 3000, createdAt: NOW }, call: call('c1', 'message-left') }],
    ['heard the closed message', { call: call('c1', 'closed', { endedAt: NOW, afterHours: true }) }],
    [
      'a callback was tried',
      { call: introHangUp('c1'), callbacks: [{ callbackId: 'cb', userId: 'anna', at: NOW, outcome: 'busy' }] },
    ],
    ['no call kept', {}],
  ];
  for (const [name, extra] of cases) {
    const before = oldTask(extra);
    const after = upgradeTaskOutcome(before);
    assert.is(after?.status, 'unanswered', name);
    assert.is(after?.unansweredMiss, true, name);
    assert.equal(
      { ...after, status: before.status, unansweredMiss: undefined },
      { ...before, unansweredMiss: undefined },
      `${name}: nothing else changes`,
    );
    assert.is(upgradeTaskOutcome(after!), undefined, `${name}: a second run changes nothing`);
  }
  // A patient calling again during the upgrade: their earlier misses count as Unanswered.
  const calling = upgradeTaskOutcome(oldTask({ status: 'incoming', attempts: 1, call: call('c2', 'intro') }));
  assert.is(calling?.status, 'incoming');
  assert.is(calling?.unansweredMiss, true);
  assert.is(through(calling!, introHangUp('c2')).status, 'unanswered');
  // Nothing to do for a closed task, or one never missed.
  assert.is(upgradeTaskOutcome(oldTask({ status: 'closed' })), undefined);
  assert.is(upgradeTaskOutcome(oldTask({ status: 'wrap-up', attempts: 0 })), undefined);
});

test.run();
