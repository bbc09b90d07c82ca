import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { Recorder } from './recorder.js';
import { packetsPerSecond, ulawToLinear } from './rtp-packets.js';

export { packetsPerSecond };

/** One RTP packet as the patient received it. */
export interface Received {
  at: number;
  payloadType: number;
  /** Estimated tone frequency of the payload in Hz (PCMU, 8 kHz). */
  frequency: number;
  /** RMS level of the decoded payload, 0…32767. */
  rms: number;
}

const PCMU = 0;
const SAMPLES_PER_PACKET = 160;
const PACKET_MS = 20;
/** The most packets one timer tick sends to catch up with the clock. */
const MAX_BURST = 5;
/** The longest stall of this process the phone's sending makes up for (see startSending); a longer one loses packets. */
export const CATCH_UP_MS = MAX_BURST * PACKET_MS;

/** The tone the patient's phone sends, so that the other side can tell it is the patient it hears. */
export const PATIENT_TONE_HZ = 300;

/**
 * The patient's phone on the media side: a UDP socket at the port the patient's SDP advertises. It
 * answers rtpengine symmetrically, sending its own PCMU (a tone, 300 Hz unless told otherwise) 50
 * times a second to where the media comes from, and analyses every packet it receives. A plain SIP
 * phone at an agent's desk works the same way, so the integration tests use it there too.
 */
export class PatientPhone {
  private readonly log = new Recorder<Received>('patient');
  private sender: NodeJS.Timeout | undefined;
  private sending = true;
  private sequence = randomInt(0, 0xffff);
  private timestamp = randomInt(0, 0xffffffff);
  private readonly ssrc = randomInt(0, 0xffffffff);
  private sentPackets = 0;
  private closed = false;
  /** Where it sends, once it does. */
  private target: { address: string; port: number } | undefined;
  /** A key is being pressed: the voice packets pause (RFC 4733 §2.5.1.1: events replace the audio). */
  private keying = false;
  /** Silent: the packets go on, carrying silence (a patient who stopped speaking). */
  private muted = false;

  private constructor(
    private readonly socket: dgram.Socket,
    readonly port: number,
    private readonly toneHz: number,
  ) {
    socket.on('message', (packet, from) => {
      if (packet.length < 12 || (packet[0] ?? 0) >> 6 !== 2) return;
      const payloadType = (packet[1] ?? 0) & 0x7f;
      const payload = packet.subarray(12);
      if (this.sending && !this.sender) this.startSending(from.address, from.port);
      this.log.add({ at: Date.now(), payloadType, ...analyse(payload) });
    });
  }

  static async open(toneHz = PATIENT_TONE_HZ): Promise<PatientPhone> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    return new PatientPhone(socket, socket.address().port, toneHz);
  }

  /** Every packet received so far, in arrival order. */
  get received(): readonly Received[] {
    return this.log.items;
  }

  /** How many RTP packets it has sent so far. */
  get sent(): number {
    return this.sentPackets;
  }

  /** Forgets every packet received so far; what arrives next is logged as before. */
  forget(): void {
    this.log.clear();
  }

  /** Waits until `check` holds over what has been received, or fails after `timeoutMs`. */
  waitUntil<T>(what: string, check: (received: readonly Received[]) => T | undefined, timeoutMs: number): Promise<T> {
    return this.log.waitUntil(what, check, timeoutMs);
  }

  /** Resolves with the first packet carrying a tone near `hz`, waiting for it if need be. */
  waitForTone(hz: number, timeoutMs: number): Promise<Received> {
    return this.waitUntil(`a ${hz} Hz tone`, (received) => received.find((packet) => isTone(packet, hz)), timeoutMs);
  }

  /**
   * Starts sending to `address`:`port` before anything has arrived (where its SDP answer or offer
   * says), as a phone that speaks first; after that it sends as it would anyway.
   */
  sendTo(address: string, port: number): void {
    if (this.sending && !this.sender) this.startSending(address, port);
  }

  /** Sends silence instead of the tone (`true`), or the tone again (`false`): the packets go on either way. */
  mute(muted: boolean): void {
    this.muted = muted;
  }

  /** Stops sending (a phone that moved to another port), and goes on listening. */
  stopSending(): void {
    clearInterval(this.sender);
    this.sending = false;
  }

  /**
   * Presses a key as a phone does in RFC 4733: telephone-event packets (payload type `payloadType`, the
   * one the patient's SDP offers: 101 in patientSdp) every 20 ms for `durationMs`, all with the
   * event's start timestamp and a growing duration, the first with the marker bit, then the end packet
   * three times; the voice pauses meanwhile. Resolves once the last end packet is sent. Needs the
   * phone to be sending (media has arrived, or `sendTo`).
   */
  async pressKey(key: string, options: { durationMs?: number; payloadType?: number } = {}): Promise<void> {
    const event = '0123456789*#'.indexOf(key);
    if (event < 0 || key.length !== 1) throw new Error(`no such key: ${key}`);
    const target = this.target;
    if (!target) throw new Error('the phone sends nothing yet: no media has arrived');
    const payloadType = options.payloadType ?? 101;
    const packets = Math.max(1, Math.round((options.durationMs ?? 100) / PACKET_MS));
    const timestamp = this.timestamp;
    const send = (duration: number, end: boolean, marker: boolean): void => {
      const packet = Buffer.alloc(16);
      packet[0] = 0x80;
      packet[1] = (marker ? 0x80 : 0) | payloadType;
      packet.writeUInt16BE((this.sequence = (this.sequence + 1) & 0xffff), 2);
      packet.writeUInt32BE(timestamp, 4);
      packet.writeUInt32BE(this.ssrc, 8);
      packet[12] = event;
      packet[13] = (end ? 0x80 : 0) | 10; // volume -10 dBm0
      packet.writeUInt16BE(Math.min(0xffff, duration), 14);
      this.socket.send(packet, target.port, target.address);
    };
    this.keying = true;
    try {
      for (let i = 1; i <= packets; i++) {
        send(i * SAMPLES_PER_PACKET, false, i === 1);
        await new Promise((resolve) => setTimeout(resolve, PACKET_MS));
      }
      for (let i = 0; i < 3; i++) send(packets * SAMPLES_PER_PACKET, true, false);
    } finally {
      this.keying = false;
    }
  }

  /** Closes the socket; again is a no-op (an agent's ring and the test may both close its media). */
  close(): void {
    this.stopSending();
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }

  /**
   * 50 packets a second by the clock, as a phone's sound card paces them: each tick sends every packet
   * due since the first, so a late timer (a busy event loop) delays packets instead of losing them. At
   * most 5 at once: after a longer stall the packets are skipped (sequence continuous, timestamp
   * jumping), as a phone that lost its audio for a moment.
   */
  private startSending(address: string, port: number): void {
    this.target = { address, port };
    const payload = Buffer.alloc(SAMPLES_PER_PACKET);
    let phase = 0;
    const started = Date.now();
    let intervals = 0;
    const send = (): void => {
      if (this.keying) {
        this.timestamp = (this.timestamp + SAMPLES_PER_PACKET) >>> 0;
        phase += SAMPLES_PER_PACKET;
        return;
      }
      for (let i = 0; i < SAMPLES_PER_PACKET; i++) {
        const sample = this.muted ? 0 : Math.round(6000 * Math.sin((2 * Math.PI * this.toneHz * phase) / 8000));
        phase++;
        payload[i] = linearToUlaw(sample);
      }
      const header = Buffer.alloc(12);
      header[0] = 0x80;
      header[1] = PCMU;
      header.writeUInt16BE((this.sequence = (this.sequence + 1) & 0xffff), 2);
      header.writeUInt32BE((this.timestamp = (this.timestamp + SAMPLES_PER_PACKET) >>> 0), 4);
      header.writeUInt32BE(this.ssrc, 8);
      this.socket.send(Buffer.concat([header, payload]), port, address);
      this.sentPackets += 1;
    };
    this.sender = setInterval(() => {
      const due = Math.floor((Date.now() - started) / PACKET_MS);
      const skipped = Math.max(0, due - intervals - MAX_BURST);
      this.timestamp = (this.timestamp + skipped * SAMPLES_PER_PACKET) >>> 0;
      phase += skipped * SAMPLES_PER_PACKET;
      for (intervals += skipped; intervals < due; intervals++) send();
    }, PACKET_MS);
  }
}

/** True when the packet carries an audible tone within 15% of `hz`. */
export function isTone(packet: Received, hz: number): boolean {
  return packet.rms > 1000 && Math.abs(packet.frequency - hz) < hz * 0.15;
}

function analyse(payload: Buffer): { frequency: number; rms: number } {
  let crossings = 0;
  let sumSquares = 0;
  let previous = 0;
  for (let i = 0; i < payload.length; i++) {
    const sample = ulawToLinear(payload[i] ?? 0xff);
    sumSquares += sample * sample;
    if (i > 0 && previous < 0 !== sample < 0) crossings += 1;
    previous = sample;
  }
  const seconds = payload.length / 8000;
  return {
    frequency: payload.length ? crossings / 2 / seconds : 0,
    rms: payload.length ? Math.sqrt(sumSquares / payload.length) : 0,
  };
}

export function linearToUlaw(sample: number): number {
  const BIAS = 0x84;
  const sign = sample < 0 ? 0x80 : 0;
  const magnitude = Math.min(Math.abs(sample), 32635) + BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (magnitude & mask) === 0 && exponent > 0; mask >>= 1) exponent -= 1;
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}
