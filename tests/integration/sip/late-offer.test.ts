/**
 * What real PBXs and carriers send, through the real call path (Kamailio, the sip app, rtpengine):
 * - a late offer (INVITE without SDP): the 200 carries our offer (PCMU, PCMA, telephone-event) and
 *   the ACK the patient's answer; the patient hears the hold music, a restarted sip app adopts the
 *   call, and a desk phone agent talks with the patient both ways;
 * - a late offer whose ACK brings no answer, or one with no audio codec we carry: BYE with a Reason,
 *   nothing left in Redis or rtpengine;
 * - an offer with G.722 alone, and its tricks (G.722 beside telephone-event only, the stream
 *   removed): 488, never a call that cannot carry audio.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { QUEUE_CALL_ID_HEADER } from '@deskline/protocol';
import { freePort } from '@deskline/scripts/free-port';
import { RtpCapture, analysePcmu } from '../../helpers/rtp-capture.js';
import { header } from '../../helpers/sip-message.js';
import { waitFor } from '../../helpers/wait.js';
import { AGENT_TONE_HZ, AgentPhone } from '../../helpers/agent-phone.js';
import { CallEvents } from '../../helpers/call-events.js';
import {
  CLINIC_NUMBER,
  HOLD_MUSIC_HZ,
  activeCallIds,
  describeSipp,
  startCallPath,
  type CallPath,
} from '../../helpers/call-path.js';
import { PatientLine, patientSdp, type PatientDialog } from '../../helpers/patient-line.js';
import { listen } from '../../helpers/callers.js';
import { PATIENT_TONE_HZ, PatientPhone, isTone, packetsPerSecond, type Received } from '../../helpers/patient-phone.js';
import { Staff } from '../../helpers/staff.js';
import { writeTone } from '../../helpers/tones.js';

const test = suite<{ path: CallPath; events: CallEvents }>('late offer and offers without a codec we carry');

test.before(async (context) => {
  context.path = await startCallPath({ appEnv: { SKIP_INTRO: 'true', RING_TIMEOUT_SECONDS: '30' } });
  context.events = await CallEvents.open(context.path.redisUrl);
});

test.after(async (context) => {
  await context.events?.close();
  await context.path?.stop();
});

async function nothingLeft(path: CallPath): Promise<void> {
  await waitFor('no active calls', async () => (await activeCallIds(path.redis)).length === 0);
  await waitFor('rtpengine to hold no call', async () => (await path.rtpengine.list()).length === 0);
}

/** About 50 packets/s, nearly all of them the `hz` tone; returns the rate and the tone's share. */
function assertHears(packets: readonly Received[], hz: number, what: string): { pps: number; tone: number } {
  const pps = packetsPerSecond(packets);
  const tone = packets.filter((packet) => isTone(packet, hz)).length / Math.max(packets.length, 1);
  assert.ok(pps > 42 && pps < 58, `${what}: ${pps.toFixed(1)} packets/s`);
  assert.ok(tone > 0.9, `${what}: ${(tone * 100).toFixed(0)}% of the packets are the ${hz} Hz tone`);
  return { pps, tone };
}

test('a late offer: the 200 offers PCMU, PCMA and telephone-event; the ACK answers; hold music, a restart adopts the call, and a desk phone talks both ways', async ({
  path,
  events,
}) => {
  const staff = new Staff(path.redis);
  const line = await PatientLine.open(path.kamailioPort);
  const phone = await PatientPhone.open();
  const open: Array<{ close(): unknown }> = [phone];
  try {
    const from = events.mark();
    const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: phone.port, lateOffer: true });
    open.push(dialog);
    const offer = dialog.ok.body;
    assert.is(header(dialog.ok, 'content-type'), 'application/sdp');
    assert.match(offer, /^m=audio \d+ RTP\/AVP( \d+)+\r?$/m);
    for (const codec of ['PCMU/8000', 'PCMA/8000', 'telephone-event/8000'])
      assert.match(offer, new RegExp(`^a=rtpmap:\\d+ ${codec}\\r?$`, 'm'), codec);
    assert.match(offer, /^c=IN IP4 127\.0\.0\.1\r?$/m, "rtpengine's address, not the placeholder's port 9");
    assert.not.match(offer, /^m=audio 9 /m);
    const waiting = (await events.waitFor({ state: 'waiting', from }, 10_000)).call;
    const music = assertHears(
      await listen(phone, 'the hold music'),
      HOLD_MUSIC_HZ,
      'the hold music after a late offer',
    );

    // The call's SIP and media state is in Redis: a new instance carries on with it.
    await path.crashApp();
    const restartFrom = events.mark();
    const app = await path.startApp();
    await waitFor(
      'the call adopted',
      () => app.logs.some((entry) => entry.msg === 'adopted a call whose sip app instance is gone'),
      10_000,
    );
    const afterRestart = assertHears(
      await listen(phone, 'the music after the restart'),
      HOLD_MUSIC_HZ,
      'after the restart',
    );

    const desk = await staff.workstation('Reception 1');
    const dora = await AgentPhone.register(path.kamailio, desk.id);
    open.push(dora);
    await staff.available('dora', desk.id);
    const ring = await dora.nextInvite();
    assert.is(header(ring.invite, QUEUE_CALL_ID_HEADER), waiting.id);
    const agentMedia = await ring.answer();
    await events.waitFor({ callId: waiting.id, state: 'bridged', from: restartFrom });
    await phone.waitForTone(AGENT_TONE_HZ, 3_000);
    const patientHears = assertHears(await listen(phone, 'the agent'), AGENT_TONE_HZ, 'the patient hears the agent');
    const agentHears = assertHears(
      await listen(agentMedia, 'the patient'),
      PATIENT_TONE_HZ,
      'the agent hears the patient',
    );
    console.log(
      `  late offer: hold music ${music.pps.toFixed(1)} packets/s (${(music.tone * 100).toFixed(0)}% at ${HOLD_MUSIC_HZ} Hz), ${afterRestart.pps.toFixed(1)} after a restart; ` +
        `bridged to a desk phone: the patient hears ${patientHears.pps.toFixed(1)} packets/s, the agent ${agentHears.pps.toFixed(1)}`,
    );

    assert.is((await ring.hangUp()).status, 200);
    await dialog.waitForBye();
    await events.waitFor({ callId: waiting.id, state: 'ended', from: restartFrom });
    await nothingLeft(path);
    await staff.leave('dora');
  } finally {
    for (const item of open) await item.close();
    await line.close();
  }
});

test('sipp sends a late offer: the 200 offers PCMU, PCMA and telephone-event, and sipp, answering in the ACK, gets the hold music (tshark)', async ({
  path,
  events,
}) => {
  const work = mkdtempSync(nodePath.join(os.tmpdir(), 'deskline-late-offer-'));
  const mediaPort = await freePort('127.0.0.1', ['udp']);
  const capture = await RtpCapture.start({ port: mediaPort });
  try {
    await writeTone(nodePath.join(work, 'patient-voice.ul'), { hz: 600, seconds: 5, format: 'ulaw' });
    const from = events.mark();
    const sipp = path.sipp('uac-invite-without-sdp-expect-offer-in-200.xml', {
      mediaPort,
      cwd: work,
      pauseMs: 6_000,
      timeoutMs: 30_000,
    });
    // sipp exits early only when its scenario failed: its report then says why.
    const failed = sipp.then((result): never => assert.unreachable(describeSipp(result)) as never);
    const waiting = await Promise.race([events.waitFor({ state: 'waiting', from }, 10_000), failed]);
    const first = await capture.waitUntil(
      'the hold music at sipp',
      (packets) => packets.find((p) => p.at >= Date.now() - 1_000),
      5_000,
    );
    const music = analysePcmu(await capture.span(first.at, 2_000, 5_000), [HOLD_MUSIC_HZ]);
    assert.ok(music.packetsPerSecond > 45 && music.packetsPerSecond < 55, `${music.packetsPerSecond} packets/s`);
    assert.ok(
      (music.shares[HOLD_MUSIC_HZ] ?? 0) > 0.9 && music.rms > 1000,
      `the hold music, audible: ${JSON.stringify(music)}`,
    );
    console.log(
      `  sipp's late offer: the hold music at ${music.packetsPerSecond.toFixed(1)} packets/s, RMS ${music.rms.toFixed(0)}, ${((music.shares[HOLD_MUSIC_HZ] ?? 0) * 100).toFixed(1)}% at ${HOLD_MUSIC_HZ} Hz`,
    );
    const result = await sipp;
    assert.is(result.code, 0, describeSipp(result));
    await events.waitFor({ callId: waiting.call.id, state: 'abandoned', from }, 5_000);
    await nothingLeft(path);
  } finally {
    await capture.stop();
    rmSync(work, { recursive: true, force: true });
  }
});

test('a late offer whose ACK has no SDP: BYE with Reason cause=488 at once; nothing left (sipp)', async ({ path }) => {
  const result = await path.sipp('uac-invite-without-sdp-ack-without-sdp-expect-bye.xml', { timeoutMs: 10_000 });
  assert.is(result.code, 0, describeSipp(result));
  await nothingLeft(path);
});

test('a late offer answered in the ACK with G.722 alone, or with the stream removed: BYE with Reason cause=488; nothing left', async ({
  path,
}) => {
  const line = await PatientLine.open(path.kamailioPort);
  const g722 = patientSdp(4000)
    .replace('RTP/AVP 0 101', 'RTP/AVP 9 101')
    .replace('a=rtpmap:0 PCMU/8000', 'a=rtpmap:9 G722/8000');
  try {
    for (const answer of [g722, patientSdp(0)]) {
      const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: 4000, lateOffer: true, ackAnswer: answer });
      const bye = await dialog.waitForBye();
      assert.is(
        header(bye, 'reason'),
        'SIP;cause=488;text="unusable SDP answer in the ACK"',
        answer.match(/^m=.*$/m)?.[0],
      );
    }
    await nothingLeft(path);
  } finally {
    await line.close();
  }
});

test('a re-INVITE offering G.722 alone gets 488, and the call goes on with the music', async ({ path, events }) => {
  const line = await PatientLine.open(path.kamailioPort);
  const phone = await PatientPhone.open();
  let dialog: PatientDialog | undefined;
  try {
    const from = events.mark();
    dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: phone.port });
    await events.waitFor({ state: 'waiting', from }, 10_000);
    const g722 = patientSdp(phone.port)
      .replace('RTP/AVP 0 101', 'RTP/AVP 9')
      .replace('a=rtpmap:0 PCMU/8000', 'a=rtpmap:9 G722/8000')
      .replace(/^o=.*$/m, 'o=patient 53655765 2353687638 IN IP4 127.0.0.1');
    const refused = await dialog.request('INVITE', g722);
    // Kamailio's transaction absorbs the missing ACK for the 488; the dialog goes on.
    assert.is(refused.status, 488);
    assertHears(
      await listen(phone, 'the music after the refused re-INVITE'),
      HOLD_MUSIC_HZ,
      'after the refused re-INVITE',
    );
    assert.is((await dialog.hangUp()).status, 200);
    await nothingLeft(path);
  } finally {
    await dialog?.close();
    phone.close();
    await line.close();
  }
});

test('G.722 alone is refused with 488 Not Acceptable Here, never answered without audio (sipp); nothing left', async ({
  path,
}) => {
  const result = await path.sipp('uac-invite-g722-only-expect-488.xml', {
    keys: { rtp_port: 4000 },
    timeoutMs: 10_000,
  });
  assert.is(result.code, 0, describeSipp(result));
  assert.match(result.messages, /^SIP\/2\.0 488 Not Acceptable Here/m);
  assert.not.match(result.messages, /^SIP\/2\.0 200/m);
  await nothingLeft(path);
});

test.run();
