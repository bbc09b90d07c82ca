import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Subject, TaskView } from '@deskline/protocol';
import {
  canChangeTask,
  compareTasks,
  mergeTasks,
  subjectChoices,
  tabTasks,
  voicemailRemovedText,
} from '@deskline/web/build/task-board.js';

const anna = { userId: 'anna', role: 'employee' };
const ben = { userId: 'ben', role: 'employee' };
const maria = { userId: 'maria', role: 'manager' };

function task(id: string, fields: Partial<TaskView> = {}): TaskView {
  return {
    id,
    patient: '+4930123',
    status: 'incoming',
    callIds: [],
    attempts: 0,
    callbacks: [],
    problems: [],
    createdAt: 0,
    updatedAt: 0,
    ...fields,
  };
}

function call(startedAt: number, queuedAt?: number): TaskView['call'] {
  return {
    id: `call-${startedAt}`,
    from: '+4930123',
    line: '100',
    state: queuedAt === undefined ? 'intro' : 'waiting',
    startedAt,
    ...(queuedAt === undefined ? {} : { queuedAt }),
  };
}

const ids = (tasks: TaskView[]): string[] => tasks.map((t) => t.id);

test('Pending: incoming calls first, the longest waiting on top, then the wrap-ups, newest first', () => {
  const tasks = [
    task('wrap-old', { status: 'wrap-up', assigneeUserId: 'anna', updatedAt: 10 }),
    task('intro', { call: call(300) }),
    task('waiting-long', { call: call(100, 103) }),
    task('wrap-new', { status: 'wrap-up', assigneeUserId: 'anna', updatedAt: 20 }),
    task('waiting-short', { call: call(200, 203) }),
  ];
  assert.equal(ids(tabTasks(tasks, 'pending', anna)), [
    'waiting-long',
    'waiting-short',
    'intro',
    'wrap-new',
    'wrap-old',
  ]);
});

test("Pending shows an employee their own and the unassigned tasks, a manager everyone's; other tabs show everyone everything", () => {
  const tasks = [
    task('mine', { status: 'wrap-up', assigneeUserId: 'anna' }),
    task('bens', { status: 'wrap-up', assigneeUserId: 'ben' }),
    task('free', { call: call(1, 2) }),
    task('bens-call', { status: 'on-the-line', assigneeUserId: 'ben' }),
  ];
  assert.equal(ids(tabTasks(tasks, 'pending', anna)).sort(), ['free', 'mine']);
  assert.equal(ids(tabTasks(tasks, 'pending', maria)).sort(), ['bens', 'free', 'mine']);
  assert.equal(ids(tabTasks(tasks, 'on-the-line', anna)), ['bens-call']);
  assert.equal(ids(tabTasks(tasks, 'on-the-line', ben)), ['bens-call']);
});

test('each status lands in its tab: calling back is on the line, closed, unanswered and abandoned have their own', () => {
  const tasks = [
    task('back', { status: 'calling-back', assigneeUserId: 'ben' }),
    task('missed', { status: 'unanswered', attempts: 2 }),
    task('gone', { status: 'abandoned', attempts: 1 }),
    task('done', { status: 'closed', closedAt: 5 }),
  ];
  assert.equal(ids(tabTasks(tasks, 'on-the-line', anna)), ['back']);
  assert.equal(ids(tabTasks(tasks, 'unanswered', anna)), ['missed']);
  assert.equal(ids(tabTasks(tasks, 'abandoned', anna)), ['gone']);
  assert.equal(ids(tabTasks(tasks, 'closed', anna)), ['done']);
  assert.equal(ids(tabTasks(tasks, 'pending', anna)), []);
});

test('Closed: the loaded list and the pushed tasks merged, each once in its latest version, newest closed first', () => {
  const loaded = [
    task('a', { status: 'closed', closedAt: 10, updatedAt: 10 }),
    task('b', { status: 'closed', closedAt: 5, updatedAt: 5, comment: 'old' }),
  ];
  const pushed = [
    task('b', { status: 'closed', closedAt: 5, updatedAt: 7, comment: 'new' }),
    task('c', { status: 'closed', closedAt: 20, updatedAt: 20 }),
  ];
  const merged = tabTasks(mergeTasks(loaded, pushed), 'closed', anna);
  assert.equal(ids(merged), ['c', 'a', 'b']);
  assert.is(merged[2]?.comment, 'new');
  // An older version never replaces a newer one, whichever list it comes from.
  assert.is(mergeTasks(pushed, loaded).find((t) => t.id === 'b')?.comment, 'new');
});

test('ties keep one order: by id', () => {
  assert.ok(compareTasks('unanswered')(task('a'), task('b')) < 0);
  assert.ok(compareTasks('abandoned')(task('a'), task('b')) < 0);
});

test('Unanswered lists the callback requests first in their queue order; Abandoned newest change first', () => {
  const tasks = [
    task('late-ask', { status: 'unanswered', callbackRequested: true, updatedAt: 50, createdAt: 1 }),
    task('plain', { status: 'unanswered', updatedAt: 90 }),
    task('early-ask', { status: 'unanswered', callbackRequested: true, updatedAt: 60, createdAt: 0 }),
    task('old-intro', { status: 'abandoned', updatedAt: 10 }),
    task('new-intro', { status: 'abandoned', updatedAt: 20 }),
  ];
  assert.equal(ids(tabTasks(tasks, 'unanswered', anna)), ['early-ask', 'late-ask', 'plain']);
  assert.equal(ids(tabTasks(tasks, 'abandoned', anna)), ['new-intro', 'old-intro']);
});

test('who may change a task: managers any open one, employees theirs and unassigned ones, nobody a closed one', () => {
  assert.ok(canChangeTask({ status: 'wrap-up', assigneeUserId: 'anna' }, anna));
  assert.ok(!canChangeTask({ status: 'wrap-up', assigneeUserId: 'ben' }, anna));
  assert.ok(canChangeTask({ status: 'abandoned' }, anna));
  assert.ok(canChangeTask({ status: 'unanswered' }, anna));
  assert.ok(canChangeTask({ status: 'on-the-line', assigneeUserId: 'ben' }, maria));
  assert.ok(!canChangeTask({ status: 'closed', assigneeUserId: 'anna' }, maria));
});

test("subjects offered: the active ones in the managers' order (by category, then position), plus the task's own even if retired (after them)", () => {
  const subject = (id: string, position: number, retired = false): Subject => ({
    id,
    name: id,
    retired,
    category: 'information',
    position,
    createdAt: 1,
  });
  const subjects = new Map(
    [subject('old', 1, true), subject('b', 3), subject('a', 2), subject('gone', 4, true)].map((s) => [s.id, s]),
  );
  const booked: Subject = { ...subject('booked', 0), category: 'visit-booked' };
  assert.equal(
    subjectChoices(new Map([...subjects, ['booked', booked]]), undefined).map((s) => s.id),
    ['a', 'b', 'booked'],
  );
  assert.equal(
    subjectChoices(subjects, undefined).map((s) => s.id),
    ['a', 'b'],
  );
  assert.equal(
    subjectChoices(subjects, 'old').map((s) => s.id),
    ['a', 'b', 'old'],
  );
  assert.equal(
    subjectChoices(subjects, 'a').map((s) => s.id),
    ['a', 'b'],
  );
});

test('a removed voicemail message says why: the days it was kept (retention), or its missing file', () => {
  const day = 24 * 60 * 60_000;
  const createdAt = Date.UTC(2026, 0, 1, 10);
  const kept = (at: number) =>
    voicemailRemovedText({ durationMs: 5000, createdAt, removed: { reason: 'retention', at } });
  assert.is(kept(createdAt + 30 * day + 3_600_000), 'Message deleted after 30 days (retention).');
  assert.is(kept(createdAt + day + 1), 'Message deleted after 1 day (retention).');
  assert.match(
    voicemailRemovedText({ durationMs: 5000, createdAt, removed: { reason: 'file-missing', at: createdAt } }),
    /recording is missing on the server/,
  );
});

test.run();
