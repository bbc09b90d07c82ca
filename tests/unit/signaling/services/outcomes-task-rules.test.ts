import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  hungUpDuringIntro,
  statusMayBeCalledBack,
  taskTab,
  type CallView,
  type CallbackView,
} from '@deskline/protocol';
import {
  applyCall,
  applyCallback,
  newTask,
  toView,
  upgradeTaskOutcome,
  type StoredTask,
} from '@deskline/signaling/services/task-rules';

// Issue 16, docs/call-board.md "Outcomes": a hang-up during the intro is Abandoned, one later Unanswered.

const NOW = 1_760_000_000_000;
const call = (id: string, state: CallView['state'], extra: Partial<CallView> = {}): CallView => ({
  id,
  from: '+48600100200',
  line: '100',
  state,
  startedAt: NOW,
  ...extra,
});
const through = (task: StoredTask, ...events: CallView[]): StoredTask =>
  events.reduce((t, e, i) => applyCall(t, e, `${NOW + i}-0`, NOW), task);
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
  const cb = (state: CallbackView['state'], extra: Partial<CallbackView> = {}): CallbackView => ({
    id: 'cb1',
    taskId: 't1',
    number: '+48600100200',
    userId: 'anna',
    workstationId: 'w1',
    state,
    startedAt: NOW + 1000,
    ...extra,
  });
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
