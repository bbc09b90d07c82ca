/**
 * Tasks on the call board made the way production makes them: the test appends a patient's call to
 * the call-events stream in the sip app's format (CallStore: field "event", CallEvent JSON, one entry
 * per state) and signaling's projector turns it into a task.
 */
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { type CallView, type TaskView, type VoicemailMessage } from '@deskline/protocol';
import { RedisKeys, RedisStreams } from '@deskline/store';
import type {} from '@deskline/signaling/plugins/app/tasks';
import { TASKS_GROUP, TASKS_READ_BLOCK_MS } from '@deskline/signaling/services/task-projector';
import { waitFor } from './wait.js';

let seq = 0;

/**
 * How long the projector may take to replay a stream after its group was reset (XGROUP SETID): its
 * blocked XREADGROUP is not woken by the reset and returns only when its BLOCK ends (measured with
 * Redis 7.0: 5.07 s after a SETID 0.5 s into a 5 s block), then the replay is read and applied, which
 * takes seconds more on a loaded machine. A product timer, so the wait is that timer plus slack.
 */
export const REPLAY_TIMEOUT_MS = TASKS_READ_BLOCK_MS + 10_000;

/**
 * Resolves once the projector's group has been handed, and has acknowledged, every entry of both
 * streams it reads (call and callback events). `timeoutMs`: REPLAY_TIMEOUT_MS after a SETID.
 */
export async function projected(db: Redis, timeoutMs = 5_000): Promise<void> {
  await waitFor(
    'the projector to catch up',
    async () => {
      for (const stream of [RedisStreams.callEvents, RedisStreams.callbackEvents]) {
        const [last] = await db.xrevrange(stream, '+', '-', 'COUNT', 1);
        if (!last) continue;
        const groups = (await db.xinfo('GROUPS', stream)) as Array<Array<string | number>>;
        const group = groups.map((g) => Object.fromEntries(pairs(g))).find((g) => g['name'] === TASKS_GROUP);
        if (!group || group['last-delivered-id'] !== last[0] || Number(group['pending']) !== 0) return false;
      }
      return true;
    },
    timeoutMs,
  );
}

function pairs(flat: Array<string | number>): Array<[string, string | number]> {
  const out: Array<[string, string | number]> = [];
  for (let i = 0; i < flat.length; i += 2) out.push([String(flat[i]), flat[i + 1]!]);
  return out;
}

async function append(db: Redis, call: CallView): Promise<void> {
  await db.xadd(RedisStreams.callEvents, '*', 'event', JSON.stringify({ call }));
}

/** The task of `call` once the projector has applied the call's state `state`. */
export function taskOfCall(
  app: FastifyInstance,
  db: Redis,
  callId: string,
  check: (task: TaskView) => boolean,
): Promise<TaskView> {
  return waitFor(`the task of ${callId}`, async () => {
    const taskId = await db.get(RedisKeys.callTask(callId));
    const task = taskId ? await app.tasks.get(taskId) : undefined;
    return task && check(task) ? task : undefined;
  });
}

/** A call from `from` that `agentUserId` answered and that has ended: a pending (wrap-up) task assigned to them. */
export async function wrapUpTask(
  app: FastifyInstance,
  db: Redis,
  agentUserId: string,
  from: string,
): Promise<TaskView> {
  const now = Date.now();
  const call: CallView = { id: `call-${++seq}-${now}`, from, line: '100', state: 'intro', startedAt: now };
  await append(db, call);
  await append(db, { ...call, state: 'waiting', queuedAt: now });
  await append(db, { ...call, state: 'ringing', queuedAt: now, agentUserId, workstationId: 'w1' });
  await append(db, { ...call, state: 'bridged', queuedAt: now, agentUserId, workstationId: 'w1', answeredAt: now });
  await append(db, {
    ...call,
    state: 'ended',
    queuedAt: now,
    agentUserId,
    workstationId: 'w1',
    answeredAt: now,
    endedAt: Date.now(),
  });
  return taskOfCall(app, db, call.id, (task) => task.status === 'wrap-up');
}

/** A call from `from` that is waiting in the queue: a pending (incoming) task nobody is assigned to. */
export async function waitingCall(
  app: FastifyInstance,
  db: Redis,
  from: string,
): Promise<{ call: CallView; task: TaskView }> {
  const now = Date.now();
  const call: CallView = { id: `call-${++seq}-${now}`, from, line: '100', state: 'intro', startedAt: now };
  await append(db, call);
  await append(db, { ...call, state: 'waiting', queuedAt: now });
  const task = await taskOfCall(app, db, call.id, (t) => t.call?.state === 'waiting');
  return { call: { ...call, state: 'waiting', queuedAt: now }, task };
}

/** `call` (waiting) is answered by `agentUserId`: its task becomes theirs. */
export async function answer(app: FastifyInstance, db: Redis, call: CallView, agentUserId: string): Promise<TaskView> {
  await append(db, { ...call, state: 'ringing', agentUserId, workstationId: 'w1' });
  await append(db, { ...call, state: 'bridged', agentUserId, workstationId: 'w1', answeredAt: Date.now() });
  return taskOfCall(app, db, call.id, (task) => task.assigneeUserId === agentUserId && task.call?.state === 'bridged');
}

/** `message`'s call as the sip app reports it (waiting, voicemail, message-left): its Voicemail task in Unanswered. */
export async function messageLeftTask(app: FastifyInstance, db: Redis, message: VoicemailMessage): Promise<TaskView> {
  const at = message.createdAt;
  const call: CallView = {
    id: message.callId,
    from: message.from,
    line: message.line,
    state: 'waiting',
    startedAt: at,
    queuedAt: at,
  };
  await append(db, call);
  await append(db, { ...call, state: 'voicemail' });
  await append(db, { ...call, state: 'message-left', endedAt: at + message.durationMs, voicemailId: message.id });
  return taskOfCall(app, db, call.id, (task) => task.voicemail?.id === message.id);
}
