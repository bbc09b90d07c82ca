import {
  hungUpDuringIntro,
  type CallView,
  type CallbackView,
  type TaskStatus,
  type TaskView,
  type VoicemailMessage,
} from '@deskline/protocol';

/**
 * How call and callback events move a task (docs/call-board.md), as pure functions over the task, so
 * that the rules can be read in one place and the store only has to write their result.
 */

/**
 * The task as stored: the view plus, per call (`<callId>`) and per callback (`cb:<callbackId>`), the id
 * of the last stream entry applied to it. An entry at or below that id is a duplicate or arrived out
 * of order (another instance applied a later one first) and changes nothing. `finished` lists the
 * calls and callbacks whose final event was applied: nothing of theirs counts after it, even an event
 * appended again under a new id, so a miss is counted once. `unansweredMiss`: one of its calls was
 * missed the Unanswered way (protocol/src/outcomes.ts), so that a later hang-up during the intro
 * does not make the task Abandoned again.
 */
export interface StoredTask extends TaskView {
  applied: Record<string, string>;
  finished: string[];
  unansweredMiss?: true;
}

/** The statuses of a task whose patient nobody answered: its place until someone calls or they call again. */
export function isMissed(status: TaskStatus): boolean {
  return status === 'unanswered' || status === 'abandoned';
}

/** Whether an event of `key` (`<callId>` or `cb:<callbackId>`) at stream entry `streamId` is new to the task. */
export function isNewEvent(task: StoredTask, key: string, streamId: string): boolean {
  return !task.finished.includes(key) && isLaterEntry(streamId, task.applied[key]);
}

/** Managers may change any task; an employee one assigned to them or to nobody. */
export function mayChange(task: Pick<TaskView, 'assigneeUserId'>, user: { id: string; role: string }): boolean {
  return user.role === 'manager' || task.assigneeUserId === undefined || task.assigneeUserId === user.id;
}

/** Whether stream id `a` comes after `b` (ids are `<ms>-<seq>`; undefined is before everything). */
export function isLaterEntry(a: string, b: string | undefined): boolean {
  if (b === undefined) return true;
  const [am = 0n, as = 0n] = a.split('-').map((part) => BigInt(part));
  const [bm = 0n, bs = 0n] = b.split('-').map((part) => BigInt(part));
  return am > bm || (am === bm && as > bs);
}

/** The view panels get: the stored task without its bookkeeping. */
export function toView(task: StoredTask): TaskView {
  const { applied: _applied, finished: _finished, unansweredMiss: _unansweredMiss, ...view } = task;
  return view;
}

export function newTask(id: string, patient: string, now: number): StoredTask {
  return {
    id,
    patient,
    status: 'incoming',
    callIds: [],
    attempts: 0,
    callbacks: [],
    problems: [],
    createdAt: now,
    updatedAt: now,
    applied: {},
    finished: [],
  };
}

/** A call is over and the task had an agent: closed if the subject was chosen during the call, else wrap-up. */
function finishAnswered(task: StoredTask, assignee: string | undefined, endedAt: number): void {
  if (assignee) task.assigneeUserId = assignee;
  if (task.subjectId !== undefined) {
    task.status = 'closed';
    task.closedAt = endedAt;
    if (task.assigneeUserId) task.closedByUserId = task.assigneeUserId;
  } else {
    task.status = 'wrap-up';
  }
}

function unassign(task: StoredTask, status: TaskStatus): void {
  task.status = status;
  delete task.assigneeUserId;
}

/**
 * The task after one call event (a copy; the caller has checked that `streamId` is later than the
 * call's last applied entry). The task's stage follows its current call: the newest one. An older
 * call's event only counts its miss.
 */
export function applyCall(
  before: StoredTask,
  call: CallView,
  streamId: string,
  now: number,
  /** For a message-left call: the message, as VoicemailStore has it. */
  message?: Pick<VoicemailMessage, 'id' | 'durationMs' | 'createdAt'>,
): StoredTask {
  const task: StoredTask = structuredClone(before);
  task.applied[call.id] = streamId;
  task.updatedAt = now;
  if (!task.callIds.includes(call.id)) task.callIds.push(call.id);
  const current = !task.call || task.call.id === call.id || call.startedAt >= task.call.startedAt;
  // The call plan's final states (issue 15): nobody answered, and the patient may want a call back
  // (a voicemail message is one more reason to).
  const unanswered =
    call.state === 'abandoned' ||
    call.state === 'callback-requested' ||
    call.state === 'message-left' ||
    (call.state === 'closed' && call.endedAt !== undefined);
  if (unanswered || call.state === 'ended') task.finished.push(call.id);
  if (unanswered) task.attempts += 1;
  if (unanswered && !hungUpDuringIntro(call)) task.unansweredMiss = true;
  // Abandoned only while every miss was a hang-up during the intro.
  const missed: TaskStatus = task.unansweredMiss ? 'unanswered' : 'abandoned';
  if (!current || task.status === 'closed') return task;
  task.call = call;
  if (call.state === 'callback-requested') task.callbackRequested = true;
  else delete task.callbackRequested;
  switch (call.state) {
    case 'intro':
    case 'menu':
    case 'waiting':
    case 'ringing':
    case 'offer':
    case 'voicemail':
    case 'closed':
      if (task.status === 'incoming' || isMissed(task.status)) unassign(task, unanswered ? missed : 'incoming');
      break;
    case 'callback-requested':
      if (task.status === 'incoming' || isMissed(task.status)) unassign(task, missed);
      break;
    case 'bridged':
      task.status = 'on-the-line';
      if (call.agentUserId) task.assigneeUserId = call.agentUserId;
      break;
    case 'ended':
      if (task.status !== 'calling-back' && task.status !== 'wrap-up')
        finishAnswered(task, call.agentUserId, call.endedAt ?? now);
      break;
    case 'abandoned':
      if (task.status === 'incoming' || isMissed(task.status)) unassign(task, missed);
      break;
    case 'message-left':
      // A callback task with the message: nobody answered, and the patient said why they called.
      if (task.status === 'incoming' || isMissed(task.status)) unassign(task, missed);
      task.voicemail = {
        id: message?.id ?? call.voicemailId ?? '',
        durationMs: message?.durationMs ?? 0,
        createdAt: message?.createdAt ?? call.endedAt ?? now,
      };
      break;
  }
  return task;
}

/** The task after one callback event (a copy; `streamId` checked as for calls). */
export function applyCallback(before: StoredTask, callback: CallbackView, streamId: string, now: number): StoredTask {
  const task: StoredTask = structuredClone(before);
  task.applied[`cb:${callback.id}`] = streamId;
  task.updatedAt = now;
  let attempt = task.callbacks.find((a) => a.callbackId === callback.id);
  if (!attempt) {
    attempt = { callbackId: callback.id, userId: callback.userId, at: callback.startedAt };
    task.callbacks.push(attempt);
  }
  if (callback.state === 'ended') {
    attempt.outcome = callback.outcome ?? 'failed';
    task.finished.push(`cb:${callback.id}`);
  }
  const current = !task.callback || task.callback.id === callback.id || callback.startedAt >= task.callback.startedAt;
  if (!current) return task;
  task.callback = callback;
  // A patient's own call in progress, or a closed task, keeps its status: the callback is only recorded.
  const following =
    isMissed(task.status) ||
    task.status === 'calling-back' ||
    (task.status === 'on-the-line' && task.assigneeUserId === callback.userId && task.call?.state !== 'bridged');
  if (!following) return task;
  switch (callback.state) {
    case 'dialing':
    case 'ringing':
      task.status = 'calling-back';
      task.assigneeUserId = callback.userId;
      break;
    case 'answered':
      task.status = 'on-the-line';
      task.assigneeUserId = callback.userId;
      break;
    case 'ended':
      if (attempt.outcome === 'answered') finishAnswered(task, callback.userId, callback.endedAt ?? now);
      else {
        // Someone tried to call back: it is callback work now, whatever the calls were.
        task.unansweredMiss = true;
        unassign(task, 'unanswered');
      }
      break;
  }
  return task;
}

/**
 * A task written before issue 16, in today's terms (docs/call-board.md, "Outcomes"), or undefined
 * when it needs no change. Then every call nobody answered made the task `abandoned`, a callback
 * task. It stays Abandoned only when it is sure that its one miss was a hang-up during the intro;
 * anything else (several misses, a callback tried, a callback asked for, a message, a closed call)
 * becomes Unanswered, so that no patient waiting for a callback loses the Call back button. A task
 * with misses and a call in progress remembers them as Unanswered for the same reason.
 */
export function upgradeTaskOutcome(before: StoredTask): StoredTask | undefined {
  if (before.status === 'abandoned') {
    const introOnly =
      before.attempts <= 1 &&
      before.call !== undefined &&
      hungUpDuringIntro(before.call) &&
      !before.callbackRequested &&
      before.voicemail === undefined &&
      before.callbacks.length === 0;
    if (introOnly) return undefined;
    return { ...structuredClone(before), status: 'unanswered', unansweredMiss: true };
  }
  if (before.status !== 'closed' && before.status !== 'unanswered' && before.attempts > 0 && !before.unansweredMiss)
    return { ...structuredClone(before), unansweredMiss: true };
  return undefined;
}
