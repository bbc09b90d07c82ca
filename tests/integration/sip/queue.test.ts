import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisKeys } from '@deskline/store';
import { waitFor } from '../../helpers/wait.js';
import {
  HOLD_MUSIC_HZ,
  INTRO_HZ,
  INTRO_SECONDS,
  activeCallIds,
  readCall,
  recordedStates,
  describeSipp,
  sipCallIdOf,
  startCallPath,
  type CallPath,
} from '../../helpers/call-path.js';
import { PatientPhone, isTone, packetsPerSecond } from '../../helpers/patient-phone.js';

const test = suite<{ path: CallPath }>('patient calls to the queue');

test.before(async (context) => {
  context.path = await startCallPath();
});

test.after(async (context) => {
  await context.path?.stop();
});

test('a call to the clinic line is answered: intro, then hold music at 50 packets/s, queued in Redis', async ({
  path,
}) => {
  const phone = await PatientPhone.open();
  try {
    // The patient stays on the line for the intro plus a few seconds of hold music, then hangs up.
    const call = path.sipp('uac-invite-expect-hold-music.xml', {
      keys: { rtp_port: phone.port },
      pauseMs: INTRO_SECONDS * 1000 + 3500,
    });

    const firstIntro = await phone.waitForTone(INTRO_HZ, 5_000);
    const [id] = await waitFor('the call in calls:active', async () => {
      const ids = await activeCallIds(path.redis);
      return ids.length === 1 ? ids : undefined;
    });
    assert.ok(id);
    const intro = await readCall(path.redis, id);
    assert.is(intro?.state, 'intro');
    assert.is(intro?.line, '100');
    assert.is(intro?.from, '+4915112345678');
    assert.is(await path.redis.zscore(RedisKeys.waitingCalls, id), null, 'not waiting during the intro');

    const firstMusic = await phone.waitForTone(HOLD_MUSIC_HZ, INTRO_SECONDS * 1000 + 3_000);
    const introMs = firstMusic.at - firstIntro.at;
    assert.ok(
      introMs > INTRO_SECONDS * 1000 - 300 && introMs < INTRO_SECONDS * 1000 + 700,
      `intro lasted ${introMs} ms`,
    );

    const waiting = await waitFor('the call to be waiting', async () => {
      const view = await readCall(path.redis, id);
      return view?.state === 'waiting' ? view : undefined;
    });
    assert.ok(waiting.queuedAt && waiting.queuedAt >= waiting.startedAt);
    assert.is(Number(await path.redis.zscore(RedisKeys.waitingCalls, id)), waiting.queuedAt);

    // Two seconds of hold music, measured as the patient receives it.
    const music = await phone.waitUntil(
      'two seconds of hold music',
      (received) => {
        const packets = received.filter((packet) => packet.at >= firstMusic.at);
        const last = packets[packets.length - 1];
        return last && last.at - firstMusic.at >= 2_000 ? packets : undefined;
      },
      5_000,
    );
    const pps = packetsPerSecond(music);
    const audible = music.filter((packet) => isTone(packet, HOLD_MUSIC_HZ)).length / music.length;
    console.log(
      `  hold music: ${pps.toFixed(1)} packets/s, ${(audible * 100).toFixed(0)}% of them the 1 kHz tone; intro ${introMs} ms`,
    );
    assert.ok(pps > 45 && pps < 55, `${pps} packets/s`);
    assert.ok(audible > 0.9, 'the packets carry the music, not silence');
    assert.ok(
      music.every((packet) => packet.payloadType === 0),
      'PCMU, as the patient offered',
    );

    const result = await call;
    assert.is(result.code, 0, describeSipp(result));
    await waitFor('the call to be abandoned', async () => (await readCall(path.redis, id))?.state === 'abandoned');
    assert.equal(await recordedStates(path.redis, id), ['intro', 'waiting', 'abandoned']);
    assert.equal(await activeCallIds(path.redis), []);
    assert.is(await path.redis.zcard(RedisKeys.waitingCalls), 0);
    await waitFor('rtpengine to hold no call', async () => (await path.rtpengine.list()).length === 0);
  } finally {
    phone.close();
  }
});

test('a patient who hangs up during the intro is abandoned; Redis sets and rtpengine are cleaned up', async ({
  path,
}) => {
  const phone = await PatientPhone.open();
  try {
    const result = await path.sipp('uac-hangup-during-intro-expect-abandoned.xml', { keys: { rtp_port: phone.port } });
    assert.is(result.code, 0, describeSipp(result));
    const sipCallId = sipCallIdOf(result);
    const ended = await path.app.waitForLog(
      'the call to end',
      (line) => line.msg === 'call ended' && line['sipCallId'] === sipCallId,
    );
    assert.is(ended['reason'], 'patient-hung-up');
    assert.is(ended['state'], 'abandoned');
    const id = ended['callId'];
    assert.type(id, 'string');
    const view = await readCall(path.redis, id as string);
    assert.is(view?.state, 'abandoned');
    assert.ok(view?.endedAt && view.endedAt >= view.startedAt);
    assert.is(view?.queuedAt, undefined, 'never reached the queue');
    assert.equal(await recordedStates(path.redis, id as string), ['intro', 'abandoned']);
    assert.ok((await path.redis.ttl(RedisKeys.call(id as string))) > 0, 'the ended call expires');
    assert.equal(await activeCallIds(path.redis), []);
    assert.is(await path.redis.zcard(RedisKeys.waitingCalls), 0);
    assert.equal(await path.rtpengine.list(), []);
    assert.ok(
      phone.received.some((packet) => isTone(packet, INTRO_HZ)),
      'the patient heard the intro',
    );
    assert.not.ok(
      phone.received.some((packet) => isTone(packet, HOLD_MUSIC_HZ)),
      'and no hold music',
    );
  } finally {
    phone.close();
  }
});

test('a phone that ignores Record-Route (like sipp -sn uac) still hangs up: its ACK and BYE reach the sip app', async ({
  path,
}) => {
  const phone = await PatientPhone.open();
  try {
    const call = path.sipp('uac-ignores-record-route-expect-bye-200.xml', {
      keys: { rtp_port: phone.port },
      pauseMs: 1500,
    });
    const [id] = await waitFor('the call in calls:active', async () => {
      const ids = await activeCallIds(path.redis);
      return ids.length === 1 ? ids : undefined;
    });
    assert.ok(id);
    const result = await call;
    assert.is(result.code, 0, describeSipp(result));
    await waitFor('the call to be abandoned', async () => (await readCall(path.redis, id))?.state === 'abandoned');
    assert.equal(await activeCallIds(path.redis), []);
  } finally {
    phone.close();
  }
});

test('a number that is not a clinic line gets 404, and the app says why', async ({ path }) => {
  const result = await path.sipp('uac-invite-not-a-clinic-line-expect-404.xml', {
    service: '999',
    keys: { rtp_port: 9 },
  });
  assert.is(result.code, 0, describeSipp(result));
  const sipCallId = sipCallIdOf(result);
  const line = await path.app.waitForLog(
    'the 404 log line',
    (entry) => entry['sipCallId'] === sipCallId && entry['statusCode'] === 404,
  );
  assert.match(line.msg, /dialled number "999" is not a clinic line/);
  assert.equal(await path.rtpengine.list(), []);
  assert.equal(await activeCallIds(path.redis), []);
});

test.run();
