/**
 * An outsider who learns (or guesses) the rtpengine port of a patient's call sends RTP into it from
 * another address (127.0.0.3). Through the real call path (Kamailio, the sip app, rtpengine), a
 * patient's call answered at a desk phone (plain RTP on both legs): what the desk phone hears is
 * counted by tone, the patient's 300 Hz against the intruder's 1700 Hz. The patient is a SIP phone
 * written for the tests, or sipp streaming PCMU.
 */
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '@deskline/scripts/free-port';
import { PLAIN_RTP } from '@deskline/sip/media/flags';
import { packetsFromTag } from '@deskline/sip/media/packets';
import { AgentPhone } from '../helpers/agent-phone.js';
import { CallEvents } from '../helpers/call-events.js';
import { CLINIC_NUMBER, describeSipp, startCallPath, type CallPath } from '../helpers/call-path.js';
import { PatientLine, type PatientDialog } from '../helpers/patient-line.js';
import {
  PATIENT_TONE_HZ,
  PatientPhone,
  isTone,
  linearToUlaw,
  packetsPerSecond,
  type Received,
} from '../helpers/patient-phone.js';
import { header } from '../helpers/sip-message.js';
import { Staff } from '../helpers/staff.js';
import { waitFor } from '../helpers/wait.js';
import { writeTone } from '../helpers/tones.js';

const INTRUDER_HZ = 1700;
const INTRUDER_ADDRESS = '127.0.0.3';

interface Context {
  path: CallPath;
  staff: Staff;
  events: CallEvents;
  line: PatientLine;
  open: Array<{ close(): unknown }>;
  users: string[];
}

/** A plain RTP sender of a PCMU tone, 50 packets a second, from its own socket to one address. */
class ToneSender {
  private timer: NodeJS.Timeout | undefined;
  private sequence = randomInt(0, 0xffff);
  private timestamp = randomInt(0, 0xffffffff);
  private readonly ssrc = randomInt(0, 0xffffffff);
  private phase = 0;
  sent = 0;

  private constructor(readonly socket: dgram.Socket) {}

  static async bind(address: string, port = 0): Promise<ToneSender> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, address, () => resolve());
    });
    return new ToneSender(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  start(hz: number, to: { address: string; port: number }): void {
    this.timer = setInterval(() => {
      const payload = Buffer.alloc(160);
      for (let i = 0; i < payload.length; i++)
        payload[i] = linearToUlaw(Math.round(6000 * Math.sin((2 * Math.PI * hz * this.phase++) / 8000)));
      const header = Buffer.alloc(12);
      header[0] = 0x80;
      header.writeUInt16BE((this.sequence = (this.sequence + 1) & 0xffff), 2);
      header.writeUInt32BE((this.timestamp = (this.timestamp + 160) >>> 0), 4);
      header.writeUInt32BE(this.ssrc, 8);
      this.socket.send(Buffer.concat([header, payload]), to.port, to.address);
      this.sent++;
    }, 20);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  close(): void {
    this.stop();
    this.socket.close();
  }
}

/** Where rtpengine told the patient to send media: the 200 OK's c= and m=audio. */
function mediaTarget(sdp: string): { address: string; port: number } {
  const address = /^c=IN IP4 (\S+)/m.exec(sdp)?.[1];
  const port = /^m=audio (\d+) /m.exec(sdp)?.[1];
  if (!address || !port) throw new Error(`no media address in the patient's 200 OK:\n${sdp}`);
  return { address, port: Number(port) };
}

const test = suite<Context>('RTP from a third address');

test.before(async (context) => {
  context.path = await startCallPath({ appEnv: { SKIP_INTRO: 'true', RING_TIMEOUT_SECONDS: '5' } });
  context.staff = new Staff(context.path.redis, context.path.kamailio.domain);
  context.events = await CallEvents.open(context.path.redisUrl);
  context.line = await PatientLine.open(context.path.kamailioPort);
  context.open = [];
  context.users = [];
});

test.after.each(async (context) => {
  for (const item of context.open.splice(0)) await item.close();
  for (const user of context.users.splice(0)) await context.staff.leave(user);
});

test.after(async (context) => {
  await context.line?.close();
  await context.events?.close();
  await context.path?.stop();
});

/** A desk phone with an employee at it, registered and ready; resolves with the phone. */
async function deskPhone(context: Context, userId: string, sipUser: string): Promise<AgentPhone> {
  const workstation = await context.staff.workstation(`Desk phone ${sipUser}`, 'sip-phone', sipUser);
  context.users.push(userId);
  await context.staff.available(userId, workstation.id);
  const phone = await AgentPhone.registerDeskPhone(context.path.kamailio, sipUser, workstation.sipPassword ?? '');
  context.open.push(phone);
  return phone;
}

/** The patient calls with media at `rtpPort`; the desk phone answers. Resolves once bridged. */
async function answeredCall(
  context: Context,
  phone: AgentPhone,
  rtpPort: number,
): Promise<{ dialog: PatientDialog; atPhone: PatientPhone; callId: string }> {
  const from = context.events.mark();
  const dialog = await context.line.call({ line: CLINIC_NUMBER, rtpPort });
  context.open.push(dialog);
  const ring = await phone.nextInvite();
  // Closed with the phone.
  const atPhone = await ring.answer();
  await context.events.waitFor({ state: 'bridged', from });
  // rtpengine's call id is the sip app's, which the INVITE to the workstation names.
  return { dialog, atPhone, callId: header(ring.invite, 'x-deskline-call-id') ?? '' };
}

const count = (packets: readonly Received[], hz: number): number => packets.filter((p) => isTone(p, hz)).length;

/** rtpengine's own address and port for the stream whose peer sends from `peerPort` (ng `query`). */
async function rtpengineSideOf(
  context: Context,
  callId: string,
  peerPort: number,
): Promise<{ address: string; port: number }> {
  const reply = await context.path.rtpengine.query(callId);
  for (const side of Object.values(
    (reply['tags'] ?? {}) as Record<string, { medias?: Array<{ streams?: Array<Record<string, unknown>> }> }>,
  )) {
    for (const media of side.medias ?? []) {
      for (const stream of media.streams ?? []) {
        const endpoint = stream['endpoint'] as { port?: number } | undefined;
        if (endpoint?.port === peerPort && typeof stream['local port'] === 'number')
          return { address: '127.0.0.1', port: stream['local port'] };
      }
    }
  }
  throw new Error(`no stream of ${callId} has the peer port ${peerPort}: ${JSON.stringify(reply)}`);
}

test('the patient speaks first: 2 s of RTP from a third address (same port number) reach the desk phone as 0 packets; the patient is still heard', async (context) => {
  const phone = await deskPhone(context, 'rita', '301');
  const patient = await PatientPhone.open();
  context.open.push(patient);
  const { dialog, atPhone } = await answeredCall(context, phone, patient.port);
  await atPhone.waitForTone(PATIENT_TONE_HZ, 3000);

  // The intruder even takes the patient's port number, on another address.
  const intruder = await ToneSender.bind(INTRUDER_ADDRESS, patient.port);
  context.open.push(intruder);
  const start = Date.now();
  intruder.start(INTRUDER_HZ, mediaTarget(dialog.ok.body));
  const during = await atPhone.waitUntil(
    '2 s at the desk phone while the intruder sends',
    (received) => {
      const packets = received.filter((p) => p.at >= start);
      const last = packets[packets.length - 1];
      return last && last.at - start >= 2000 ? packets : undefined;
    },
    7000,
  );
  intruder.stop();
  const heard = count(during, PATIENT_TONE_HZ);
  console.log(
    `  intruder sent ${intruder.sent} packets; the desk phone got ${count(during, INTRUDER_HZ)} of them and ${heard} of the patient's (${packetsPerSecond(during).toFixed(1)} pps)`,
  );
  assert.ok(intruder.sent >= 90, `the intruder sent ${intruder.sent}`);
  assert.is(count(during, INTRUDER_HZ), 0, 'no intruder packet is forwarded');
  assert.ok(
    heard / during.length > 0.95 && packetsPerSecond(during) > 40,
    `the patient is still heard: ${heard} of ${during.length}`,
  );
});

test("the intruder sends first, for longer than rtpengine's 3 s learning window, while the patient is silent: none of it is forwarded, and the patient, speaking later, is heard", async (context) => {
  const phone = await deskPhone(context, 'nina', '302');
  // The patient's line stays silent until the test lets it speak.
  const patient = await ToneSender.bind('127.0.0.1');
  context.open.push(patient);
  const { dialog, atPhone, callId } = await answeredCall(context, phone, patient.port);
  const target = mediaTarget(dialog.ok.body);

  const intruder = await ToneSender.bind(INTRUDER_ADDRESS, patient.port);
  context.open.push(intruder);
  intruder.start(INTRUDER_HZ, target);
  // The attack: the intruder's packets are there before the patient's first, and past the 3 s after
  // the last offer/answer in which rtpengine would otherwise latch on to whoever sends.
  await waitFor("the intruder's head start of 3.5 s", () => intruder.sent >= 175, 6000);
  const intruderAhead = intruder.sent;
  // Nor does the intruder count as the patient for the sip app's watch on a silent line (packets.ts).
  assert.is(
    await packetsFromTag(context.path.rtpengine, callId, dialog.invite.fromTag),
    0,
    'the silent patient has sent nothing',
  );
  patient.start(PATIENT_TONE_HZ, target);
  const firstFromPatient = await atPhone.waitForTone(PATIENT_TONE_HZ, 3000);
  const after = await atPhone.waitUntil(
    "2 s at the desk phone after the patient's first packet",
    (received) => {
      const packets = received.filter((p) => p.at > firstFromPatient.at);
      const last = packets[packets.length - 1];
      return last && last.at - firstFromPatient.at >= 2000 ? packets : undefined;
    },
    7000,
  );
  intruder.stop();
  const leakedBefore = count(
    atPhone.received.filter((p) => p.at <= firstFromPatient.at),
    INTRUDER_HZ,
  );
  console.log(
    `  intruder ahead by ${intruderAhead} packets: ${leakedBefore} reached the desk phone before the patient's first packet; ` +
      `after it, ${count(after, INTRUDER_HZ)} of the intruder's and ${count(after, PATIENT_TONE_HZ)} of the patient's in 2 s ` +
      `(${intruder.sent} sent by the intruder in all)`,
  );
  assert.is(count(after, INTRUDER_HZ), 0, 'the intruder did not keep (or steal) the latch');
  assert.ok(
    count(after, PATIENT_TONE_HZ) / after.length > 0.95 && packetsPerSecond(after) > 40,
    'the patient is heard',
  );
  assert.is(leakedBefore, 0, 'nothing of the head start was forwarded');
});

test("sipp as the patient (PCMU from a file): 2 s of RTP from a third address into sipp's stream reach the desk phone as 0 packets; sipp is still heard", async (context) => {
  const phone = await deskPhone(context, 'sara', '303');
  const work = mkdtempSync(path.join(os.tmpdir(), 'deskline-strict-source-'));
  context.open.push({ close: () => rmSync(work, { recursive: true, force: true }) });
  // sipp 3.6.1 sends a file's bytes as they are: raw 8 kHz µ-law (tests/sipp/uac-pcmu-answered-patient-hangs-up.xml).
  await writeTone(path.join(work, 'patient-voice.ul'), { hz: PATIENT_TONE_HZ, seconds: 5, format: 'ulaw' });
  const mediaPort = await freePort('127.0.0.1', ['udp']);
  const from = context.events.mark();
  const sipp = context.path.sipp('uac-pcmu-answered-patient-hangs-up.xml', {
    mediaPort,
    cwd: work,
    pauseMs: 10_000,
    timeoutMs: 40_000,
    extraArgs: ['-aa'],
  });
  const ring = await phone.nextInvite(10_000);
  const atPhone = await ring.answer();
  await context.events.waitFor({ state: 'bridged', from });
  await atPhone.waitForTone(PATIENT_TONE_HZ, 3000);
  const target = await rtpengineSideOf(context, header(ring.invite, 'x-deskline-call-id') ?? '', mediaPort);

  // From sipp's own port number, on another address.
  const intruder = await ToneSender.bind(INTRUDER_ADDRESS, mediaPort);
  context.open.push(intruder);
  const start = Date.now();
  intruder.start(INTRUDER_HZ, target);
  const during = await atPhone.waitUntil(
    '2 s at the desk phone while the intruder sends',
    (received) => {
      const packets = received.filter((p) => p.at >= start);
      const last = packets[packets.length - 1];
      return last && last.at - start >= 2000 ? packets : undefined;
    },
    7000,
  );
  intruder.stop();
  const heard = count(during, PATIENT_TONE_HZ);
  console.log(
    `  sipp: intruder sent ${intruder.sent} packets to ${target.address}:${target.port}; the desk phone got ${count(during, INTRUDER_HZ)} of them and ${heard} of sipp's (${packetsPerSecond(during).toFixed(1)} pps)`,
  );
  assert.ok(intruder.sent >= 90, `the intruder sent ${intruder.sent}`);
  assert.is(count(during, INTRUDER_HZ), 0, 'no intruder packet is forwarded');
  assert.ok(
    heard / during.length > 0.95 && packetsPerSecond(during) > 40,
    `sipp is still heard: ${heard} of ${during.length}`,
  );
  const result = await sipp;
  assert.is(result.code, 0, describeSipp(result));
});

test('control: without the source checks, rtpengine 10.5 forwards the same intruder (the checks are what stops it)', async (context) => {
  const engine = context.path.rtpengine;
  const a = await ToneSender.bind('127.0.0.1');
  const b = await PatientPhone.open(); // records what reaches the other side
  const intruder = await ToneSender.bind(INTRUDER_ADDRESS, a.port);
  context.open.push(a, b, intruder);
  const sdp = (port: number): string =>
    [
      'v=0',
      'o=- 1 1 IN IP4 127.0.0.1',
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${port} RTP/AVP 0`,
      'a=rtpmap:0 PCMU/8000',
      'a=sendrecv',
      '',
    ].join('\r\n');
  const callId = `strict-source-control-${randomInt(1e9)}`;
  const withoutChecks = { ...PLAIN_RTP };
  await engine.offer({ callId, fromTag: 'a', sdp: sdp(a.port), flags: withoutChecks });
  const answer = await engine.answer({ callId, fromTag: 'a', toTag: 'b', sdp: sdp(b.port), flags: withoutChecks });
  try {
    a.start(PATIENT_TONE_HZ, mediaTarget(answer));
    intruder.start(INTRUDER_HZ, mediaTarget(answer));
    const leaked = await b.waitUntil(
      'an intruder packet forwarded',
      (received) => received.find((p) => isTone(p, INTRUDER_HZ)),
      3000,
    );
    assert.ok(leaked);
  } finally {
    await engine.delete({ callId, fromTag: 'a' });
  }
});

test.run();
