/**
 * Pausing incoming calls, as the sip app sees it, through the real call path (Redis, rtpengine,
 * Kamailio, the sip app; patients over UDP, agents' browsers over SIP WebSocket). No signaling runs
 * here: pauses are written by signaling's own AgentService (in milliseconds, so tests can be short),
 * and only the sip app's pause timer ends them, which proves it suffices on its own.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisKeys } from '@deskline/store';
import { header } from '../../helpers/sip-message.js';
import { waitFor } from '../../helpers/wait.js';
import { AgentPhone, type IncomingRing } from '../../helpers/agent-phone.js';
import { CallEvents } from '../../helpers/call-events.js';
import { CLINIC_NUMBER, HOLD_MUSIC_HZ, activeCallIds, startCallPath, type CallPath } from '../../helpers/call-path.js';
import { PatientLine, type PatientDialog } from '../../helpers/patient-line.js';
import { PatientPhone, isTone, packetsPerSecond, type Received } from '../../helpers/patient-phone.js';
import { Staff } from '../../helpers/staff.js';

interface Context {
  path: CallPath;
  staff: Staff;
  events: CallEvents;
  line: PatientLine;
  open: Array<{ close(): unknown }>;
  users: string[];
}

const test = suite<Context>('pause: a paused agent is not rung; the pause ends on time and the call rings');

test.before(async (context) => {
  context.path = await startCallPath({ appEnv: { SKIP_INTRO: 'true', RING_TIMEOUT_SECONDS: '10' } });
  context.staff = new Staff(context.path.redis);
  context.events = await CallEvents.open(context.path.redisUrl);
  context.line = await PatientLine.open(context.path.kamailioPort);
  context.open = [];
  context.users = [];
});

test.after.each(async (context) => {
  try {
    for (const item of context.open.splice(0)) await item.close();
    for (const user of context.users.splice(0)) await context.staff.leave(user);
  } catch (err) {
    console.error('cleanup after the test failed:', err);
  }
});

test.after(async (context) => {
  await context.line?.close();
  await context.events?.close();
  await context.path?.stop();
});

async function nothingLeft(context: Context): Promise<void> {
  await waitFor('no active calls', async () => (await activeCallIds(context.path.redis)).length === 0);
  await waitFor('rtpengine to hold no call', async () => (await context.path.rtpengine.list()).length === 0);
}

async function agentAt(context: Context, userId: string, name: string) {
  const workstation = await context.staff.workstation(name);
  const phone = await AgentPhone.register(context.path.kamailio, workstation.id);
  context.open.push(phone);
  context.users.push(userId);
  await context.staff.available(userId, workstation.id);
  return { workstation, phone };
}

async function patientCalls(context: Context): Promise<{ media: PatientPhone; dialog: PatientDialog }> {
  const media = await PatientPhone.open();
  context.open.push(media);
  const dialog = await context.line.call({ line: CLINIC_NUMBER, rtpPort: media.port });
  context.open.push(dialog);
  return { media, dialog };
}

function callIdOf(ring: IncomingRing): string {
  const id = header(ring.invite, 'x-deskline-call-id');
  if (!id) throw new Error(`the INVITE names no call:\n${ring.invite.raw}`);
  return id;
}

/** Waits for `ms` of what the patient hears from `since` on, and says whether it was the hold music. */
async function holdMusicFor(phone: PatientPhone, since: number, ms: number): Promise<{ pps: number; tone: number }> {
  const packets = await phone.waitUntil(
    `${ms} ms of what the patient hears`,
    (received) => {
      const after = received.filter((packet) => packet.at >= since);
      const last = after[after.length - 1];
      return last && last.at - since >= ms ? after : undefined;
    },
    ms + 3000,
  );
  return {
    pps: packetsPerSecond(packets),
    tone: packets.filter((p: Received) => isTone(p, HOLD_MUSIC_HZ)).length / Math.max(packets.length, 1),
  };
}

test('a paused agent is not rung while the patient hears hold music; "I\'m back" rings the waiting call at once', async (context) => {
  const { path, staff, events } = context;
  const { phone } = await agentAt(context, 'anna', 'Reception 1');
  await staff.pause('anna', 60_000);
  const from = events.mark();
  const logs = path.app.logs.length;
  const { media, dialog } = await patientCalls(context);
  const waiting = await events.waitFor({ state: 'waiting', from });

  const music = await holdMusicFor(media, waiting.at, 2000);
  assert.ok(music.pps > 45 && music.tone > 0.9, `hold music while she is paused: ${JSON.stringify(music)}`);
  assert.is(phone.invites, 0, 'the paused workstation did not ring');
  assert.not.ok(path.app.logs.slice(logs).some((line) => line.msg === 'call assigned to an agent'));
  assert.ok((await path.redis.zscore(RedisKeys.waitingCalls, waiting.call.id)) !== null, 'still waiting in the queue');

  const backAt = Date.now();
  await staff.resume('anna');
  const ring = await phone.nextInvite(3000);
  const latency = ring.receivedAt - backAt;
  console.log(`  I'm back -> the waiting call rings in ${latency} ms`);
  assert.ok(latency < 1000, `${latency} ms`);
  assert.is(callIdOf(ring), waiting.call.id);

  await dialog.hangUp();
  await ring.waitForCancel();
  await events.waitFor({ callId: waiting.call.id, state: 'abandoned', from });
  await nothingLeft(context);
});

test('the pause ends by itself at pausedUntil (the sip app alone ends it) and the waiting call rings within a second', async (context) => {
  const { path, staff, events } = context;
  const { phone } = await agentAt(context, 'ben', 'Reception 2');
  const pausedUntil = await staff.pause('ben', 3000);
  const from = events.mark();
  const { dialog } = await patientCalls(context);
  const waiting = await events.waitFor({ state: 'waiting', from });
  assert.ok(waiting.at < pausedUntil, 'the call waits before the pause is over');

  const ring = await phone.nextInvite(6000);
  const agent = await staff.agent('ben');
  const latency = ring.receivedAt - pausedUntil;
  console.log(
    `  pause over ${agent.lastPauseEndedAt! - pausedUntil} ms after pausedUntil; the waiting call rang ${latency} ms after pausedUntil`,
  );
  assert.ok(latency >= 0 && latency < 1000, `${latency} ms`);
  assert.is(callIdOf(ring), waiting.call.id);
  const assigned = await path.app.waitForLog(
    'the assignment',
    (line) => line.msg === 'call assigned to an agent' && line['callId'] === waiting.call.id,
  );
  assert.ok(['pause-over', 'route:wake'].includes(String(assigned['trigger'])), String(assigned['trigger']));
  await path.app.waitForLog("the sip app's pause timer", (line) => line.msg === 'pause over: available again');

  await dialog.hangUp();
  await ring.waitForCancel();
  await nothingLeft(context);
});

test('pausing during a call: the call goes on, the next one waits after it ends, and rings when the pause ends', async (context) => {
  const { staff, events } = context;
  const { phone } = await agentAt(context, 'carla', 'Reception 3');
  const from = events.mark();
  const first = await patientCalls(context);
  const ring = await phone.nextInvite();
  const firstId = callIdOf(ring);
  // She pauses while it rings; answering still connects her, and she stays paused.
  await staff.pause('carla', 60_000);
  await ring.answer();
  await events.waitFor({ callId: firstId, state: 'bridged', from });
  assert.is((await staff.agent('carla')).state, 'paused');
  assert.is((await staff.agent('carla')).callId, firstId);

  const beforeSecond = events.mark();
  const second = await patientCalls(context);
  const waiting = await events.waitFor({ state: 'waiting', from: beforeSecond });
  const secondId = waiting.call.id;
  assert.is.not(secondId, firstId);
  const endedFrom = events.mark();
  await first.dialog.hangUp();
  await ring.waitForBye();
  const ended = await events.waitFor({ callId: firstId, state: 'ended', from: endedFrom });
  await waitFor('the call to be released', async () => (await staff.agent('carla')).callId === undefined);
  assert.is((await staff.agent('carla')).state, 'paused', 'the release left her paused');
  const music = await holdMusicFor(second.media, ended.at, 1500);
  assert.ok(music.pps > 45 && music.tone > 0.9, JSON.stringify(music));
  assert.is(phone.invites, 1, 'no new call rang after the first one');

  await staff.resume('carla');
  const next = await phone.nextInvite(3000);
  assert.is(callIdOf(next), secondId);
  await second.dialog.hangUp();
  await next.waitForCancel();
  await nothingLeft(context);
});

test('a pause survives a restart of the sip app, which ends it on time and rings the waiting call', async (context) => {
  const { path, staff, events } = context;
  const { phone } = await agentAt(context, 'dora', 'Reception 4');
  const pausedUntil = await staff.pause('dora', 6000);
  await path.crashApp();
  await path.startApp();
  assert.ok(Date.now() < pausedUntil, 'restarted before the pause is over');
  assert.is((await staff.agent('dora')).state, 'paused');
  const from = events.mark();
  const { dialog } = await patientCalls(context);
  await events.waitFor({ state: 'waiting', from });
  const ring = await phone.nextInvite(10_000);
  const latency = ring.receivedAt - pausedUntil;
  console.log(`  after a restart of the sip app, the waiting call rang ${latency} ms after pausedUntil`);
  assert.ok(latency >= 0 && latency < 1000, `${latency} ms`);
  await dialog.hangUp();
  await ring.waitForCancel();
  await nothingLeft(context);
});

test.run();
