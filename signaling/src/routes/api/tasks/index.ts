import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  API_ROUTES,
  CALLBACK_TARGET_PREFIX,
  TASK_LIST_DEFAULT_LIMIT,
  isWithheld,
  statusMayBeCalledBack,
  taskVisibleTo,
  type CallbackStartResponse,
  type TaskView,
} from '@deskline/protocol';
import { RedisKeys, workstationSipUser } from '@deskline/store';
import { evaluate } from '@deskline/outbound-policy';
import type { Config } from '../../../config.js';
import { ClientError } from '../../../errors.js';
import { dateIn } from '../../../services/clinic-day.js';
import { authenticated } from '../../../plugins/app/auth.js';
import { mayChange, type StoredTask } from '../../../services/task-rules.js';
import type { StoredUser } from '../../../services/user-store.js';

const NO_WORKSTATION = 'Pick a workstation to call patients back.';
const IN_PROGRESS = new Set(['incoming', 'on-the-line', 'calling-back']);

function viewer(user: StoredUser): { userId: string; role: string } {
  return { userId: user.id, role: user.role };
}

/** 403 unless the user may change the task (managers any; an employee theirs or an unassigned one). */
function checkMayChange(task: Pick<TaskView, 'assigneeUserId'>, user: StoredUser): void {
  if (!mayChange(task, user)) throw new ClientError(403, 'This task is assigned to someone else.');
}

/**
 * The call board (docs/call-board.md): the tabs, one task, choosing its subject and comment,
 * reporting a problem, closing it, and starting a callback. Tasks themselves are made by the
 * projector from the sip app's events; these routes only change what staff decide.
 */
const tasks: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  /** The task for a change by `user`: 404 unknown, 403 someone else's. */
  const changeable = async (id: string, user: StoredUser): Promise<TaskView> => {
    const task = await app.tasks.get(id);
    if (!task) throw new ClientError(404, 'No such task.');
    checkMayChange(task, user);
    return task;
  };

  /** Changes the task with the permission checked again on the task as it is at the write. */
  const change = (
    id: string,
    user: StoredUser,
    step: (task: StoredTask) => StoredTask | undefined,
  ): Promise<TaskView> =>
    app.tasks.update(id, (task) => {
      checkMayChange(task, user);
      return step(task);
    });

  app.get('/', { config: { access: 'session' }, schema: API_ROUTES.listTasks.schema }, async (request) => {
    const { user } = authenticated(request);
    const { tab, limit } = request.query;
    return { tasks: await app.tasks.list(tab, viewer(user), limit ?? TASK_LIST_DEFAULT_LIMIT) };
  });

  app.get('/:id', { config: { access: 'session' }, schema: API_ROUTES.task.schema }, async (request) => {
    const { user } = authenticated(request);
    const task = await app.tasks.get(request.params.id);
    if (!task) throw new ClientError(404, 'No such task.');
    if (!taskVisibleTo(task, viewer(user))) throw new ClientError(403, 'This task is assigned to someone else.');
    return task;
  });

  // Saved the moment it is chosen, so a reload keeps it. Never closes the task: Close does, or the
  // hang-up of a call whose subject was chosen while on the line.
  app.patch('/:id', { config: { access: 'session' }, schema: API_ROUTES.updateTask.schema }, async (request) => {
    const { user } = authenticated(request);
    const { id } = request.params;
    const { subjectId, comment } = request.body;
    await changeable(id, user);
    if (typeof subjectId === 'string') {
      const subject = await app.subjects.get(subjectId);
      if (!subject) throw new ClientError(400, 'No such subject.');
      if (subject.retired) {
        const current = await app.tasks.get(id);
        if (current?.subjectId !== subjectId)
          throw new ClientError(400, `The subject "${subject.name}" is retired; choose another.`);
      }
    }
    const task = await change(id, user, (task) => {
      if (subjectId === null && task.status === 'closed')
        throw new ClientError(409, 'A closed task keeps a subject; choose another instead.');
      if (subjectId === null) delete task.subjectId;
      else if (subjectId !== undefined) task.subjectId = subjectId;
      if (comment === '') delete task.comment;
      else if (comment !== undefined) task.comment = comment;
      return task;
    });
    request.log.info({ taskId: id, subjectId, commentLength: comment?.length }, 'task updated');
    return task;
  });

  app.post(
    '/:id/problems',
    { config: { access: 'session' }, schema: API_ROUTES.reportProblem.schema },
    async (request, reply) => {
      const { user } = authenticated(request);
      const { id } = request.params;
      await changeable(id, user);
      const { kind, note } = request.body;
      let callId: string | undefined;
      const task = await change(id, user, (task) => {
        callId = task.call?.id;
        task.problems.push({
          kind,
          ...(note ? { note } : {}),
          ...(callId ? { callId } : {}),
          userId: user.id,
          at: Date.now(),
        });
        return task;
      });
      // For clinic IT, who read the logs rather than the board.
      request.log.warn({ taskId: id, callId, userId: user.id, kind, note }, 'problem reported with a call');
      return reply.code(201).send(task);
    },
  );

  app.post('/:id/close', { config: { access: 'session' }, schema: API_ROUTES.closeTask.schema }, async (request) => {
    const { user } = authenticated(request);
    const { id } = request.params;
    await changeable(id, user);
    const task = await change(id, user, (task) => {
      if (task.status === 'closed') return undefined;
      if (IN_PROGRESS.has(task.status))
        throw new ClientError(409, 'The call is still in progress; close the task after it.');
      if (!task.subjectId)
        throw new ClientError(409, 'Choose a subject before closing the task.', {}, 'subject-required');
      const now = Date.now();
      task.status = 'closed';
      task.closedAt = now;
      task.closedByUserId = user.id;
      task.assigneeUserId ??= user.id;
      return task;
    });
    request.log.info({ taskId: id, userId: user.id }, 'task closed');
    return task;
  });

  app.post(
    '/:id/callback',
    { config: { access: 'session' }, schema: API_ROUTES.startCallback.schema },
    async (request, reply) => {
      const { user } = authenticated(request);
      const { id } = request.params;
      const task = await changeable(id, user);
      const workstation = await app.agents.requireWorkstation(user.id, NO_WORKSTATION);
      const sipUser = workstationSipUser(workstation);
      if (workstation.kind !== 'browser' || !sipUser)
        throw new ClientError(409, `${workstation.name} is a desk phone; call back from a browser workstation.`);
      if (!statusMayBeCalledBack(task.status, await app.outcomeSettings.get()))
        throw new ClientError(
          409,
          task.status === 'abandoned'
            ? 'The patient hung up during the intro: the clinic does not call back abandoned calls.'
            : 'Only a task nobody answered can be called back.',
        );
      if (isWithheld(task.patient)) throw new ClientError(409, 'The number was withheld; it cannot be called back.');
      // The outbound policy (docs/security.md): the sip app and Kamailio check the number again.
      const policy = await app.outboundPolicy.get();
      const verdict = evaluate(policy, task.patient, config.CLINIC_COUNTRY);
      if (!verdict.allowed) {
        request.log.warn(
          { taskId: id, userId: user.id, refusal: verdict.refusal },
          'callback refused by the outbound policy',
        );
        throw new ClientError(409, verdict.message, {}, 'outbound-policy');
      }
      const today = dateIn(config.CLINIC_TIME_ZONE, Date.now());
      const started = await app.tasks.startCallback(
        task,
        { userId: user.id, workstationId: workstation.id, sipUser },
        { key: RedisKeys.callbackCount(user.id, today), max: policy.maxCallbacksPerDay },
      );
      if ('capReached' in started) {
        request.log.warn(
          { taskId: id, userId: user.id, max: policy.maxCallbacksPerDay },
          'callback refused: the daily cap is reached',
        );
        throw new ClientError(
          409,
          policy.maxCallbacksPerDay === 0
            ? "The clinic's callback policy allows no callbacks at the moment."
            : `You have made ${policy.maxCallbacksPerDay} callbacks today, the most the clinic's callback policy allows an employee in a day.`,
          {},
          'callback-cap',
        );
      }
      if ('busy' in started) {
        const caller =
          started.userId === user.id
            ? 'You are'
            : started.userId
              ? `${(await app.users.get(started.userId))?.displayName ?? 'Someone'} is`
              : 'Someone is';
        throw new ClientError(409, `${caller} already calling this patient.`);
      }
      request.log.info(
        { taskId: id, callbackId: started.callbackId, userId: user.id, workstationId: workstation.id },
        'callback granted',
      );
      const body: CallbackStartResponse = {
        callbackId: started.callbackId,
        target: `sip:${CALLBACK_TARGET_PREFIX}${started.token}@${config.SIP_DOMAIN}`,
      };
      return reply.code(201).send(body);
    },
  );
};

export default tasks;
