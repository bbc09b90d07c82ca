/**
 * A sip app that dies (SIGKILL) does not take its patients with it: rtpengine, a process of its own,
 * keeps their media and plays the music on, and the next instance adopts their calls from what the
 * dead one wrote to Redis. Waiting and intro calls go back to the queue with their place, a ring is
 * CANCELled and the call waits again, a bridged call talks on; calls of an instance that is still
 * running are left alone.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WAITING_FOR_RECONNECTS } from '@deskline/sip/calls/orphaned-calls';
import { QUEUE_CALL_ID_HEADER, type CallView } from '@deskline/protocol';
import { RedisKeys, callToHash } from '@deskline/store';
import { header } from '../../helpers/sip-message.js';
import { waitFor } from '../../helpers/wait.js';
import { AGENT_TONE_HZ, AgentPhone } from '../../helpers/agent-phone.js';
import { CallEvents } from '../../helpers/call-events.js';
import {
  CLINIC_NUMBER,
  HOLD_MUSIC_HZ,
  INTRO_HZ,
  INTRO_SECONDS,
  activeCallIds,
  readCall,
  startCallPath,
  type CallPath,
} from '../../helpers/call-path.js';
import { PatientLine, type PatientDialog } from '../../helpers/patient-line.js';
import { assertHears, listen } from '../../helpers/callers.js';
import { PATIENT_TONE_HZ, PatientPhone } from '../../helpers/patient-phone.js';
import { Staff } from '../../helpers/staff.js';

const KEEPALIVE_SECONDS = 2;
const QUEUED_WITHIN_MS = INTRO_SECONDS * 1000 + 5_000;

const test = suite<{ path: CallPath }>('restart: a new instance adopts the calls a dead one left');

test.before(async (context) => {
  // Long rings: the ringing call must still ring when the app dies.
  context.path = await startCallPath({
    appEnv: { RING_TIMEOUT_SECONDS: '60', PATIENT_KEEPALIVE_SECONDS: String(KEEPALIVE_SECONDS) },
  });
});

test.after(async (context) => {
  await context.path?.stop();
});

test('after a crash, a waiting patient and one in the intro stay on the line with music, keep their place, ring the first agent available, and can hang up', async ({
  path,
}) => {
  const { redis } = path;
  const staff = new Staff(redis);
  const events = await CallEvents.open(path.redisUrl);
  const line = await PatientLine.open(path.kamailioPort);
  const open: Array<{ close(): unknown }> = [];
  const call = async (): Promise<{ phone: PatientPhone; dialog: PatientDialog }> => {
    const phone = await PatientPhone.open();
    open.push(phone);
    const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: phone.port });
    open.push(dialog);
    return { phone, dialog };
  };
  try {
    // One patient waits with the music; a second one is in the intro when the app dies.
    const firstFrom = events.mark();
    const first = await call();
    const waiting = (await events.waitFor({ state: 'waiting', from: firstFrom }, QUEUED_WITHIN_MS)).call;
    const secondFrom = events.mark();
    const second = await call();
    const intro = (await events.waitFor({ state: 'intro', from: secondFrom })).call;
    await second.phone.waitForTone(INTRO_HZ, 3_000);
    const beforeCrash = assertHears(
      await listen(first.phone, 'the music before the crash'),
      HOLD_MUSIC_HZ,
      'before the crash',
    );

    const killAt = Date.now();
    await path.crashApp();
    const withoutApp = assertHears(
      await listen(first.phone, 'the music with no sip app'),
      HOLD_MUSIC_HZ,
      'while no sip app runs',
    );
    const restartFrom = events.mark();
    const startAt = Date.now();
    const app = await path.startApp();
    // The new instance's Redis connection is young: it adopts a missing owner's calls only once it is
    // RECONNECT_GRACE_SECONDS old (sip/src/instance.ts), in case that owner is only reconnecting.
    assert.ok(
      app.logs.some((entry) => entry.msg === WAITING_FOR_RECONNECTS),
      'the dead owner was given the reconnect grace',
    );
    const adoptedAt = Number(
      app.logs.find((entry) => entry.msg === 'adopted a call whose sip app instance is gone')?.['time'],
    );
    console.log(
      `  restart after SIGKILL: first call adopted ${adoptedAt - startAt} ms after the new process was started (${adoptedAt - killAt} ms after the kill)`,
    );
    const optionsAtRestart = first.dialog.requestsReceived('OPTIONS').length;

    // The intro caller joins the queue now, behind the one who was waiting, who keeps their place.
    const joined = (await events.waitFor({ callId: intro.id, state: 'waiting', from: restartFrom })).call;
    assert.ok(joined.queuedAt && waiting.queuedAt && joined.queuedAt > waiting.queuedAt, 'queued after the first');
    assert.is((await readCall(redis, waiting.id))?.queuedAt, waiting.queuedAt, 'the waiting call keeps its queuedAt');
    assert.equal(await redis.zrange(RedisKeys.waitingCalls, 0, -1), [waiting.id, intro.id]);
    assert.is(app.logs.filter((entry) => entry.msg === 'adopted a call whose sip app instance is gone').length, 2);
    assert.not.ok(app.logs.some((entry) => entry.msg === 'ended a call whose sip app instance is gone'));

    const afterRestart = assertHears(
      await listen(first.phone, 'the music after the restart'),
      HOLD_MUSIC_HZ,
      'after the restart',
    );
    assertHears(
      await listen(second.phone, 'the music after the intro was cut'),
      HOLD_MUSIC_HZ,
      'the intro caller, after the restart',
    );
    console.log(
      `  hold music: ${beforeCrash.toFixed(1)} packets/s before the crash, ${withoutApp.toFixed(1)} with no sip app, ${afterRestart.toFixed(1)} after the restart`,
    );

    // The keepalive goes on in the adopted dialog, its CSeq counting on from the dead instance's.
    await waitFor(
      'a keepalive after the restart',
      () => first.dialog.requestsReceived('OPTIONS').length > optionsAtRestart,
      KEEPALIVE_SECONDS * 1000 + 3_000,
    );
    const cseqs = first.dialog.requestsReceived('OPTIONS').map((m) => Number(header(m, 'cseq')?.split(' ')[0]));
    assert.ok(optionsAtRestart > 0, 'keepalives before the crash too');
    assert.ok(
      cseqs.every((n, i) => i === 0 || n > (cseqs[i - 1] as number)),
      `CSeq grows: ${cseqs.join(', ')}`,
    );

    // An agent becomes available: the first patient rings there, and they talk.
    const desk = await staff.workstation('Reception 1');
    const dora = await AgentPhone.register(path.kamailio, desk.id);
    open.push(dora);
    const bridgedFrom = events.mark();
    await staff.available('dora', desk.id);
    const ring = await dora.nextInvite();
    assert.is(header(ring.invite, QUEUE_CALL_ID_HEADER), waiting.id, 'the one who waited longest rings first');
    const agentMedia = await ring.answer();
    await events.waitFor({ callId: waiting.id, state: 'bridged', from: bridgedFrom });
    await first.phone.waitForTone(AGENT_TONE_HZ, 3_000);
    const patientHears = assertHears(
      await listen(first.phone, 'the agent'),
      AGENT_TONE_HZ,
      'the patient hears the agent',
    );
    const agentHears = assertHears(
      await listen(agentMedia, 'the patient'),
      PATIENT_TONE_HZ,
      'the agent hears the patient',
    );
    console.log(
      `  bridged after the restart: patient hears ${patientHears.toFixed(1)} packets/s, agent hears ${agentHears.toFixed(1)} packets/s`,
    );

    // The second patient gives up: their BYE is answered and the call recorded abandoned.
    const bye = await second.dialog.hangUp();
    assert.is(bye.status, 200);
    await events.waitFor({ callId: intro.id, state: 'abandoned', from: restartFrom });

    // The agent hangs up the first: the patient gets BYE.
    assert.is((await ring.hangUp()).status, 200);
    await first.dialog.waitForBye();
    await events.waitFor({ callId: waiting.id, state: 'ended', from: bridgedFrom });
    await waitFor('dora available', async () => (await staff.agent('dora')).state === 'available');
    assert.equal(await activeCallIds(redis), []);
    await waitFor('rtpengine to hold no call', async () => (await path.rtpengine.list()).length === 0);
    await staff.leave('dora');
  } finally {
    for (const item of open) await item.close();
    await line.close();
    await events.close();
  }
});

test('after a crash, a ringing workstation gets CANCEL and the call waits again with its place; a bridged call talks on and either side can hang up', async ({
  path,
}) => {
  const { redis } = path;
  const staff = new Staff(redis);
  const events = await CallEvents.open(path.redisUrl);
  const line = await PatientLine.open(path.kamailioPort);
  const open: Array<{ close(): unknown }> = [];
  // Another instance that is running: its connection to Redis carries its name, as the app's does.
  const otherInstance = randomUUID();
  const other = new Redis(path.redisUrl, { connectionName: `sip-app:${otherInstance}` });
  const call = async (): Promise<{ phone: PatientPhone; dialog: PatientDialog }> => {
    const phone = await PatientPhone.open();
    open.push(phone);
    const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: phone.port });
    open.push(dialog);
    return { phone, dialog };
  };
  try {
    const annaDesk = await staff.workstation('Reception 3');
    const benDesk = await staff.workstation('Reception 4');
    const anna = await AgentPhone.register(path.kamailio, annaDesk.id);
    const ben = await AgentPhone.register(path.kamailio, benDesk.id);
    open.push(anna, ben);

    // Anna answers the first call; Ben's phone rings with the second.
    await staff.available('anna', annaDesk.id);
    const bridgedFrom = events.mark();
    const talking = await call();
    const annaRing = await anna.nextInvite(QUEUED_WITHIN_MS);
    const annaMedia = await annaRing.answer();
    const bridged = (await events.waitFor({ state: 'bridged', from: bridgedFrom })).call;
    await staff.available('ben', benDesk.id);
    const ringingFrom = events.mark();
    const ringingPatient = await call();
    const staleRing = await ben.nextInvite(QUEUED_WITHIN_MS);
    const ringing = (await events.waitFor({ state: 'ringing', from: ringingFrom })).call;
    assert.is(ringing.agentUserId, 'ben');

    // A claim whose ring never reached Redis: Carla is ringing for a call that is not active.
    await redis.hset(RedisKeys.agent('carla'), {
      userId: 'carla',
      workstationId: 'ws-gone',
      state: 'ringing',
      callId: randomUUID(),
      idleSince: '1',
    });
    // The live instance's call.
    const theirs: CallView = {
      id: randomUUID(),
      from: '+4930111',
      line: CLINIC_NUMBER,
      state: 'waiting',
      startedAt: Date.now(),
      queuedAt: Date.now(),
    };
    await redis
      .multi()
      .hset(RedisKeys.call(theirs.id), { ...callToHash(theirs), owner: otherInstance })
      .sadd(RedisKeys.activeCalls, theirs.id)
      .exec();

    await path.crashApp();
    const restartFrom = events.mark();
    await path.startApp();

    // The stale ring is CANCELled, the call waits again with its queuedAt, and rings Ben anew.
    const cancel = await staleRing.waitForCancel(5_000);
    assert.ok(cancel);
    const again = (await events.waitFor({ callId: ringing.id, state: 'waiting', from: restartFrom })).call;
    assert.is(again.queuedAt, ringing.queuedAt, 'its place in the queue');
    assert.is(again.agentUserId, undefined);
    const rering = await ben.nextInvite(5_000);
    assert.is(header(rering.invite, QUEUE_CALL_ID_HEADER), ringing.id);
    assert.is.not(rering.callId, staleRing.callId, 'a new INVITE');
    await events.waitFor({ callId: ringing.id, state: 'ringing', from: restartFrom });
    assertHears(
      await listen(ringingPatient.phone, 'the music while Ben rings again'),
      HOLD_MUSIC_HZ,
      'the ringing caller',
    );

    // The bridged call never noticed.
    const patientHears = assertHears(
      await listen(talking.phone, 'Anna after the restart'),
      AGENT_TONE_HZ,
      'the patient hears the agent',
    );
    const agentHears = assertHears(
      await listen(annaMedia, 'the patient after the restart'),
      PATIENT_TONE_HZ,
      'the agent hears the patient',
    );
    console.log(
      `  bridged through the restart: patient hears ${patientHears.toFixed(1)} packets/s, agent hears ${agentHears.toFixed(1)} packets/s`,
    );
    assert.is((await readCall(redis, bridged.id))?.state, 'bridged');
    assert.is((await staff.agent('anna')).state, 'on-call');

    // Carla is freed, the live instance's call is left alone.
    await waitFor('carla available', async () => (await staff.agent('carla')).state === 'available');
    assert.is((await readCall(redis, theirs.id))?.state, 'waiting');
    assert.is(await redis.hget(RedisKeys.call(theirs.id), 'owner'), otherInstance);

    // Anna hangs up: her BYE reaches the adopted call, which hangs up the patient.
    assert.is((await annaRing.hangUp()).status, 200);
    await talking.dialog.waitForBye();
    const ended = await events.waitFor({ callId: bridged.id, state: 'ended', from: restartFrom });
    assert.is(ended.call.answeredAt, bridged.answeredAt);
    await waitFor('anna available', async () => (await staff.agent('anna')).state === 'available');

    // The ringing caller hangs up: 200, abandoned, and Ben's new ring is CANCELled.
    assert.is((await ringingPatient.dialog.hangUp()).status, 200);
    await rering.waitForCancel();
    await events.waitFor({ callId: ringing.id, state: 'abandoned', from: restartFrom });
    await waitFor('ben available', async () => (await staff.agent('ben')).state === 'available');
    assert.equal(await activeCallIds(redis), [theirs.id], "only the live instance's call is left");
    await waitFor('rtpengine to hold no call', async () => (await path.rtpengine.list()).length === 0);
  } finally {
    other.disconnect();
    for (const item of open) await item.close();
    await line.close();
    await events.close();
  }
});

test('a call whose SIP state was never written down (or is damaged) is ended as before: abandoned, media deleted', async ({
  path,
}) => {
  const { redis } = path;
  const events = await CallEvents.open(path.redisUrl);
  try {
    // A dead instance's call with no call-sip:<id>: its media is unknown to rtpengine too.
    const orphan: CallView = {
      id: randomUUID(),
      from: '+4930222',
      line: CLINIC_NUMBER,
      state: 'waiting',
      startedAt: Date.now(),
      queuedAt: Date.now(),
    };
    await redis
      .multi()
      .hset(RedisKeys.call(orphan.id), { ...callToHash(orphan), owner: randomUUID() })
      .sadd(RedisKeys.activeCalls, orphan.id)
      .zadd(RedisKeys.waitingCalls, orphan.queuedAt ?? 0, orphan.id)
      .hset(`call-sip:${orphan.id}`, { patient: '{"not":"a dialog"}' })
      .exec();
    await path.crashApp();
    const from = events.mark();
    const app = await path.startApp();
    await events.waitFor({ callId: orphan.id, state: 'abandoned', from });
    assert.ok(
      app.logs.some(
        (entry) => entry.msg === 'ended a call whose sip app instance is gone' && entry['callId'] === orphan.id,
      ),
    );
    assert.equal(await activeCallIds(redis), []);
    assert.is(await redis.exists(`call-sip:${orphan.id}`), 0, 'its SIP state is gone with it');
  } finally {
    await events.close();
  }
});

test.run();
