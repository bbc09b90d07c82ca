/**
 * A patient's media leg on a real rtpengine (tests/helpers/rtpengine.ts), set up as the sip app sets
 * up the queue's (offer with the patient's SDP, answer with a placeholder), and the patient's UDP
 * socket that records every RTP packet rtpengine plays to it: for tests of what `play media` sends.
 */
import dgram from 'node:dgram';
import * as assert from 'uvu/assert';
import { Recorder } from './recorder.js';
import type { TestRtpengine } from './rtpengine.js';
import { ulawToLinear } from './rtp-packets.js';

export interface RtpPacket {
  at: number;
  payloadType: number;
  sequence: number;
  payload: Buffer;
}

export interface PatientSocket {
  port: number;
  packets: RtpPacket[];
  waitForPackets(n: number, timeoutMs: number): Promise<void>;
  close(): void;
}

/** The patient's phone: a UDP socket on 127.0.0.1 that records every RTP packet it receives. */
export async function patientSocket(): Promise<PatientSocket> {
  const socket = dgram.createSocket('udp4');
  const packets = new Recorder<RtpPacket>('patient socket');
  socket.on('message', (data) => {
    if (data.length < 12 || data[0] === undefined || data[0] >> 6 !== 2) return;
    const cc = data[0] & 0x0f;
    packets.add({
      at: performance.now(),
      payloadType: (data[1] ?? 0) & 0x7f,
      sequence: data.readUInt16BE(2),
      payload: data.subarray(12 + 4 * cc),
    });
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    packets: packets.items,
    async waitForPackets(n, timeoutMs) {
      await packets.waitUntil(`${n} RTP packets`, (items) => (items.length >= n ? true : undefined), timeoutMs);
    },
    close: () => socket.close(),
  };
}

/** A plain-RTP SDP offering PCMU, PCMA and telephone-event at 127.0.0.1:`port`. */
export function sdp(port: number, direction = 'sendrecv'): string {
  return [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} RTP/AVP 0 8 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000',
    `a=${direction}`,
    '',
  ].join('\r\n');
}

/** The queue's media leg as the sip app sets it up: offer (patient's SDP), answer (placeholder). */
export async function holdLeg(rtpengine: TestRtpengine, callId: string, patientPort: number): Promise<void> {
  const plain = {
    'transport-protocol': 'RTP/AVP',
    ICE: 'remove',
    flags: ['port latching'],
    replace: ['origin', 'session-connection'],
  };
  const offer = await rtpengine.ng({
    command: 'offer',
    'call-id': callId,
    'from-tag': 'patient',
    sdp: sdp(patientPort),
    ...plain,
  });
  assert.is(offer['result'], 'ok', JSON.stringify(offer));
  const answer = await rtpengine.ng({
    command: 'answer',
    'call-id': callId,
    'from-tag': 'patient',
    'to-tag': 'queue',
    sdp: sdp(9),
    ...plain,
  });
  assert.is(answer['result'], 'ok', JSON.stringify(answer));
  assert.match(String(answer['sdp']), /m=audio \d+ RTP\/AVP 0/);
}

/** The level of PCMU payloads, in dBFS. */
export function levelDbfs(payloads: Buffer[]): number {
  let sum = 0;
  let n = 0;
  for (const p of payloads) {
    for (const b of p) {
      const s = ulawToLinear(b) / 32768;
      sum += s * s;
      n++;
    }
  }
  return 10 * Math.log10(sum / Math.max(n, 1));
}
