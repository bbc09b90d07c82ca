/**
 * The voicemail recorder (sip/src/voicemail/rtp-recorder.ts) fed over a real UDP socket: samples land
 * where their RTP timestamps put them (a lost packet leaves silence, the length stays true), sound
 * is told from silence, the trailing silence is cut, a key press is reported once, and the SDP's
 * dynamic telephone-event type is learnt. And the recorder's answer SDP to rtpengine's offer.
 */
import dgram from 'node:dgram';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { recorderSdp } from '@deskline/sip/media/media-session';
import { RtpRecorder, TAIL_KEPT_MS, ulawToLinear } from '@deskline/sip/voicemail/rtp-recorder';
import { linearToUlaw } from '../../helpers/patient-phone.js';

const OFFER = [
  'v=0',
  'o=- 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 40000 RTP/AVP 0 8 96',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:96 telephone-event/8000',
  'a=fmtp:96 0-16',
  'a=sendonly',
  '',
].join('\r\n');

function packet(payloadType: number, sequence: number, timestamp: number, payload: Buffer, ssrc = 7): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = payloadType;
  header.writeUInt16BE(sequence & 0xffff, 2);
  header.writeUInt32BE(timestamp >>> 0, 4);
  header.writeUInt32BE(ssrc, 8);
  return Buffer.concat([header, payload]);
}

const tone = (level: number): Buffer =>
  Buffer.from(Array.from({ length: 160 }, (_, i) => linearToUlaw(Math.round(level * Math.sin(i / 3)))));

async function sendAll(recorder: RtpRecorder, packets: Buffer[]): Promise<void> {
  const socket = dgram.createSocket('udp4');
  const { host, port } = recorder.address;
  for (const p of packets) await new Promise<void>((resolve) => socket.send(p, port, host, () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, 100));
  socket.close();
}

test('samples land by timestamp: a lost packet is silence, sound is counted, the trailing silence is cut', async () => {
  const recorder = await RtpRecorder.open('127.0.0.1', { maxMs: 10_000 });
  recorder.describe(OFFER);
  recorder.begin();
  const start = 1_000_000;
  const packets: Buffer[] = [];
  // 2 s of sound with packet 10 lost, then 2 s of silence.
  for (let i = 0; i < 100; i++) if (i !== 10) packets.push(packet(0, i, start + i * 160, tone(8000)));
  for (let i = 100; i < 200; i++) packets.push(packet(0, i, start + i * 160, tone(0)));
  await sendAll(recorder, packets);
  const pcm = recorder.finish();
  assert.ok(Math.abs(recorder.soundMs - 99 * 20) < 1, `sound: ${recorder.soundMs} ms`);
  // The tone's first sample is 0 (sin 0): the first packet starts one before the first sound.
  const offset = pcm.findIndex((sample) => sample !== 0) - 1;
  // From the first packet (placed where the clock had got to when it came): 2 s of sound and
  // TAIL_KEPT_MS of the silence after it, to the sample.
  assert.is(pcm.length - offset, 2 * 8000 + (TAIL_KEPT_MS / 1000) * 8000);
  const lost = pcm.subarray(offset + 10 * 160 + 1, offset + 11 * 160 - 1);
  assert.ok(
    lost.every((sample) => sample === 0),
    'the lost packet is silence',
  );
  assert.is(pcm[offset + 160 * 20 + 3], ulawToLinear(tone(8000)[3] ?? 0));
});

test('a key press (RFC 4733, the SDP’s payload type) is reported once, however many packets carry it', async () => {
  const digits: string[] = [];
  const recorder = await RtpRecorder.open('127.0.0.1', { maxMs: 10_000, onDigit: (digit) => digits.push(digit) });
  recorder.describe(OFFER);
  recorder.begin();
  const event = (sequence: number, timestamp: number, key: number, end: boolean): Buffer =>
    packet(96, sequence, timestamp, Buffer.from([key, end ? 0x8a : 0x0a, 0x01, 0x40]));
  await sendAll(recorder, [
    event(1, 8000, 11, false),
    event(2, 8000, 11, false),
    event(3, 8000, 11, true),
    event(4, 8000, 11, true),
    event(5, 16000, 5, false),
    // Not a payload type of the SDP: ignored.
    packet(101, 6, 24000, Buffer.from([1, 0x8a, 0, 0])),
  ]);
  recorder.finish();
  assert.equal(digits, ['#', '5']);
});

test("the recorder's answer: rtpengine's codecs at the recorder's address, receiving only", () => {
  const answer = recorderSdp(OFFER, '127.0.0.1', 41234);
  assert.match(answer, /^m=audio 41234 RTP\/AVP 0 8 96\r$/m);
  assert.match(answer, /^c=IN IP4 127\.0\.0\.1\r$/m);
  assert.match(answer, /^a=rtpmap:96 telephone-event\/8000\r$/m);
  assert.match(answer, /^a=recvonly\r$/m);
  assert.not.match(answer, /sendonly/);
});

test.run();
