/**
 * re-INVITE and UPDATE from the patient: a trunk's session refresh (RFC 4028) with the same SDP is
 * answered with the SDP we sent before; a new address or port goes to rtpengine under the same tags
 * and the media follows it, without a gap in the hold music or in a bridged conversation.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { header, parseSipMessage, type SipMessage } from '../../helpers/sip-message.js';
import { AgentPhone, AGENT_TONE_HZ } from '../../helpers/agent-phone.js';
import { PatientLine } from '../../helpers/patient-line.js';
import { CallEvents } from '../../helpers/call-events.js';
import {
  CLINIC_NUMBER,
  HOLD_MUSIC_HZ,
  describeSipp,
  sipCallIdOf,
  startCallPath,
  type CallPath,
  type SippResult,
} from '../../helpers/call-path.js';
import { PATIENT_TONE_HZ, PatientPhone, isTone, packetsPerSecond, type Received } from '../../helpers/patient-phone.js';
import { Staff } from '../../helpers/staff.js';

/** How long the patient stays on the line before and after the re-INVITE (sipp's -d). */
const PAUSE_MS = 3_000;
/** The window measured after the re-INVITE. */
const WINDOW_MS = 2_000;

const test = suite<{ path: CallPath }>('session refresh: re-INVITE and UPDATE from the patient');

test.before(async (context) => {
  context.path = await startCallPath({ appEnv: { SKIP_INTRO: 'true' } });
});

test.after(async (context) => {
  await context.path?.stop();
});

/** The messages of sipp's trace (-trace_msg), in order, with whether sipp sent or received each. */
function traced(result: SippResult): Array<SipMessage & { sent: boolean }> {
  return result.messages
    .split(/^-{20,} .*$/m)
    .map((block) => block.trim())
    .filter((block) => /^(UDP|TCP) message/.test(block))
    .map((block) => {
      const sent = /^\S+ message sent/.test(block);
      const text = block
        .slice(block.indexOf('\n') + 1)
        .replace(/^\n+/, '')
        .replace(/\r?\n/g, '\r\n');
      return { ...parseSipMessage(text), sent };
    });
}

/** The final response sipp received to its request `cseq` (e.g. "2 INVITE"). */
function responseTo(result: SippResult, cseq: string): SipMessage {
  const response = traced(result).find(
    (m) => !m.sent && (m.status ?? 0) >= 200 && header(m, 'cseq')?.replace(/\s+/g, ' ') === cseq,
  );
  if (!response) throw new Error(`no final response to ${cseq}\n${describeSipp(result)}`);
  return response;
}

function audioPort(sdp: string): number {
  return Number(/^m=audio (\d+)/m.exec(sdp)?.[1]);
}

function origin(sdp: string): string[] {
  return (/^o=(.*)$/m.exec(sdp)?.[1] ?? '').trim().split(' ');
}

/** Packets received in [from, from + ms]; waits until that window is over. */
async function windowAt(phone: PatientPhone, what: string, from: number, ms = WINDOW_MS): Promise<Received[]> {
  return phone.waitUntil(
    what,
    (received) =>
      received.some((p) => p.at >= from + ms) || Date.now() >= from + ms
        ? received.filter((p) => p.at >= from && p.at <= from + ms)
        : undefined,
    ms + PAUSE_MS + 3_000,
  );
}

/** The longest silence between packets in the list, in ms. */
function longestGap(packets: readonly Received[]): number {
  let gap = 0;
  for (let i = 1; i < packets.length; i++) gap = Math.max(gap, packets[i]!.at - packets[i - 1]!.at);
  return gap;
}

/**
 * Asserts about 50 packets/s of the `hz` tone in the window (a stream that stopped or doubled is far
 * outside; this machine's load shifts a 2 s window by a few packets).
 */
function assertFlowing(packets: readonly Received[], hz: number, what: string): number {
  const pps = packetsPerSecond(packets);
  const audible = packets.filter((p) => isTone(p, hz)).length / Math.max(packets.length, 1);
  assert.ok(pps > 42 && pps < 58, `${what}: ${pps.toFixed(1)} packets/s`);
  assert.ok(audible > 0.9, `${what}: ${(audible * 100).toFixed(0)}% of the packets carry the ${hz} Hz tone`);
  return pps;
}

test('a session refresh (re-INVITE with the same SDP) on hold gets 200 with the SDP sent before; the music goes on without a gap', async ({
  path,
}) => {
  const phone = await PatientPhone.open();
  try {
    const logsFrom = path.app.logs.length;
    const call = path.sipp('uac-reinvite-expect-200-with-sdp.xml', {
      keys: { rtp_port: phone.port, reinvite_version: 1000, reinvite_port: phone.port, reinvite_direction: 'sendrecv' },
      pauseMs: PAUSE_MS,
    });
    await phone.waitForTone(HOLD_MUSIC_HZ, 5_000);
    const reinvite = await path.app.waitForLog('the re-INVITE', (line) => line.msg === 're-INVITE from the patient', {
      from: logsFrom,
      timeoutMs: PAUSE_MS + 5_000,
    });
    const around = await windowAt(
      phone,
      'the music around the re-INVITE',
      (reinvite.time as number) - 1_000,
      1_000 + WINDOW_MS,
    );
    const result = await call;
    assert.is(result.code, 0, describeSipp(result));
    const first = responseTo(result, '1 INVITE');
    const refresh = responseTo(result, '2 INVITE');
    assert.is(refresh.status, 200);
    assert.is(refresh.body, first.body, 'the same SDP, the same o= version');
    assert.is(header(refresh, 'content-type'), 'application/sdp');
    const gap = longestGap(around);
    console.log(
      `  session refresh on hold: ${packetsPerSecond(around).toFixed(1)} packets/s around it, longest gap ${gap} ms`,
    );
    // The music file's loop leaves about 120 ms, and a busy machine delays packets; a playback that
    // restarts leaves seconds.
    assert.ok(gap < 300, `the music paused for ${gap} ms`);
    assertFlowing(around, HOLD_MUSIC_HZ, 'hold music around the refresh');
    const ended = await path.app.waitForLog(
      'the call to end',
      (line) => line['sipCallId'] === sipCallIdOf(result) && line.msg === 'call ended',
    );
    assert.is(ended['reason'], 'patient-hung-up', 'the call lasted until the patient hung up');
  } finally {
    phone.close();
  }
});

test('a re-INVITE that moves the patient to another port on hold gets 200 with SDP, and the music follows to the new port', async ({
  path,
}) => {
  const before = await PatientPhone.open();
  const after = await PatientPhone.open();
  try {
    const logsFrom = path.app.logs.length;
    const call = path.sipp('uac-reinvite-expect-200-with-sdp.xml', {
      keys: {
        rtp_port: before.port,
        reinvite_version: 1001,
        reinvite_port: after.port,
        reinvite_direction: 'sendrecv',
      },
      pauseMs: PAUSE_MS,
    });
    await before.waitForTone(HOLD_MUSIC_HZ, 5_000);
    const reinvite = await path.app.waitForLog('the re-INVITE', (line) => line.msg === 're-INVITE from the patient', {
      from: logsFrom,
      timeoutMs: PAUSE_MS + 5_000,
    });
    const at = reinvite.time as number;
    // The phone has moved: nothing more comes from its old port.
    before.stopSending();
    const moved = await windowAt(after, 'the music at the new port', at);
    const result = await call;
    assert.is(result.code, 0, describeSipp(result));
    const first = responseTo(result, '1 INVITE');
    const answer = responseTo(result, '2 INVITE');
    assert.is(answer.status, 200);
    assert.is(audioPort(answer.body), audioPort(first.body), "rtpengine's port for the patient stays");
    assert.equal(
      origin(answer.body).slice(0, 2),
      origin(first.body).slice(0, 2),
      'the same o= username and session id',
    );
    assert.ok(Number(origin(answer.body)[2]) >= Number(origin(first.body)[2]), 'a version that does not go back');
    const pps = assertFlowing(moved, HOLD_MUSIC_HZ, 'hold music at the new port');
    const firstAtNewPort = moved[0]!.at - at;
    console.log(
      `  re-INVITE to a new port on hold: music there ${firstAtNewPort} ms after it, ${pps.toFixed(1)} packets/s`,
    );
    assert.ok(firstAtNewPort < 300, `${firstAtNewPort} ms`);
    assert.not.ok(
      before.received.some((p) => p.at > at + 300),
      'nothing more at the old port',
    );
  } finally {
    before.close();
    after.close();
  }
});

test('a re-INVITE that puts us on hold (sendonly) gets 200 with a recvonly answer under a new o= version', async ({
  path,
}) => {
  const phone = await PatientPhone.open();
  try {
    const result = await path.sipp('uac-reinvite-expect-200-with-sdp.xml', {
      keys: { rtp_port: phone.port, reinvite_version: 1001, reinvite_port: phone.port, reinvite_direction: 'sendonly' },
      pauseMs: 500,
    });
    assert.is(result.code, 0, describeSipp(result));
    const first = responseTo(result, '1 INVITE');
    const hold = responseTo(result, '2 INVITE');
    assert.is(hold.status, 200);
    assert.match(hold.body, /^a=recvonly\r?$/m, hold.body);
    assert.equal(origin(hold.body).slice(0, 2), origin(first.body).slice(0, 2), 'the same o= username and session id');
    assert.is(
      Number(origin(hold.body)[2]),
      Number(origin(first.body)[2]) + 1,
      'the next o= version: the description changed',
    );
  } finally {
    phone.close();
  }
});

test('UPDATE: a session refresh without SDP gets 200; one with a new port gets 200 with SDP, and the music follows', async ({
  path,
}) => {
  const before = await PatientPhone.open();
  const after = await PatientPhone.open();
  try {
    const logsFrom = path.app.logs.length;
    const call = path.sipp('uac-update-expect-200.xml', {
      keys: { rtp_port: before.port, reinvite_port: after.port },
      pauseMs: PAUSE_MS,
    });
    await before.waitForTone(HOLD_MUSIC_HZ, 5_000);
    const update = await path.app.waitForLog(
      'the UPDATE with SDP',
      (line) => line.msg === 'UPDATE from the patient' && line['withSdp'] === true,
      { from: logsFrom, timeoutMs: PAUSE_MS + 5_000 },
    );
    const at = update.time as number;
    before.stopSending();
    const moved = await windowAt(after, 'the music at the new port', at);
    const result = await call;
    assert.is(result.code, 0, describeSipp(result));
    const refresh = responseTo(result, '2 UPDATE');
    assert.is(refresh.status, 200);
    assert.is(refresh.body, '', 'no SDP to a refresh without one');
    const answer = responseTo(result, '3 UPDATE');
    assert.is(answer.status, 200);
    assert.is(audioPort(answer.body), audioPort(responseTo(result, '1 INVITE').body));
    assert.match(header(responseTo(result, '1 INVITE'), 'allow') ?? '', /\bUPDATE\b/, 'our 200 OK allows UPDATE');
    const pps = assertFlowing(moved, HOLD_MUSIC_HZ, 'hold music at the new port');
    console.log(`  UPDATE to a new port on hold: ${pps.toFixed(1)} packets/s there`);
    assert.not.ok(
      before.received.some((p) => p.at > at + 300),
      'nothing more at the old port',
    );
  } finally {
    before.close();
    after.close();
  }
});

test('a re-INVITE without SDP gets our current SDP as the offer; the answer in the ACK moves the media', async ({
  path,
}) => {
  const before = await PatientPhone.open();
  const after = await PatientPhone.open();
  try {
    const logsFrom = path.app.logs.length;
    const call = path.sipp('uac-reinvite-without-sdp-expect-offer.xml', {
      keys: { rtp_port: before.port, reinvite_port: after.port },
      pauseMs: PAUSE_MS,
    });
    await before.waitForTone(HOLD_MUSIC_HZ, 5_000);
    const reinvite = await path.app.waitForLog('the re-INVITE', (line) => line.msg === 're-INVITE from the patient', {
      from: logsFrom,
      timeoutMs: PAUSE_MS + 5_000,
    });
    assert.is(reinvite['withSdp'], false);
    before.stopSending();
    const moved = await windowAt(after, 'the music at the new port', reinvite.time as number);
    const result = await call;
    assert.is(result.code, 0, describeSipp(result));
    const offer = responseTo(result, '2 INVITE');
    assert.is(offer.status, 200);
    assert.is(offer.body, responseTo(result, '1 INVITE').body, 'the offer is the SDP the patient has');
    assertFlowing(moved, HOLD_MUSIC_HZ, 'hold music at the port of the ACK');
  } finally {
    before.close();
    after.close();
  }
});

test('an UPDATE whose SDP rtpengine cannot read gets 488; the call and its music go on, and a well-formed one after it gets 200', async ({
  path,
}) => {
  const line = await PatientLine.open(path.kamailioPort);
  const phone = await PatientPhone.open();
  try {
    const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: phone.port });
    await phone.waitForTone(HOLD_MUSIC_HZ, 5_000);
    const refused = await dialog.request('UPDATE', 'v=0\r\no=patient 1 2 IN IP4 127.0.0.1\r\nthis is not SDP\r\n');
    assert.is(refused.status, 488);
    assertFlowing(
      await windowAt(phone, 'the music after the refused UPDATE', Date.now()),
      HOLD_MUSIC_HZ,
      'hold music after the 488',
    );
    const refresh = await dialog.request('UPDATE');
    assert.is(refresh.status, 200);
    assert.is((await dialog.hangUp()).status, 200, 'the call was still up');
  } finally {
    phone.close();
    await line.close();
  }
});

test('bridged: a re-INVITE that moves the patient keeps the conversation going both ways at 50 packets/s', async ({
  path,
}) => {
  const staff = new Staff(path.redis);
  const events = await CallEvents.open(path.redisUrl);
  const before = await PatientPhone.open();
  const after = await PatientPhone.open();
  const desk = await staff.workstation('Refresh 1');
  const agentPhone = await AgentPhone.register(path.kamailio, desk.id);
  try {
    await staff.available('anna', desk.id);
    const from = events.mark();
    const logsFrom = path.app.logs.length;
    const call = path.sipp('uac-reinvite-expect-200-with-sdp.xml', {
      keys: {
        rtp_port: before.port,
        reinvite_version: 1001,
        reinvite_port: after.port,
        reinvite_direction: 'sendrecv',
      },
      pauseMs: PAUSE_MS,
    });
    const ring = await agentPhone.nextInvite();
    const agentMedia = await ring.answer();
    await events.waitFor({ state: 'bridged', from });
    await before.waitForTone(AGENT_TONE_HZ, 3_000);
    const reinvite = await path.app.waitForLog('the re-INVITE', (line) => line.msg === 're-INVITE from the patient', {
      from: logsFrom,
      timeoutMs: PAUSE_MS + 5_000,
    });
    const at = reinvite.time as number;
    before.stopSending();
    const [patientHears, agentHears] = await Promise.all([
      windowAt(after, 'the agent at the new port', at + 200),
      windowAt(agentMedia, 'the patient from the new port', at + 200),
    ]);
    const result = await call;
    assert.is(result.code, 0, describeSipp(result));
    assert.is(responseTo(result, '2 INVITE').status, 200);
    const toPatient = assertFlowing(patientHears, AGENT_TONE_HZ, 'the agent, heard at the new port');
    const toAgent = assertFlowing(agentHears, PATIENT_TONE_HZ, 'the patient, heard by the agent');
    console.log(
      `  re-INVITE while bridged: patient hears ${toPatient.toFixed(1)} packets/s, agent hears ${toAgent.toFixed(1)} packets/s`,
    );
    await ring.waitForBye(5_000);
  } finally {
    before.close();
    after.close();
    await agentPhone.close();
    await events.close();
    await staff.leave('anna');
  }
});

test.run();
