/**
 * The patient's BYE overtaking its ACK. The trunk sends both to Kamailio over UDP, Kamailio relays
 * each as a transaction of its own (another UDP worker each), so the sip app may get the BYE for a
 * dialog whose 200 it is still retransmitting (RFC 3261 §13.3.1.4, §15; RFC 5407). The BYE proves the
 * patient had our 200: the sip app answers it 200, stops retransmitting the 200, and ends the call as
 * a hang-up after the ACK: abandoned, one callback task per patient on the board, the agent's phone
 * stops ringing, nothing left in Redis or rtpengine; a late ACK is absorbed without a word.
 *
 * The real call path: Redis, Kamailio, rtpengine and the sip app as processes, signaling in this
 * process (its projector makes the tasks), the patient played by the test's own UDP SIP phone
 * through Kamailio (it chooses when, and whether, to ACK), an agent's workstation over WebSocket.
 */
import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { taskTab, type TaskListResponse, type TaskView } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { AgentPhone } from '../../helpers/agent-phone.js';
import {
  CLINIC_NUMBER,
  HOLD_MUSIC_HZ,
  activeCallIds,
  readCall,
  recordedStates,
  startCallPath,
  type CallPath,
} from '../../helpers/call-path.js';
import { PatientLine, type PatientDialog } from '../../helpers/patient-line.js';
import { PatientPhone } from '../../helpers/patient-phone.js';
import type { LogLine } from '../../helpers/sip-app.js';
import { asUser, buildTestApp, loginOk, type LoggedIn } from '../../helpers/signaling.js';
import { header } from '../../helpers/sip-message.js';
import { waitFor } from '../../helpers/wait.js';

const PASSWORD = 'correct horse battery';
/** RFC 3261's T1 and T2 (SIP.js's): a 2xx is retransmitted after T1, then at doubling gaps of at most T2. */
const T1_MS = 500;
const T2_MS = 4_000;

interface Context {
  path: CallPath;
  app: FastifyInstance;
  line: PatientLine;
  anna: LoggedIn;
  ben: LoggedIn;
  open: Array<{ close(): unknown }>;
}

const test = suite<Context>('bye: the patient hangs up before, with or without, the ACK');

test.before(async (context) => {
  // The hold music at once after the ACK (no intro), so a waiting call is one with music on.
  context.path = await startCallPath({ appEnv: { SKIP_INTRO: 'true', RING_TIMEOUT_SECONDS: '20' } });
  context.app = await buildTestApp(context.path.redisUrl, { SIP_DOMAIN: context.path.kamailio.domain });
  await context.app.ready();
  await context.app.users.create({
    email: 'anna@clinic.example',
    displayName: 'anna',
    role: 'employee',
    password: PASSWORD,
  });
  await context.app.users.create({
    email: 'ben@clinic.example',
    displayName: 'ben',
    role: 'manager',
    password: PASSWORD,
  });
  context.anna = await loginOk(context.app, 'anna@clinic.example', PASSWORD);
  context.ben = await loginOk(context.app, 'ben@clinic.example', PASSWORD);
  context.line = await PatientLine.open(context.path.kamailioPort);
  context.open = [];
});

test.after.each(async ({ open, app, anna, path }) => {
  for (const item of open.splice(0).reverse()) {
    try {
      await item.close();
    } catch (err) {
      console.error('cleanup after the test:', (err as Error).message);
    }
  }
  await app.agents.leaveWorkstation(anna.info.user.id).catch(() => undefined);
  await waitFor('no call left from the test', async () => (await activeCallIds(path.redis)).length === 0, 10_000);
});

test.after(async ({ line, app, path }) => {
  await line?.close();
  await app?.close();
  await path?.stop();
});

/** A patient's number of its own for each test, so each starts without a task. */
let numbers = 0;
function patientNumber(): string {
  return `+49151000000${String(++numbers).padStart(2, '0')}`;
}

/** The patient calls from `from` and gets the 200; the ACK is the test's to send (`sendAck`), or not. */
async function answeredNotAcked(
  context: Context,
  from: string,
): Promise<{ dialog: PatientDialog; media: PatientPhone }> {
  const media = await PatientPhone.open();
  context.open.push(media);
  const dialog = await context.line.call({ line: CLINIC_NUMBER, rtpPort: media.port, from, ack: false });
  context.open.push(dialog);
  return { dialog, media };
}

/** The sip app's id of the call it answered as SIP call `sipCallId`. */
async function deskCallId(path: CallPath, sipCallId: string): Promise<string> {
  const line = await path.app.waitForLog(
    'the call answered',
    (entry) => entry.msg === 'answered the patient' && entry['sipCallId'] === sipCallId,
  );
  return line['callId'] as string;
}

/** The patient's open callback task (patient-task points at it while abandoned), once `check` holds. */
function patientTask(
  context: Context,
  number: string,
  check: (task: TaskView) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<TaskView> {
  return taskAt(context, RedisKeys.patientTask(number), check, what, timeoutMs);
}

/** The task of call `callId`, once `check` holds. */
function callTask(
  context: Context,
  callId: string,
  check: (task: TaskView) => boolean,
  what: string,
): Promise<TaskView> {
  return taskAt(context, RedisKeys.callTask(callId), check, what, 10_000);
}

function taskAt(
  { path, app }: Context,
  pointer: string,
  check: (task: TaskView) => boolean,
  what: string,
  timeoutMs: number,
): Promise<TaskView> {
  return waitFor(
    what,
    async () => {
      const taskId = await path.redis.get(pointer);
      const task = taskId ? await app.tasks.get(taskId) : undefined;
      return task && check(task) ? task : undefined;
    },
    timeoutMs,
  );
}

/** The tasks the manager's board shows in a tab for `number`. */
async function boardTasks({ app, ben }: Context, tab: string, number: string): Promise<TaskView[]> {
  const response = await asUser(app, ben, 'GET', `/api/tasks?tab=${tab}`);
  assert.is(response.statusCode, 200, response.body);
  return response.json<TaskListResponse>().tasks.filter((task) => task.patient === number);
}

/** Nothing of the call is left: not active, not waiting, no SIP state, no rtpengine session. */
async function nothingLeft(path: CallPath, callId: string): Promise<void> {
  await waitFor('the call gone from calls:active', async () => !(await activeCallIds(path.redis)).includes(callId));
  assert.is(await path.redis.zscore(RedisKeys.waitingCalls, callId), null, 'not in calls:waiting');
  assert.is(await path.redis.exists(`call-sip:${callId}`), 0, 'no call-sip state');
  assert.equal(await path.rtpengine.list(), [], 'no rtpengine session');
}

/** The sip app's warnings and errors about SIP call `sipCallId` from log line `from` on. */
function complaints(path: CallPath, sipCallId: string, from: number): LogLine[] {
  return path.app.logs.slice(from).filter((entry) => entry['sipCallId'] === sipCallId && Number(entry['level']) >= 40);
}

/** Anna takes a new browser workstation, ready for calls: its phone. */
async function annaAvailable(context: Context, name: string): Promise<AgentPhone> {
  const { app, path, anna } = context;
  const workstation = await app.workstations.create({ name, kind: 'browser' });
  const phone = await AgentPhone.register(path.kamailio, workstation.id);
  context.open.push(phone);
  await app.agents.selectWorkstation(anna.info.user.id, workstation.id, async (holder) => holder);
  return phone;
}

/** Anna is free for the next call again. */
async function annaFree({ path, anna }: Context): Promise<void> {
  await waitFor(
    'the agent free again',
    async () => (await path.redis.hget(RedisKeys.agent(anna.info.user.id), 'state')) === 'available',
  );
}

/** Lets `ms` of the product's own timers pass: the only way to see that something does not happen. */
function timersPass(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

test('bye before the ACK (the patient missed once before, waiting with the music): 200, the 200 retransmissions stop, one task with 2 attempts, a late ACK absorbed, nothing left', async (context) => {
  const { path } = context;
  const number = patientNumber();

  // An earlier miss: the patient waited with the hold music and hung up.
  const first = await answeredNotAcked(context, number);
  first.dialog.sendAck();
  await first.media.waitForTone(HOLD_MUSIC_HZ, 5_000);
  assert.is((await first.dialog.hangUp()).status, 200);
  const missed = await patientTask(
    context,
    number,
    (t) => t.status === 'unanswered' && t.attempts === 1,
    'the first miss on the board',
  );

  // The patient calls again and hangs up at once: the BYE reaches the sip app, the ACK never before it.
  const { dialog } = await answeredNotAcked(context, number);
  const callId = await deskCallId(path, dialog.callId);
  await waitFor('a retransmission of the 200 (no ACK yet)', () => dialog.invite200s() >= 2, T1_MS * 4);
  const bye = await dialog.hangUp();
  assert.is(bye.status, 200, bye.startLine);
  assert.ok(/tag=/.test(header(bye, 'to') ?? ''), "the sip app's 200 (the dialog's To tag)");
  const okAfterBye = dialog.invite200s();

  const task = await patientTask(context, number, (t) => t.attempts === 2, 'the second miss counted');
  assert.is(task.id, missed.id, 'the same task: one per patient');
  // The earlier miss was in the queue: a hang-up as the call connects (in the intro) leaves it Unanswered.
  assert.is(task.status, 'unanswered');
  assert.is(task.call?.id, callId);
  assert.is(task.call?.state, 'abandoned');
  assert.equal(await recordedStates(path.redis, callId), ['intro', 'abandoned'], 'as a hang-up during the intro');
  assert.is((await readCall(path.redis, callId))?.state, 'abandoned');
  assert.ok(await path.redis.zscore(RedisKeys.abandonedCalls, callId), 'in calls:abandoned');
  const board = await boardTasks(context, 'unanswered', number);
  assert.equal(
    board.map((t) => [t.id, t.attempts]),
    [[missed.id, 2]],
    'the board shows the callback task once',
  );
  await nothingLeft(path, callId);

  // The ACK that was overtaken arrives now: absorbed (no answer, no complaint, the call stays over).
  const logsBefore = path.app.logs.length;
  dialog.sendAck();
  await timersPass(T2_MS + 1_000);
  assert.is(dialog.invite200s(), okAfterBye, 'no 200 after the BYE was answered (retransmissions stopped)');
  assert.equal(complaints(path, dialog.callId, logsBefore), []);
  assert.equal(await recordedStates(path.redis, callId), ['intro', 'abandoned'], 'the late ACK started nothing');
  await nothingLeft(path, callId);
  console.log(
    `bye before ack: 200s to the INVITE before the BYE ${okAfterBye}, after it 0; task attempts ${task.attempts}`,
  );
});

test('bye with no ACK ever: the call is abandoned once; when the ACK wait (64×T1) runs out the sip app neither BYEs nor records again', async (context) => {
  const { path } = context;
  const number = patientNumber();
  const { dialog } = await answeredNotAcked(context, number);
  const callId = await deskCallId(path, dialog.callId);
  const bye = await dialog.hangUp();
  assert.is(bye.status, 200, bye.startLine);
  const okAfterBye = dialog.invite200s();
  const task = await patientTask(context, number, (t) => t.status === 'abandoned', 'the abandoned task');
  assert.is(task.attempts, 1);
  const logsBefore = path.app.logs.length;
  // The INVITE server transaction ends after 64×T1 (32 s, Timer L); an unACKed dialog would then be hung up.
  await timersPass(64 * T1_MS + 2_000);
  assert.is(dialog.invite200s(), okAfterBye, 'no 200 retransmitted after the BYE');
  assert.equal(dialog.requestsReceived('BYE'), [], 'no BYE from the sip app');
  assert.equal(complaints(path, dialog.callId, logsBefore), []);
  assert.equal(await recordedStates(path.redis, callId), ['intro', 'abandoned']);
  assert.is((await patientTask(context, number, () => true, 'the task'))?.attempts, 1);
  await nothingLeft(path, callId);
});

test('bye from the sip app when no ACK ever comes (the 200 lost on the way): the patient had our 200, so the call is recorded abandoned and they get one task', async (context) => {
  const { path } = context;
  const number = patientNumber();
  const { dialog } = await answeredNotAcked(context, number);
  const callId = await deskCallId(path, dialog.callId);
  // The INVITE server transaction gives up on the ACK after 64×T1 (32 s, Timer L); the sip app then hangs up.
  const bye = await dialog.waitForBye(64 * T1_MS + 5_000);
  assert.ok(bye, 'the sip app hung up on the unacknowledged call');
  const task = await patientTask(context, number, (t) => t.status === 'abandoned', 'the abandoned task');
  assert.is(task.attempts, 1);
  assert.equal(await recordedStates(path.redis, callId), ['intro', 'abandoned']);
  await nothingLeft(path, callId);
});

test('bye right after the ACK while an agent is free: the agent stops ringing (or never rings), one task, the agent free again', async (context) => {
  const { path } = context;
  const phone = await annaAvailable(context, 'Reception bye');
  const number = patientNumber();
  // How long after the ACK the patient's BYE leaves: back to back (within a ms), as a trunk does
  // when the patient hangs up as the call connects, then a little later, into the router's claim
  // and the ring (the patient's timing, not a wait for the product).
  const BYE_AFTER_ACK_MS = [0, 0, 0, 0, 2, 10, 30, 60];
  let rang = 0;
  let cancelled = 0;
  // Every ring the workstation got is CANCELled: its phone is never left ringing.
  const everyRingCancelled = async (): Promise<void> => {
    while (phone.invites > rang) {
      const ring = await phone.nextInvite();
      rang += 1;
      await ring.waitForCancel();
      cancelled += 1;
    }
  };
  for (const [index, delayMs] of BYE_AFTER_ACK_MS.entries()) {
    const { dialog } = await answeredNotAcked(context, number);
    const callId = await deskCallId(path, dialog.callId);
    dialog.sendAck();
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const bye = await dialog.hangUp();
    assert.is(bye.status, 200, bye.startLine);
    const task = await patientTask(
      context,
      number,
      // In the intro (Abandoned), or already in the queue or ringing (Unanswered, from then on).
      (t) => t.attempts === index + 1 && (t.status === 'abandoned' || t.status === 'unanswered'),
      `miss ${index + 1} counted`,
    );
    assert.equal(
      (await boardTasks(context, taskTab(task.status), number)).map((t) => t.id),
      [task.id],
      'one task per patient',
    );
    await annaFree(context);
    await everyRingCancelled();
    await nothingLeft(path, callId);
  }
  await everyRingCancelled();
  assert.is(cancelled, rang);
  console.log(
    `bye right after ack (${BYE_AFTER_ACK_MS.join(', ')} ms): the agent was rung in ${rang} of ${BYE_AFTER_ACK_MS.length} calls, every ring CANCELled`,
  );
});

test("bye before the ACK of a re-INVITE while the agent's phone rings: the agent stops ringing, unanswered task, the agent free, a late ACK absorbed", async (context) => {
  const { path } = context;
  const number = patientNumber();
  const { dialog, media } = await answeredNotAcked(context, number);
  dialog.sendAck();
  await media.waitForTone(HOLD_MUSIC_HZ, 5_000);
  const callId = await deskCallId(path, dialog.callId);
  const phone = await annaAvailable(context, 'Reception ring');
  const ring = await phone.nextInvite(10_000);
  await waitFor('the call ringing', async () => (await readCall(path.redis, callId))?.state === 'ringing');

  // A session refresh from the trunk; its 200 is not ACKed when the patient hangs up.
  const reinvite = await dialog.reinviteWithoutAck();
  const bye = await dialog.hangUp();
  assert.is(bye.status, 200, bye.startLine);
  await ring.waitForCancel();
  const okAfterBye = dialog.invite200s(reinvite.cseq);
  const task = await patientTask(context, number, (t) => t.status === 'unanswered', 'the unanswered task');
  assert.is(task.attempts, 1);
  assert.equal(await recordedStates(path.redis, callId), ['intro', 'waiting', 'ringing', 'abandoned']);
  await annaFree(context);
  const logsBefore = path.app.logs.length;
  dialog.sendAck(undefined, reinvite.cseq);
  await timersPass(T2_MS + 1_000);
  assert.is(dialog.invite200s(reinvite.cseq), okAfterBye, "no retransmission of the re-INVITE's 200 after the BYE");
  assert.equal(complaints(path, dialog.callId, logsBefore), []);
  await nothingLeft(path, callId);
});

test("bye before the ACK of a re-INVITE on a bridged call: the agent gets BYE, the task is the agent's to wrap up", async (context) => {
  const { path } = context;
  const phone = await annaAvailable(context, 'Reception talk');
  const number = patientNumber();
  const { dialog } = await answeredNotAcked(context, number);
  dialog.sendAck();
  const callId = await deskCallId(path, dialog.callId);
  const ring = await phone.nextInvite(10_000);
  await ring.answer();
  await waitFor('the call bridged', async () => (await readCall(path.redis, callId))?.state === 'bridged');

  const reinvite = await dialog.reinviteWithoutAck();
  const bye = await dialog.hangUp();
  assert.is(bye.status, 200, bye.startLine);
  await ring.waitForBye();
  const task = await callTask(context, callId, (t) => t.status === 'wrap-up', "the agent's wrap-up");
  assert.is(task.assigneeUserId, context.anna.info.user.id);
  assert.is(task.attempts, 0);
  assert.equal(await recordedStates(path.redis, callId), ['intro', 'waiting', 'ringing', 'bridged', 'ended']);
  dialog.sendAck(undefined, reinvite.cseq);
  await nothingLeft(path, callId);
});

test("bye with a forged To tag, or in another patient's call, before the ACK: refused (Kamailio's 403 or 404, or 481), and the patient's call goes on", async (context) => {
  const { path } = context;
  const victimNumber = patientNumber();
  const victim = await answeredNotAcked(context, victimNumber);
  const victimCallId = await deskCallId(path, victim.dialog.callId);
  const attacker = await answeredNotAcked(context, patientNumber());
  attacker.dialog.sendAck();

  // Refused by whichever layer knows first that no such dialog exists: Kamailio (404, its dialog
  // module does not know it; 403 for a BYE outside any dialog) or the sip app (481, RFC 3261 §12.2.2).
  const refused = (status: number | undefined): boolean => status === 403 || status === 404 || status === 481;
  // The Call-ID and From tag of the victim's INVITE, a guessed To tag.
  const forgedTag = await victim.dialog.forge('BYE', { toTag: 'a1b2c3d4' });
  assert.ok(refused(forgedTag.status), forgedTag.startLine);
  // From the attacker's own answered dialog (its Route, its tags), with the victim's Call-ID.
  const otherCall = await attacker.dialog.forge('BYE', { callId: victim.dialog.callId });
  assert.ok(refused(otherCall.status), otherCall.startLine);
  // Another spelling: no To tag at all, as a request outside any dialog.
  const noTag = await victim.dialog.forge('BYE', { toTag: undefined });
  assert.ok(refused(noTag.status), noTag.startLine);
  console.log(
    `forged BYEs before the ACK: forged To tag ${forgedTag.startLine}; another call's Call-ID ${otherCall.startLine}; no To tag ${noTag.startLine}`,
  );

  victim.dialog.sendAck();
  await victim.media.waitForTone(HOLD_MUSIC_HZ, 5_000);
  await waitFor(
    "the victim's call waiting in the queue",
    async () => (await readCall(path.redis, victimCallId))?.state === 'waiting',
  );
  const task = await callTask(context, victimCallId, (t) => t.call?.state === 'waiting', "the victim's task");
  assert.is(task.status, 'incoming');
  assert.is(task.attempts, 0);
});

test.run();
