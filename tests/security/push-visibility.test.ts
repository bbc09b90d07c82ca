/**
 * Pending tasks reach only the panels allowed to see them (docs/security.md, "Routes, sessions and
 * push"): REST refuses an employee another employee's pending task, and the push socket must not hand
 * it over either, in the hello or in any later frame. A panel that saw a task which then became
 * someone else's is told to drop it (task-gone). Two employees' sockets and a manager's, on a real
 * Redis, with the tasks made by the projector from call events in the sip app's format.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { taskVisibleTo, type CallView, type PushEvent, type TaskView } from '@deskline/protocol';
import { RedisStreams } from '@deskline/store';
import { answer, taskOfCall, waitingCall, wrapUpTask } from '../helpers/board-tasks.js';
import { PushEvents } from '../helpers/push-events.js';
import { asUser, createUser, loginOk, useFreshApp, type LoggedIn } from '../helpers/signaling.js';

const fixture = useFreshApp(test);
let maria: LoggedIn;
let anna: LoggedIn;
let ben: LoggedIn;

test.before.each(async () => {
  const { app } = fixture;
  maria = await loginOk(app, 'maria@clinic.example', await createUser(app, 'maria@clinic.example', 'manager'));
  anna = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
  ben = await loginOk(app, 'ben@clinic.example', await createUser(app, 'ben@clinic.example', 'employee'));
  await app.ready();
});

const id = (who: LoggedIn): string => who.info.user.id;
const viewer = (who: LoggedIn): { userId: string; role: string } => ({ userId: id(who), role: who.info.user.role });

type TaskFrame = Extract<PushEvent, { type: 'task' }>;
type GoneFrame = Extract<PushEvent, { type: 'task-gone' }>;
const taskFrame =
  (taskId: string, test: (task: TaskView) => boolean = () => true) =>
  (event: PushEvent): event is TaskFrame =>
    event.type === 'task' && event.task.id === taskId && test(event.task);
const goneFrame =
  (taskId: string) =>
  (event: PushEvent): event is GoneFrame =>
    event.type === 'task-gone' && event.taskId === taskId;

/** Every task a panel was handed, in its hello and in task frames. */
function tasksSeen(panel: PushEvents): TaskView[] {
  return panel.seen.flatMap(({ event }) =>
    event.type === 'hello' ? event.tasks : event.type === 'task' ? [event.task] : [],
  );
}

/** What REST answers `who` for the task now: 200 or 403. */
async function restStatus(who: LoggedIn, taskId: string): Promise<number> {
  return (await asUser(fixture.app, who, 'GET', `/api/tasks/${taskId}`)).statusCode;
}

test("an employee's socket never gets another employee's pending task; a panel that saw it gets task-gone; the manager and the owner get every change", async () => {
  const { app, db } = fixture;
  const annaPanel = await PushEvents.open(app, anna);
  const benPanel = await PushEvents.open(app, ben);
  const mariaPanel = await PushEvents.open(app, maria);

  // A patient waits: the task is nobody's yet, and everyone may see it.
  const { call, task } = await waitingCall(app, db, '+48600100200');
  for (const panel of [annaPanel, benPanel, mariaPanel]) await panel.waitFor('the waiting task', taskFrame(task.id));
  assert.is(await restStatus(anna, task.id), 200);

  // Ben answers and hangs up: the task is his, in Pending (wrap-up).
  const annaMark = annaPanel.mark();
  await answer(app, db, call, id(ben));
  await db.xadd(
    RedisStreams.callEvents,
    '*',
    'event',
    JSON.stringify({
      call: {
        ...call,
        state: 'ended',
        agentUserId: id(ben),
        workstationId: 'w1',
        answeredAt: Date.now(),
        endedAt: Date.now(),
      } satisfies CallView,
    }),
  );
  const wrapUp = await taskOfCall(app, db, call.id, (t) => t.status === 'wrap-up');
  assert.is(wrapUp.assigneeUserId, id(ben));
  await benPanel.waitFor(
    "Ben's wrap-up",
    taskFrame(task.id, (t) => t.status === 'wrap-up'),
  );
  await mariaPanel.waitFor(
    "the manager's copy of Ben's wrap-up",
    taskFrame(task.id, (t) => t.status === 'wrap-up'),
  );
  // Anna had seen the task: she is told to drop it, and gets nothing else of it while it is Ben's.
  await annaPanel.waitFor("task-gone for Ben's task", goneFrame(task.id), annaMark);
  assert.is(await restStatus(anna, task.id), 403, 'REST refuses Anna the task');
  assert.not.ok(
    annaPanel.seen
      .slice(annaMark)
      .some(
        ({ event }) => event.type === 'task' && event.task.id === task.id && !taskVisibleTo(event.task, viewer(anna)),
      ),
    'no frame of the task while it is not visible to Anna',
  );

  // Ben comments on it: the owner and the manager hear of it; Anna still hears nothing.
  const commented = await asUser(app, ben, 'PATCH', `/api/tasks/${task.id}`, { comment: 'Asked about her results' });
  assert.is(commented.statusCode, 200);
  await benPanel.waitFor(
    'the comment',
    taskFrame(task.id, (t) => t.comment === 'Asked about her results'),
  );
  await mariaPanel.waitFor(
    'the comment (manager)',
    taskFrame(task.id, (t) => t.comment === 'Asked about her results'),
  );

  // A new panel of Anna's opened now: its hello has no trace of Ben's pending task.
  const annaLater = await PushEvents.open(app, anna);
  const hello = await annaLater.waitFor(
    'the hello',
    (event): event is Extract<PushEvent, { type: 'hello' }> => event.type === 'hello',
  );
  assert.not.ok(hello.event.tasks.some((t) => t.id === task.id));
  // The manager's hello has it.
  const mariaLater = await PushEvents.open(app, maria);
  const mariaHello = await mariaLater.waitFor(
    'the hello',
    (event): event is Extract<PushEvent, { type: 'hello' }> => event.type === 'hello',
  );
  assert.ok(mariaHello.event.tasks.some((t) => t.id === task.id));

  // Closed, it is everyone's history again (the Closed tab shows all): Anna may see it, by REST and push.
  const subject = (await app.subjects.list())[0]!;
  assert.is((await asUser(app, ben, 'PATCH', `/api/tasks/${task.id}`, { subjectId: subject.id })).statusCode, 200);
  assert.is((await asUser(app, ben, 'POST', `/api/tasks/${task.id}/close`)).statusCode, 200);
  await annaPanel.waitFor(
    'the closed task',
    taskFrame(task.id, (t) => t.status === 'closed'),
  );
  assert.is(await restStatus(anna, task.id), 200);

  // Every task frame and hello Anna's panels got was one REST would have given her at that moment.
  for (const panel of [annaPanel, annaLater]) {
    for (const seen of tasksSeen(panel))
      assert.ok(
        taskVisibleTo(seen, viewer(anna)),
        `Anna was sent ${seen.id} in ${seen.status} of ${seen.assigneeUserId}`,
      );
  }
  for (const panel of [annaPanel, benPanel, mariaPanel, annaLater, mariaLater]) panel.socket.close();
});

test("a call another employee answers and wraps up while Anna's panel is open: Anna gets only frames she may see, and task-gone after any", async () => {
  const { app, db } = fixture;
  const annaPanel = await PushEvents.open(app, anna);
  const benPanel = await PushEvents.open(app, ben);
  const task = await wrapUpTask(app, db, id(ben), '+48600100300');
  await benPanel.waitFor(
    "Ben's wrap-up",
    taskFrame(task.id, (t) => t.status === 'wrap-up'),
  );
  // A later change that Anna may see (another patient waiting) reaches her after everything above.
  const { task: other } = await waitingCall(app, db, '+48600100400');
  await annaPanel.waitFor('the other waiting task', taskFrame(other.id));
  const annaFrames = annaPanel.seen
    .map(({ event }) => event)
    .filter(
      (event) =>
        (event.type === 'task' && event.task.id === task.id) ||
        (event.type === 'task-gone' && event.taskId === task.id),
    );
  // Whether she saw it on the line (visible to all) depends on how the board events were batched;
  // whatever she saw, she may see, and the last word is to drop it.
  for (const event of annaFrames)
    if (event.type === 'task') assert.ok(taskVisibleTo(event.task, viewer(anna)), `frame in ${event.task.status}`);
  if (annaFrames.length > 0) assert.is(annaFrames[annaFrames.length - 1]!.type, 'task-gone');
  console.log(
    `  Anna's frames of Ben's task: ${annaFrames.map((e) => (e.type === 'task' ? e.task.status : e.type)).join(', ') || 'none'}`,
  );
  assert.is(await restStatus(anna, task.id), 403);
  for (const panel of [annaPanel, benPanel]) panel.socket.close();
});

test.run();
