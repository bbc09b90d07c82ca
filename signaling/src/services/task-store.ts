import { randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  CALLBACK_GRANT_SECONDS,
  isWithheld,
  taskTab,
  taskVisibleTo,
  type CallView,
  type CallbackGrant,
  type CallbackView,
  type TaskTab,
  type TaskView,
  type VoicemailRemovedReason,
} from '@deskline/protocol';
import {
  RedisKeys,
  RedisStreams,
  TEAM_EVENTS_MAX_LENGTH,
  TASK_COMPARE_AND_SET,
  TASK_START_CALLBACK,
  VoicemailStore,
} from '@deskline/store';
import { ClientError } from '../errors.js';
import {
  applyCall,
  applyCallback,
  isMissed,
  isNewEvent,
  newTask,
  toView,
  upgradeTaskOutcome,
  type StoredTask,
} from './task-rules.js';

const DAY_SECONDS = 24 * 60 * 60;
/** A call's task link outlives the call's hash (a day) so that late or replayed events still find it. */
const CALL_TASK_TTL_SECONDS = 7 * DAY_SECONDS;
/** Who asked for a callback grant, to name them to a second caller: as long as the grant lives. */
const callbackStarter = RedisKeys.callbackStarter;
/**
 * A message's voicemail-task link outlives the message (deleted HISTORY_RETENTION_DAYS after it was left,
 * by a sweep that may have been down for a while), so that its removal still finds the task.
 */
const VOICEMAIL_TASK_EXTRA_SECONDS = 7 * DAY_SECONDS;
/** A change that keeps losing the race to other writers gives up after this many tries. */
const MAX_TRIES = 20;

/**
 * Starts a callback unless someone else is calling: the task's lock, the grant and who asked, or the
 * callbackId holding the lock.
 *   KEYS: task-callback:<taskId>, callback-grant:<token>, callback-starter:<callbackId>
 *   ARGV: callbackId, grant JSON, userId, TTL seconds
 */
// The day's count (KEYS[4]) is taken in the same script as the lock: of two requests at the last
// slot exactly one gets it, and a request refused for the lock spends none.
/** A day's callback count outlives the day in any time zone. */
const CALLBACK_COUNT_SECONDS = 2 * 24 * 60 * 60;

type Guard = [key: string, expected: string | false];
type Op = [command: string, key: string, ...args: string[]];

/** What a write of a task changes: the guards it needs, and the operations to run if they hold. */
interface Plan {
  guards: Guard[];
  ops: Op[];
}

export type ApplyResult = 'applied' | 'stale';

function parse(raw: string | null): StoredTask | undefined {
  if (!raw) return undefined;
  const task = JSON.parse(raw) as StoredTask;
  task.applied ??= {};
  task.finished ??= [];
  return task;
}

/**
 * The call board's tasks (docs/call-board.md): JSON at task:<id>, the open ones in tasks:open (each
 * kept `retentionDays` after its last change), the closed ones in tasks:closed by closedAt (kept
 * `retentionDays` after closing), the patient's open unanswered or abandoned task at
 * patient-task:<number>, their last subject at patient-last-subject:<number>, and each call's task at
 * call-task:<callId>. Every change of a task is announced on stream:board-events in the same script.
 */
export class TaskStore {
  private readonly retentionSeconds: number;

  constructor(
    private readonly redis: Redis,
    options: { retentionDays: number },
  ) {
    this.retentionSeconds = Math.round(options.retentionDays * DAY_SECONDS);
  }

  async get(id: string): Promise<TaskView | undefined> {
    const task = parse(await this.redis.get(RedisKeys.task(id)));
    return task && toView(task);
  }

  /** The tasks that still exist of `ids`, in that order. */
  async many(ids: readonly string[]): Promise<TaskView[]> {
    if (ids.length === 0) return [];
    const raws = await this.redis.mget(ids.map((id) => RedisKeys.task(id)));
    return raws.flatMap((raw) => {
      const task = parse(raw);
      return task ? [toView(task)] : [];
    });
  }

  /** Every task not closed, newest change first. */
  async open(): Promise<TaskView[]> {
    const tasks = await this.many(await this.redis.smembers(RedisKeys.openTasks));
    return tasks.filter((t) => t.status !== 'closed').sort((a, b) => b.updatedAt - a.updatedAt);
  }

  /** A tab's tasks that `viewer` may see: newest change first, Closed newest closed first. */
  async list(tab: TaskTab, viewer: { userId: string; role: string }, limit: number): Promise<TaskView[]> {
    if (tab === 'closed') {
      // Closed tasks are seen by everyone, so the index can be paged directly.
      const ids = await this.redis.zrevrange(RedisKeys.closedTasks, 0, limit - 1);
      return (await this.many(ids)).filter((t) => t.status === 'closed');
    }
    const open = await this.open();
    return open.filter((t) => taskTab(t.status) === tab && taskVisibleTo(t, viewer)).slice(0, limit);
  }

  /**
   * Changes one task with `change`, which gets a copy of the task as it is now and returns it changed,
   * or throws (a ClientError says why not). Tried again if another writer got there first.
   */
  async update(id: string, change: (task: StoredTask) => StoredTask | undefined): Promise<TaskView> {
    for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
      const raw = await this.redis.get(RedisKeys.task(id));
      const before = parse(raw);
      if (!before || !raw) throw new ClientError(404, 'No such task.');
      const after = change(structuredClone(before));
      if (!after) return toView(before);
      after.updatedAt = Date.now();
      if (await this.commit({ guards: [[RedisKeys.task(id), raw]], ops: this.writeOps(before, after) }))
        return toView(after);
    }
    throw new Error(`task ${id}: too many concurrent changes`);
  }

  /** Applies one call event from stream:call-events (entry `streamId`) to its task. */
  async applyCallEvent(call: CallView, streamId: string): Promise<ApplyResult> {
    // The sip app saved the message before it wrote the call's final state.
    const message =
      call.state === 'message-left' && call.voicemailId
        ? await new VoicemailStore(this.redis).get(call.voicemailId)
        : undefined;
    for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
      const linkKey = RedisKeys.callTask(call.id);
      const linked = await this.redis.get(linkKey);
      const now = Date.now();
      if (linked) {
        const raw = await this.redis.get(RedisKeys.task(linked));
        const before = parse(raw);
        // The task itself is gone (closed long ago and expired): nothing left to change.
        if (!before || !raw) return 'stale';
        if (!isNewEvent(before, call.id, streamId)) return 'stale';
        const after = applyCall(before, call, streamId, now, message);
        const plan: Plan = {
          guards: [
            [linkKey, linked],
            [RedisKeys.task(linked), raw],
          ],
          ops: [...this.writeOps(before, after), ['SET', linkKey, linked, 'EX', String(CALL_TASK_TTL_SECONDS)]],
        };
        if (await this.commit(plan)) return 'applied';
        continue;
      }
      // The call's first event seen: it joins the number's open unanswered or abandoned task, or starts a new one.
      const guards: Guard[] = [[linkKey, false]];
      const callable = !isWithheld(call.from);
      let joined: StoredTask | undefined;
      let lastSubject: string | null = null;
      if (callable) {
        const pointerKey = RedisKeys.patientTask(call.from);
        const [pointer, subject] = await this.redis.mget(pointerKey, RedisKeys.patientLastSubject(call.from));
        lastSubject = subject ?? null;
        guards.push([pointerKey, pointer ?? false]);
        if (pointer) {
          const raw = await this.redis.get(RedisKeys.task(pointer));
          const candidate = parse(raw);
          if (candidate && raw && isMissed(candidate.status)) {
            joined = candidate;
            guards.push([RedisKeys.task(pointer), raw]);
          }
        }
      }
      const before = joined ?? newTask(randomUUID(), call.from, now);
      const base = structuredClone(before);
      if (lastSubject) base.previousSubjectId = lastSubject;
      const after = applyCall(base, call, streamId, now, message);
      const plan: Plan = {
        guards,
        ops: [...this.writeOps(joined, after), ['SET', linkKey, after.id, 'EX', String(CALL_TASK_TTL_SECONDS)]],
      };
      if (await this.commit(plan)) return 'applied';
    }
    throw new Error(`call ${call.id}: too many concurrent changes of its task`);
  }

  /** Applies one callback event from stream:callback-events to the task it calls back for. */
  async applyCallbackEvent(callback: CallbackView, streamId: string): Promise<ApplyResult> {
    const key = RedisKeys.task(callback.taskId);
    for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
      const raw = await this.redis.get(key);
      const before = parse(raw);
      if (!before || !raw) return 'stale';
      if (!isNewEvent(before, `cb:${callback.id}`, streamId)) return 'stale';
      const after = applyCallback(before, callback, streamId, Date.now());
      if (await this.commit({ guards: [[key, raw]], ops: this.writeOps(before, after) })) return 'applied';
    }
    throw new Error(`callback ${callback.id}: too many concurrent changes of its task`);
  }

  /**
   * Takes the task's callback lock, counts the callback in the user's day (`day.key`, at most
   * `day.max`) and writes a one-time grant (docs/call-board.md, Callbacks). The caller has checked
   * the task, the workstation and the number. Answers the grant's callbackId and token, `busy` with
   * the userId of whoever is calling (undefined when that is no longer known), or `capReached`.
   */
  async startCallback(
    task: TaskView,
    who: { userId: string; workstationId: string; sipUser: string },
    day: { key: string; max: number },
  ): Promise<
    { callbackId: string; token: string } | { busy: true; userId: string | undefined } | { capReached: true }
  > {
    const callbackId = randomUUID();
    const token = randomBytes(16).toString('hex');
    const grant: CallbackGrant = {
      callbackId,
      taskId: task.id,
      number: task.patient,
      userId: who.userId,
      workstationId: who.workstationId,
      sipUser: who.sipUser,
      grantedAt: Date.now(),
    };
    const result = (await this.redis.eval(
      TASK_START_CALLBACK,
      4,
      RedisKeys.taskCallback(task.id),
      RedisKeys.callbackGrant(token),
      callbackStarter(callbackId),
      day.key,
      callbackId,
      JSON.stringify(grant),
      who.userId,
      String(CALLBACK_GRANT_SECONDS),
      String(day.max),
      String(CALLBACK_COUNT_SECONDS),
    )) as string;
    if (result === 'OK') return { callbackId, token };
    if (result === 'CAP') return { capReached: true };
    return { busy: true, userId: result ? await this.callbackUser(result) : undefined };
  }

  /** Who started a callback: from signaling's note while the grant lives, then from the sip app's record. */
  private async callbackUser(callbackId: string): Promise<string | undefined> {
    const [starter, record] = await this.redis.mget(callbackStarter(callbackId), RedisKeys.callback(callbackId));
    if (starter) return starter;
    try {
      return record ? (JSON.parse(record) as CallbackView).userId : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Voicemail message `voicemailId` is gone, or about to go (docs/call-plan.md, "Voicemail"): the
   * task that shows it keeps the message's length and date, with `removed` in place of its id, and
   * its call no longer names it, so that no board offers a player for a message that is not there.
   * The task's expiry and updatedAt (its place on the board) stay as they were: a removal must not
   * lengthen how long the patient's number is kept. Resolves with the task's id, or undefined when
   * no task shows the message (none did, it expired, or a newer message replaced it).
   */
  async voicemailRemoved(
    voicemailId: string,
    removed: { reason: VoicemailRemovedReason; at: number },
  ): Promise<string | undefined> {
    const taskId = await this.redis.get(RedisKeys.voicemailTask(voicemailId));
    if (!taskId) return undefined;
    const key = RedisKeys.task(taskId);
    for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
      const raw = await this.redis.get(key);
      const before = parse(raw);
      if (!before || !raw || before.voicemail?.id !== voicemailId) return undefined;
      const after = structuredClone(before);
      after.voicemail = { durationMs: before.voicemail.durationMs, createdAt: before.voicemail.createdAt, removed };
      if (after.call?.voicemailId === voicemailId) delete after.call.voicemailId;
      const ops: Op[] = [['SET', key, JSON.stringify(after), 'KEEPTTL'], this.announce(taskId)];
      if (await this.commit({ guards: [[key, raw]], ops })) return taskId;
    }
    throw new Error(`task ${taskId}: too many concurrent changes`);
  }

  /**
   * Moves the open tasks written before issue 16 to Abandoned / Unanswered (upgradeTaskOutcome), once
   * (the marker `migrated:issue-16-outcomes` is set after); each task keeps its expiry and its place
   * on the board. Resolves with how many tasks changed. Run at start, before the projector.
   */
  async migrateOutcomes(): Promise<number> {
    if (await this.redis.exists(RedisKeys.outcomesMigrated)) return 0;
    let changed = 0;
    for (const id of await this.redis.smembers(RedisKeys.openTasks)) {
      const key = RedisKeys.task(id);
      for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
        const raw = await this.redis.get(key);
        const before = parse(raw);
        const after = before && upgradeTaskOutcome(before);
        if (!after || !raw) break;
        const ops: Op[] = [['SET', key, JSON.stringify(after), 'KEEPTTL'], this.announce(id)];
        if (await this.commit({ guards: [[key, raw]], ops })) {
          changed += 1;
          break;
        }
      }
    }
    await this.redis.set(RedisKeys.outcomesMigrated, String(Date.now()));
    return changed;
  }

  /** The entry on stream:board-events that makes every board load task `id` again. */
  private announce(id: string): Op {
    return ['XADD', RedisStreams.boardEvents, 'MAXLEN', '~', String(TEAM_EVENTS_MAX_LENGTH), '*', 'taskId', id];
  }

  /** The writes that move a task from `before` (undefined: new) to `after`, its announcement included. */
  private writeOps(before: StoredTask | undefined, after: StoredTask): Op[] {
    const id = after.id;
    const ops: Op[] = [];
    const callable = !isWithheld(after.patient);
    if (after.status === 'closed') {
      const closedAt = after.closedAt ?? Date.now();
      const keepSeconds = Math.max(60, this.retentionSeconds - Math.floor((Date.now() - closedAt) / 1000));
      ops.push(
        ['SET', RedisKeys.task(id), JSON.stringify(after), 'EX', String(keepSeconds)],
        ['SREM', RedisKeys.openTasks, id],
        ['ZADD', RedisKeys.closedTasks, String(closedAt), id],
        ['ZREMRANGEBYSCORE', RedisKeys.closedTasks, '-inf', String(Date.now() - this.retentionSeconds * 1000)],
      );
      if (callable) {
        ops.push(['DELIFEQ', RedisKeys.patientTask(after.patient), id]);
        if (before?.status !== 'closed' && after.subjectId) {
          ops.push([
            'SET',
            RedisKeys.patientLastSubject(after.patient),
            after.subjectId,
            'EX',
            String(this.retentionSeconds),
          ]);
        }
      }
    } else {
      // An open task holds the patient's number too: it goes `retentionDays` after it last changed, an
      // abandoned call nobody called back included (docs/security.md); RetentionSweep tidies tasks:open.
      const keep = String(this.retentionSeconds);
      ops.push(['SET', RedisKeys.task(id), JSON.stringify(after), 'EX', keep], ['SADD', RedisKeys.openTasks, id]);
      if (callable && isMissed(after.status)) ops.push(['SET', RedisKeys.patientTask(after.patient), id, 'EX', keep]);
    }
    const message = after.voicemail?.id;
    if (message !== undefined && message !== before?.voicemail?.id) {
      const keep = this.retentionSeconds + VOICEMAIL_TASK_EXTRA_SECONDS;
      ops.push(['SET', RedisKeys.voicemailTask(message), id, 'EX', String(keep)]);
    }
    ops.push(this.announce(id));
    return ops;
  }

  private async commit(plan: Plan): Promise<boolean> {
    const keys: string[] = [];
    const index = (key: string): number => {
      const at = keys.indexOf(key);
      if (at >= 0) return at + 1;
      keys.push(key);
      return keys.length;
    };
    const guards = plan.guards.map(([key, expected]) => [index(key), expected]);
    const ops = plan.ops.map(([command, key, ...args]) => [command, index(key), ...args]);
    const result = await this.redis.eval(
      TASK_COMPARE_AND_SET,
      keys.length,
      ...keys,
      JSON.stringify(guards),
      JSON.stringify(ops),
    );
    return result === 1;
  }
}
