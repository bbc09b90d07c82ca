/**
 * Routing, ringing and bridging through the real call path: Redis, rtpengine, Kamailio and the sip
 * app as processes; the patient's phone over UDP through Kamailio; agents' workstations over SIP
 * WebSocket, registered with Kamailio as browsers are; agents made available by signaling's own code.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Workstation } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { header } from '../../helpers/sip-message.js';
import { waitFor } from '../../helpers/wait.js';
import { AGENT_TONE_HZ, AgentPhone, type IncomingRing } from '../../helpers/agent-phone.js';
import { CallEvents } from '../../helpers/call-events.js';
import { CLINIC_NUMBER, HOLD_MUSIC_HZ, activeCallIds, startCallPath, type CallPath } from '../../helpers/call-path.js';
import { PATIENT_NUMBER, PatientLine, type PatientDialog } from '../../helpers/patient-line.js';
import { PATIENT_TONE_HZ, PatientPhone, isTone, packetsPerSecond, type Received } from '../../helpers/patient-phone.js';
import { Staff } from '../../helpers/staff.js';

const RING_TIMEOUT_SECONDS = 2;

interface Context {
  path: CallPath;
  staff: Staff;
  events: CallEvents;
  line: PatientLine;
  /** Closed after each test. */
  open: Array<{ close(): unknown }>;
  /** Users logged out after each test. */
  users: string[];
}

const test = suite<Context>('routing: ringing the longest-idle agent, answering, hanging up');

test.before(async (context) => {
  context.path = await startCallPath({
    appEnv: { SKIP_INTRO: 'true', RING_TIMEOUT_SECONDS: String(RING_TIMEOUT_SECONDS) },
  });
  context.staff = new Staff(context.path.redis);
  context.events = await CallEvents.open(context.path.redisUrl);
  context.line = await PatientLine.open(context.path.kamailioPort);
  context.open = [];
  context.users = [];
});

// uvu loses a test's error when an after.each hook throws too: this one reports its own problems.
test.after.each(async (context) => {
  try {
    for (const item of context.open.splice(0)) await item.close();
    for (const user of context.users.splice(0)) await context.staff.leave(user);
  } catch (err) {
    console.error('cleanup after the test failed:', err);
  }
});

/** Every test ends with the queue and rtpengine empty. */
async function nothingLeft(context: Context): Promise<void> {
  await waitFor('no active calls', async () => (await activeCallIds(context.path.redis)).length === 0);
  await waitFor('rtpengine to hold no call', async () => (await context.path.rtpengine.list()).length === 0);
}

test.after(async (context) => {
  await context.line?.close();
  await context.events?.close();
  await context.path?.stop();
});

/** A workstation with its browser registered, and its user ready for calls. */
async function agentAt(context: Context, userId: string, name: string, options: { available?: boolean } = {}) {
  const workstation = await context.staff.workstation(name);
  const phone = await AgentPhone.register(context.path.kamailio, workstation.id);
  context.open.push(phone);
  context.users.push(userId);
  if (options.available ?? true) await context.staff.available(userId, workstation.id);
  return { workstation, phone };
}

/** The patient calls the clinic line; resolves once the call is answered, with its media side. */
async function patientCalls(context: Context): Promise<{ media: PatientPhone; dialog: PatientDialog }> {
  const media = await PatientPhone.open();
  context.open.push(media);
  const dialog = await context.line.call({ line: CLINIC_NUMBER, rtpPort: media.port });
  return { media, dialog };
}

function callIdOf(ring: IncomingRing): string {
  const id = header(ring.invite, 'x-deskline-call-id');
  if (!id) throw new Error(`the INVITE names no call:\n${ring.invite.raw}`);
  return id;
}

/** Resolves with what arrived from `since` on, once it spans at least `ms`. */
function receivedFor(phone: PatientPhone, what: string, since: number, ms: number): Promise<Received[]> {
  return phone.waitUntil(
    what,
    (received) => {
      const packets = received.filter((packet) => packet.at >= since);
      const last = packets[packets.length - 1];
      return last && last.at - since >= ms ? packets : undefined;
    },
    ms + 3000,
  );
}

function describe(packets: readonly Received[], hz: number): { pps: number; tone: number } {
  return {
    pps: packetsPerSecond(packets),
    tone: packets.filter((packet) => isTone(packet, hz)).length / Math.max(packets.length, 1),
  };
}

test("an available agent is rung with the caller's number at once; answering bridges the call with audio both ways; the patient's BYE ends the agent's leg", async (context) => {
  const { path, staff, events } = context;
  const { workstation, phone } = await agentAt(context, 'anna', 'Reception 1');
  const from = events.mark();
  const { media, dialog } = await patientCalls(context);

  const ring = await phone.nextInvite();
  const id = callIdOf(ring);
  const waiting = await events.waitFor({ callId: id, state: 'waiting', from });
  const latency = ring.receivedAt - (waiting.call.queuedAt ?? 0);
  assert.ok(latency >= 0 && latency < 1000, `rung ${latency} ms after the call became waiting`);
  assert.match(ring.from, new RegExp(`^"\\${PATIENT_NUMBER}" <sip:\\${PATIENT_NUMBER}@`), ring.from);
  assert.match(header(ring.invite, 'to') ?? '', new RegExp(`^<sip:${phone.sipUser}@${path.kamailio.domain}>`));
  assert.match(ring.invite.body, /UDP\/TLS\/RTP\/SAVPF/, 'a WebRTC offer towards the browser');
  assert.match(ring.invite.body, /a=fingerprint:/);

  const ringing = await events.waitFor({ callId: id, state: 'ringing', from });
  assert.is(ringing.call.agentUserId, 'anna');
  assert.is(ringing.call.workstationId, workstation.id);
  const agent = await staff.agent('anna');
  assert.is(agent.state, 'ringing');
  assert.is(agent.callId, id);
  assert.is(agent.idleScore, undefined, 'out of agents:idle while ringing');

  // The hold music goes on while the workstation rings.
  const ringingMusic = describe(
    await receivedFor(media, 'hold music while ringing', ring.receivedAt, 1000),
    HOLD_MUSIC_HZ,
  );
  assert.ok(ringingMusic.pps > 45 && ringingMusic.tone > 0.9, JSON.stringify(ringingMusic));

  const agentMedia = await ring.answer();
  const answeredAt = Date.now();
  const bridged = await events.waitFor({ callId: id, state: 'bridged', from });
  assert.ok(bridged.call.answeredAt && bridged.call.answeredAt >= ringing.call.queuedAt!);
  assert.is((await staff.agent('anna')).state, 'on-call');

  // The music stops; the patient hears the agent, the agent hears the patient.
  const firstAgentTone = await media.waitUntil(
    "the agent's voice",
    (r) => r.find((p) => p.at >= answeredAt && isTone(p, AGENT_TONE_HZ)),
    3000,
  );
  const toPatient = await receivedFor(media, 'a second of the agent', firstAgentTone.at, 1000);
  const toAgent = await receivedFor(agentMedia, 'a second of the patient', firstAgentTone.at, 1000);
  const heard = describe(toPatient, AGENT_TONE_HZ);
  const agentHeard = describe(toAgent, PATIENT_TONE_HZ);
  console.log(
    `  ring latency ${latency} ms; hold music while ringing ${ringingMusic.pps.toFixed(1)} pps; ` +
      `bridged: patient gets ${heard.pps.toFixed(1)} pps (${(heard.tone * 100).toFixed(0)}% agent tone), ` +
      `agent gets ${agentHeard.pps.toFixed(1)} pps (${(agentHeard.tone * 100).toFixed(0)}% patient tone)`,
  );
  assert.ok(heard.pps > 45 && heard.pps < 55 && heard.tone > 0.9, JSON.stringify(heard));
  assert.ok(agentHeard.pps > 45 && agentHeard.pps < 55 && agentHeard.tone > 0.9, JSON.stringify(agentHeard));
  assert.not.ok(
    toPatient.some((p) => isTone(p, HOLD_MUSIC_HZ)),
    'no hold music once bridged',
  );

  const byeAnswer = await dialog.hangUp();
  assert.is(byeAnswer.status, 200);
  await ring.waitForBye();
  const ended = await events.waitFor({ callId: id, state: 'ended', from });
  assert.ok(ended.call.endedAt && ended.call.endedAt >= bridged.call.answeredAt);
  assert.equal(events.states(id), ['intro', 'waiting', 'ringing', 'bridged', 'ended']);
  await waitFor('anna to be idle again', async () => (await staff.agent('anna')).state === 'available');
  const after = await staff.agent('anna');
  assert.ok(after.idleSince && after.idleSince >= ended.call.endedAt - 50, 'idle since the call ended');
  assert.is(after.idleScore, after.idleSince, 'back in agents:idle, scored by idleSince');
  assert.is(after.callId, undefined);
  await nothingLeft(context);
});

test('the agent hangs up: the patient gets BYE, the call ends, the agent is available again', async (context) => {
  const { staff, events } = context;
  const { phone } = await agentAt(context, 'ben', 'Reception 2');
  const from = events.mark();
  const { dialog } = await patientCalls(context);
  const ring = await phone.nextInvite();
  const id = callIdOf(ring);
  await ring.answer();
  await events.waitFor({ callId: id, state: 'bridged', from });

  const byeAnswer = await ring.hangUp();
  assert.is(byeAnswer.status, 200);
  await dialog.waitForBye();
  await events.waitFor({ callId: id, state: 'ended', from });
  await waitFor('ben to be idle again', async () => (await staff.agent('ben')).idleScore !== undefined);
  assert.is((await staff.agent('ben')).state, 'available');
  await nothingLeft(context);
});

test('with nobody available the patient hears hold music; an agent becoming available is rung within a second', async (context) => {
  const { path, staff, events } = context;
  const { workstation, phone } = await agentAt(context, 'carla', 'Reception 3', { available: false });
  const from = events.mark();
  const { media, dialog } = await patientCalls(context);
  const waiting = await events.waitFor({ state: 'waiting', from });
  const id = waiting.call.id;

  const music = describe(await receivedFor(media, 'two seconds of hold music', waiting.at, 2000), HOLD_MUSIC_HZ);
  assert.ok(music.pps > 45 && music.pps < 55 && music.tone > 0.9, JSON.stringify(music));
  assert.is(phone.invites, 0, 'nobody rung');
  assert.is(Number(await path.redis.zscore(RedisKeys.waitingCalls, id)), waiting.call.queuedAt);

  const availableAt = Date.now();
  await staff.available('carla', workstation.id);
  const ring = await phone.nextInvite(3000);
  const latency = ring.receivedAt - availableAt;
  console.log(`  hold music ${music.pps.toFixed(1)} pps; rung ${latency} ms after the agent became available`);
  assert.ok(latency < 1000, `${latency} ms`);
  assert.is(callIdOf(ring), id);
  const assigned = await path.app.waitForLog(
    'the assignment',
    (line) => line.msg === 'call assigned to an agent' && line['callId'] === id,
  );
  assert.is(assigned['trigger'], 'route:wake', "woken by signaling's PUBLISH");

  await ring.answer();
  await events.waitFor({ callId: id, state: 'bridged', from });
  await dialog.hangUp();
  await ring.waitForBye();
  await nothingLeft(context);
});

test('two agents: the first does not answer, is CANCELled after RING_TIMEOUT_SECONDS and the second is rung; the music goes on', async (context) => {
  const { staff, events } = context;
  const first = await agentAt(context, 'dora', 'Reception 4');
  const second = await agentAt(context, 'emil', 'Reception 5');
  const from = events.mark();
  const { media, dialog } = await patientCalls(context);

  const ringFirst = await first.phone.nextInvite();
  const id = callIdOf(ringFirst);
  await ringFirst.waitForCancel(RING_TIMEOUT_SECONDS * 1000 + 2000);
  const cancelledAfter = Date.now() - ringFirst.receivedAt;
  const ringSecond = await second.phone.nextInvite(2000);
  assert.is(callIdOf(ringSecond), id);
  const handOver = ringSecond.receivedAt - ringFirst.receivedAt - cancelledAfter;
  console.log(`  first agent CANCELled after ${cancelledAfter} ms; second rung ${handOver} ms later`);
  assert.ok(
    cancelledAfter >= RING_TIMEOUT_SECONDS * 1000 - 50 && cancelledAfter < RING_TIMEOUT_SECONDS * 1000 + 500,
    `${cancelledAfter} ms`,
  );

  // Back in the queue with its place kept, then ringing the second agent.
  await waitFor('the call to ring again', () => events.states(id).filter((state) => state === 'ringing').length === 2);
  const [queued, requeued] = events.events.filter((e) => e.call.id === id && e.call.state === 'waiting');
  assert.is(requeued?.call.queuedAt, queued?.call.queuedAt, 'the original queuedAt');
  assert.is(requeued?.call.agentUserId, undefined);
  const dora = await staff.agent('dora');
  assert.is(dora.state, 'available');
  assert.ok(dora.idleSince && dora.idleSince >= ringFirst.receivedAt, 'idle since the ring ended: behind emil now');

  // The hold music plays on after the failed ring (rtpengine's branch delete stops it; the app restarts it).
  const afterCancel = Date.now();
  const music = describe(
    await receivedFor(media, 'hold music after the failed ring', afterCancel, 1000),
    HOLD_MUSIC_HZ,
  );
  assert.ok(music.pps > 45 && music.tone > 0.9, JSON.stringify(music));

  // A new branch after the deleted one carries the audio.
  await ringSecond.answer();
  const answeredAt = Date.now();
  await events.waitFor({ callId: id, state: 'bridged', from });
  assert.equal(events.states(id), ['intro', 'waiting', 'ringing', 'waiting', 'ringing', 'bridged']);
  assert.is((await staff.agent('emil')).state, 'on-call');
  const firstTone = await media.waitUntil(
    "the second agent's voice",
    (r) => r.find((p) => p.at >= answeredAt && isTone(p, AGENT_TONE_HZ)),
    3000,
  );
  const heard = describe(await receivedFor(media, 'a second of the second agent', firstTone.at, 1000), AGENT_TONE_HZ);
  assert.ok(heard.pps > 45 && heard.tone > 0.9, JSON.stringify(heard));
  await dialog.hangUp();
  await ringSecond.waitForBye();
  await nothingLeft(context);
});

test('an answer that crosses the CANCEL of a ring that timed out is ACKed and hung up; the call stays in the queue', async (context) => {
  const { staff, events } = context;
  const late = await agentAt(context, 'lena', 'Reception 11');
  const from = events.mark();
  const { media, dialog } = await patientCalls(context);
  const ring = await late.phone.nextInvite();
  const id = callIdOf(ring);

  const { ack, bye } = await ring.answerAcrossCancel(RING_TIMEOUT_SECONDS * 1000 + 2000);
  assert.is(header(ack, 'call-id'), ring.callId);
  assert.is(header(bye, 'call-id'), ring.callId);
  assert.not.ok(events.states(id).includes('bridged'), 'never bridged');
  // The same agent (the only one) is rung again, and the patient still hears the music.
  const again = await late.phone.nextInvite(2000);
  assert.is(callIdOf(again), id);
  const music = describe(await receivedFor(media, 'hold music', Date.now(), 1000), HOLD_MUSIC_HZ);
  assert.ok(music.pps > 45 && music.tone > 0.9, JSON.stringify(music));
  assert.is((await staff.agent('lena')).state, 'ringing');

  await dialog.hangUp();
  await again.waitForCancel();
  await events.waitFor({ callId: id, state: 'abandoned', from });
  await nothingLeft(context);
});

test('a workstation that refuses the call (486) is left at once and the next agent is rung', async (context) => {
  const { staff, events } = context;
  const busy = await agentAt(context, 'fritz', 'Reception 6');
  const next = await agentAt(context, 'greta', 'Reception 7');
  const from = events.mark();
  const { dialog } = await patientCalls(context);

  const refused = await busy.phone.nextInvite();
  const id = callIdOf(refused);
  refused.decline(486, 'Busy Here');
  const ring = await next.phone.nextInvite(1000);
  assert.is(callIdOf(ring), id);
  assert.ok(ring.receivedAt - refused.receivedAt < 1000, 'no ring timeout to wait for');
  assert.is((await staff.agent('fritz')).state, 'available');

  await dialog.hangUp();
  await ring.waitForCancel();
  await events.waitFor({ callId: id, state: 'abandoned', from });
  await nothingLeft(context);
});

test("the patient hangs up while the agent's phone rings: CANCEL to the agent, the call abandoned, the agent available", async (context) => {
  const { path, staff, events } = context;
  const { phone } = await agentAt(context, 'hanna', 'Reception 8');
  const from = events.mark();
  const { dialog } = await patientCalls(context);
  const ring = await phone.nextInvite();
  const id = callIdOf(ring);
  await events.waitFor({ callId: id, state: 'ringing', from });

  const byeAnswer = await dialog.hangUp();
  assert.is(byeAnswer.status, 200);
  const cancel = await ring.waitForCancel();
  assert.is(header(cancel, 'call-id'), ring.callId);
  const abandoned = await events.waitFor({ callId: id, state: 'abandoned', from });
  assert.ok(abandoned.call.endedAt);
  assert.equal(events.states(id), ['intro', 'waiting', 'ringing', 'abandoned']);
  await waitFor('hanna to be idle again', async () => (await staff.agent('hanna')).idleScore !== undefined);
  assert.is((await staff.agent('hanna')).state, 'available');
  assert.equal(await path.redis.zrange(RedisKeys.waitingCalls, 0, -1), []);
  await nothingLeft(context);
});

test('an agent whose workstation is not registered is not rung, nor one at a desk phone that is not registered: the next available browser is', async (context) => {
  const { staff, events } = context;
  const unregistered: Workstation = await staff.workstation('Reception 9');
  const deskPhone: Workstation = await staff.workstation('Back office phone', 'sip-phone');
  context.users.push('ida', 'jan');
  await staff.available('ida', unregistered.id);
  await staff.available('jan', deskPhone.id);
  const { phone } = await agentAt(context, 'kai', 'Reception 10');
  const from = events.mark();
  const { dialog } = await patientCalls(context);

  const ring = await phone.nextInvite();
  const id = callIdOf(ring);
  const ringing = await events.waitFor({ callId: id, state: 'ringing', from });
  assert.is(ringing.call.agentUserId, 'kai', 'ida and jan were idle longer, but cannot be rung');
  for (const user of ['ida', 'jan']) {
    const agent = await staff.agent(user);
    assert.is(agent.state, 'available', user);
    assert.ok(agent.idleScore !== undefined, `${user} still in agents:idle`);
  }

  await dialog.hangUp();
  await ring.waitForCancel();
  await events.waitFor({ callId: id, state: 'abandoned', from });
  await nothingLeft(context);
});

test.run();
