import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isCallable, isWithheld, type CallView, type CallbackView } from '@deskline/protocol';
import {
  applyCall,
  applyCallback,
  isLaterEntry,
  isNewEvent,
  mayChange,
  newTask,
  toView,
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

test.run();
