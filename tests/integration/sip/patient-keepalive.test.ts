/**
 * A patient whose line drops without a BYE (phone unplugged, trunk lost) is noticed by the sip app's
 * in-dialog OPTIONS keepalive: Kamailio answers 408 when the phone does not answer within its
 * fr_timer (10 s), and the call ends as if the patient had hung up. A phone that answers anything,
 * even 405, is still there.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisKeys } from '@deskline/store';
import { waitFor } from '../../helpers/wait.js';
import { AgentPhone } from '../../helpers/agent-phone.js';
import { CallEvents } from '../../helpers/call-events.js';
import { RTP_CHECK_MS } from '@deskline/sip/calls/rtp-silence-watch';
import {
  HOLD_MUSIC_HZ,
  activeCallIds,
  describeSipp,
  recordedStates,
  sipCallIdOf,
  startCallPath,
  type CallPath,
  type SippResult,
} from '../../helpers/call-path.js';
import { PatientPhone, isTone } from '../../helpers/patient-phone.js';
import { Staff } from '../../helpers/staff.js';

const KEEPALIVE_SECONDS = 1;
/** Kamailio's tm fr_timer: how long it waits for the phone before it answers our OPTIONS 408 itself. */
const KAMAILIO_FR_TIMER_MS = 10_000;
/** From the cut to the call's end: up to one keepalive interval, then Kamailio's timer, and some slack. */
const NOTICED_WITHIN_MS = KEEPALIVE_SECONDS * 1000 + KAMAILIO_FR_TIMER_MS + 3_000;

const test = suite<{ path: CallPath }>('a patient who vanishes');

test.before(async (context) => {
  context.path = await startCallPath({
    appEnv: { SKIP_INTRO: 'true', RING_TIMEOUT_SECONDS: '60', PATIENT_KEEPALIVE_SECONDS: String(KEEPALIVE_SECONDS) },
  });
});

test.after(async (context) => {
  await context.path?.stop();
});

/** A patient (sipp) who answers every keepalive with 200 until `cut` kills sipp. */
function cuttablePatient(path: CallPath, phone: PatientPhone): { done: Promise<SippResult>; cut(): number } {
  const line = new AbortController();
  const done = path.sipp('uac-answers-keepalives-until-cut.xml', {
    keys: { rtp_port: phone.port },
    timeoutMs: 120_000,
    signal: line.signal,
  });
  return {
    done,
    cut: () => {
      line.abort();
      return Date.now();
    },
  };
}

test('patients whose phones answer the keepalive, with 200 or with 405, stay on the line across three of them', async ({
  path,
}) => {
  const phones = [await PatientPhone.open(), await PatientPhone.open()];
  try {
    const calls = [200, 405].map((status, index) =>
      path.sipp(`uac-answers-keepalives-${status}-then-hangs-up-expect-200.xml`, {
        keys: { rtp_port: phones[index]!.port },
      }),
    );
    const results = await Promise.all(calls);
    for (const result of results) {
      // sipp hangs up only after answering three keepalives, and its BYE must find the call up.
      assert.is(result.code, 0, describeSipp(result));
      assert.is((result.messages.match(/^OPTIONS /gm) ?? []).length, 3, 'three keepalives reached the phone');
      const sipCallId = sipCallIdOf(result);
      const ended = await path.app.waitForLog(
        'the call to end',
        (line) => line.msg === 'call ended' && line['sipCallId'] === sipCallId,
      );
      assert.is(ended['reason'], 'patient-hung-up');
      assert.equal(await recordedStates(path.redis, ended['callId'] as string), ['intro', 'waiting', 'abandoned']);
    }
    for (const phone of phones)
      assert.ok(
        phone.received.some((packet) => isTone(packet, HOLD_MUSIC_HZ)),
        'the music played throughout',
      );
  } finally {
    for (const phone of phones) phone.close();
  }
});

test('a phone that answers the keepalive 481 has forgotten the call: it is dropped at once, without a BYE', async ({
  path,
}) => {
  const phone = await PatientPhone.open();
  try {
    const result = await path.sipp('uac-answers-keepalive-481-expect-call-dropped.xml', {
      keys: { rtp_port: phone.port },
    });
    assert.is(result.code, 0, describeSipp(result));
    const sipCallId = sipCallIdOf(result);
    const ended = await path.app.waitForLog(
      'the call to end',
      (line) => line.msg === 'call ended' && line['sipCallId'] === sipCallId,
    );
    assert.is(ended['reason'], 'patient-vanished');
    assert.is(ended['state'], 'abandoned');
    const warning = path.app.logs.find(
      (line) =>
        line['sipCallId'] === sipCallId && line.msg === 'the patient did not answer the keepalive: their line is gone',
    );
    assert.is(warning?.['statusCode'], 481);
    assert.not.ok(
      path.app.logs.some((line) => line['sipCallId'] === sipCallId && /BYE/.test(line.msg)),
      'no BYE to a phone that forgot the call',
    );
    assert.equal(await activeCallIds(path.redis), []);
    await waitFor('rtpengine to hold no call', async () => (await path.rtpengine.list()).length === 0);
  } finally {
    phone.close();
  }
});

test('a waiting patient whose line is cut is noticed by the keepalive: abandoned, queue and media cleaned up', async ({
  path,
}) => {
  const events = await CallEvents.open(path.redisUrl);
  const phone = await PatientPhone.open();
  try {
    const from = events.mark();
    const patient = cuttablePatient(path, phone);
    const waiting = (await events.waitFor({ state: 'waiting', from })).call;
    await phone.waitForTone(HOLD_MUSIC_HZ, 5_000);
    // Two seconds of music: a keepalive or two go by, answered, before the cut.
    await phone.waitUntil('two seconds of music', (received) => (received.length > 100 ? true : undefined), 5_000);

    const cutAt = patient.cut();
    await patient.done;
    const abandoned = await events.waitFor({ callId: waiting.id, state: 'abandoned', from }, NOTICED_WITHIN_MS);
    const noticedMs = abandoned.at - cutAt;
    console.log(
      `  patient vanished: call ended ${(noticedMs / 1000).toFixed(1)} s after the line was cut (keepalive ${KEEPALIVE_SECONDS} s)`,
    );
    assert.ok(noticedMs >= KAMAILIO_FR_TIMER_MS - 500, `${noticedMs} ms: not before Kamailio gave up on the phone`);

    const ended = await path.app.waitForLog(
      'the end of the call',
      (line) => line.msg === 'call ended' && line['callId'] === waiting.id,
    );
    assert.is(ended['reason'], 'patient-vanished');
    assert.is(ended['state'], 'abandoned');
    const warning = path.app.logs.find(
      (line) =>
        line['callId'] === waiting.id && line.msg === 'the patient did not answer the keepalive: their line is gone',
    );
    assert.is(warning?.['statusCode'], 408, 'Kamailio answered for the phone');
    assert.equal(await activeCallIds(path.redis), []);
    assert.is(await path.redis.zcard(RedisKeys.waitingCalls), 0);
    await waitFor('rtpengine to hold no call', async () => (await path.rtpengine.list()).length === 0);
  } finally {
    phone.close();
    await events.close();
  }
});

test('a patient who vanishes while an agent rings gets the ring CANCELled; one who vanishes mid-call gets the agent a BYE; both agents are free', async ({
  path,
}) => {
  const staff = new Staff(path.redis);
  const events = await CallEvents.open(path.redisUrl);
  const open: Array<{ close(): unknown }> = [];
  try {
    const annaDesk = await staff.workstation('Vanish 1');
    const benDesk = await staff.workstation('Vanish 2');
    const anna = await AgentPhone.register(path.kamailio, annaDesk.id);
    const ben = await AgentPhone.register(path.kamailio, benDesk.id);
    open.push(anna, ben);

    // Anna answers the first patient.
    await staff.available('anna', annaDesk.id);
    const firstPhone = await PatientPhone.open();
    open.push(firstPhone);
    const bridgedFrom = events.mark();
    const first = cuttablePatient(path, firstPhone);
    const annaRing = await anna.nextInvite();
    await annaRing.answer();
    const bridged = (await events.waitFor({ state: 'bridged', from: bridgedFrom })).call;

    // Ben's phone rings with the second and is left ringing.
    await staff.available('ben', benDesk.id);
    const secondPhone = await PatientPhone.open();
    open.push(secondPhone);
    const ringingFrom = events.mark();
    const second = cuttablePatient(path, secondPhone);
    const benRing = await ben.nextInvite();
    const ringing = (await events.waitFor({ state: 'ringing', from: ringingFrom })).call;
    assert.is(ringing.agentUserId, 'ben');

    const cutAt = Math.min(first.cut(), second.cut());
    await Promise.all([first.done, second.done]);
    const [bye, cancel] = await Promise.all([
      annaRing.waitForBye(NOTICED_WITHIN_MS),
      benRing.waitForCancel(NOTICED_WITHIN_MS),
    ]);
    assert.ok(bye && cancel);
    const ended = await events.waitFor({ callId: bridged.id, state: 'ended', from: bridgedFrom }, 5_000);
    const abandoned = await events.waitFor({ callId: ringing.id, state: 'abandoned', from: ringingFrom }, 5_000);
    for (const event of [ended, abandoned]) assert.ok(event.at - cutAt < NOTICED_WITHIN_MS, `${event.at - cutAt} ms`);
    for (const user of ['anna', 'ben']) {
      await waitFor(`${user} available`, async () => (await staff.agent(user)).state === 'available');
      assert.is((await staff.agent(user)).callId, undefined, user);
    }
    assert.equal(await activeCallIds(path.redis), []);
    await waitFor('rtpengine to hold no call', async () => (await path.rtpengine.list()).length === 0);
  } finally {
    for (const item of open) await item.close();
    await events.close();
  }
});

test.run();

const rtpWatch = suite<{ path: CallPath }>('a patient who vanishes, noticed by their RTP');

rtpWatch.before(async (context) => {
  // A keepalive so rare that only the RTP watch can explain a quick end.
  context.path = await startCallPath({ appEnv: { SKIP_INTRO: 'true', PATIENT_KEEPALIVE_SECONDS: '600' } });
});

rtpWatch.after(async (context) => {
  await context.path?.stop();
});

rtpWatch(
  'a patient whose RTP stops is asked at once, long before the next keepalive; a cut line ends the call',
  async ({ path }) => {
    const events = await CallEvents.open(path.redisUrl);
    const phone = await PatientPhone.open();
    try {
      const from = events.mark();
      const patient = cuttablePatient(path, phone);
      const waiting = (await events.waitFor({ state: 'waiting', from })).call;
      // The phone sends its RTP once the music reaches it; let rtpengine count it for two checks.
      await phone.waitUntil(
        'the music for two RTP checks',
        (received) => (received.length > (2 * RTP_CHECK_MS) / 20 ? true : undefined),
        3 * RTP_CHECK_MS,
      );

      phone.stopSending();
      const cutAt = patient.cut();
      await patient.done;
      const within = 2 * RTP_CHECK_MS + KAMAILIO_FR_TIMER_MS + 3_000;
      const abandoned = await events.waitFor({ callId: waiting.id, state: 'abandoned', from }, within);
      const noticedMs = abandoned.at - cutAt;
      console.log(
        `  RTP stopped: call ended ${(noticedMs / 1000).toFixed(1)} s after the line was cut (keepalive 600 s, RTP checked every ${RTP_CHECK_MS / 1000} s)`,
      );
      assert.ok(
        path.app.logs.some(
          (line) =>
            line['callId'] === waiting.id && line.msg === "the patient's RTP stopped; asking their phone at once",
        ),
      );
      const ended = await path.app.waitForLog(
        'the end of the call',
        (line) => line.msg === 'call ended' && line['callId'] === waiting.id,
      );
      assert.is(ended['reason'], 'patient-vanished');
      await waitFor('rtpengine to hold no call', async () => (await path.rtpengine.list()).length === 0);
    } finally {
      phone.close();
      await events.close();
    }
  },
);

rtpWatch.run();
