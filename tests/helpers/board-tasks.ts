/**
 * Tasks on the call board made the way production makes them: the test appends a patient's call to
 * the call-events stream in the sip app's format (CallStore: field "event", CallEvent JSON, one entry
 * per state) and signaling's projector turns it into a task.
 */
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { RedisKeys, RedisStreams, type CallView, type TaskView } from '@deskline/protocol';
import type {} from '@deskline/signaling/plugins/app/tasks';
import { waitFor } from './wait.js';

let seq = 0;

async function append(db: Redis, call: CallView): Promise<void> {
  await db.xadd(RedisStreams.callEvents, '*', 'event', JSON.stringify({ call }));
}

/** The task of `call` once the projector has applied the call's state `state`. */
export function taskOfCall(app: FastifyInstance, db: Redis, callId: string, check: (task: TaskView) => boolean): Promise<TaskView> {
  return waitFor(`the task of ${callId}`, async () => {
    const taskId = await db.get(RedisKeys.callTask(callId));
    const task = taskId ? await app.tasks.get(taskId) : undefined;
    return task && check(task) ? task : undefined;
  });
}

/** A call from `from` that `agentUserId` answered and that has ended: a pending (wrap-up) task assigned to them. */
export async function wrapUpTask(app: FastifyInstance, db: Redis, agentUserId: string, from: string): Promise<TaskView> {
  const now = Date.now();
  const call: CallView = { id: `call-${++seq}-${now}`, from, line: '100', state: 'intro', startedAt: now };
  await append(db, call);
  await append(db, { ...call, state: 'waiting', queuedAt: now });
  await append(db, { ...call, state: 'ringing', queuedAt: now, agentUserId, workstationId: 'w1' });
  await append(db, { ...call, state: 'bridged', queuedAt: now, agentUserId, workstationId: 'w1', answeredAt: now });
  await append(db, { ...call, state: 'ended', queuedAt: now, agentUserId, workstationId: 'w1', answeredAt: now, endedAt: Date.now() });
  return taskOfCall(app, db, call.id, (task) => task.status === 'wrap-up');
}

/** A call from `from` that is waiting in the queue: a pending (incoming) task nobody is assigned to. */
export async function waitingCall(app: FastifyInstance, db: Redis, from: string): Promise<{ call: CallView; task: TaskView }> {
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
