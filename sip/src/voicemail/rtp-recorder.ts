import dgram from 'node:dgram';

/** 8 kHz: the codecs a patient's call carries (PCMU, PCMA). */
export const RECORDER_SAMPLE_RATE = 8000;
/** A packet whose decoded RMS is above this counts as sound (about -36 dBFS); below it, silence. */
export const SOUND_RMS = 500;

type PayloadKind = 'pcmu' | 'pcma' | 'event';

/** Silence kept after the last sound: the silence that ended a message is not part of it. */
export const TAIL_KEPT_MS = 500;

/** RFC 4733 events 0–11 as keys. */
const EVENT_DIGITS = '0123456789*#';

export interface RtpRecorderOptions {
  /** The longest recording; later packets are dropped. */
  maxMs: number;
  /** A keypad press (RFC 4733 telephone-event in the copy), once per press. */
  onDigit?: (digit: string) => void;
}

/**
 * A UDP socket that rtpengine sends a copy of the patient's audio to (MediaSession.copyPatientTo),
 * and the PCM it decodes from it: each packet's samples land where its RTP timestamp puts them, so
 * lost packets leave silence and the recording keeps the real timing. It tells how much of it was
 * sound (SOUND_RMS), when sound was last heard, and reports keypad presses.
 */
export class RtpRecorder {
  private readonly pcm: Int16Array;
  private readonly kinds = new Map<number, PayloadKind>([
    [0, 'pcmu'],
    [8, 'pcma'],
  ]);
  /** Per SSRC: the RTP timestamp of its first packet and where in the recording that falls. */
  private readonly anchors = new Map<number, { timestamp: number; at: number }>();
  private readonly events = new Set<number>();
  private startedAt = performance.now();
  private length = 0;
  private soundSamples = 0;
  private lastSound: number | undefined;
  /** Where in the recording the last sound ended. */
  private soundEnd = 0;
  private packets = 0;
  private closed = false;

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly options: RtpRecorderOptions,
  ) {
    this.pcm = new Int16Array(Math.ceil((options.maxMs / 1000) * RECORDER_SAMPLE_RATE));
    socket.on('message', (packet) => this.receive(packet));
  }

  /** A recorder listening on `host` (the address rtpengine reaches this process at), on a port of the system's choosing. */
  static async open(host: string, options: RtpRecorderOptions): Promise<RtpRecorder> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', () => undefined);
    return new RtpRecorder(socket, options);
  }

  get address(): { host: string; port: number } {
    const { address, port } = this.socket.address();
    return { host: address, port };
  }

  /** rtpengine's description of the copy: its payload types (dynamic telephone-event among them). */
  describe(sdp: string): void {
    for (const match of sdp.matchAll(/^a=rtpmap:(\d+) ([A-Za-z0-9-]+)\/(\d+)/gm)) {
      const name = (match[2] ?? '').toLowerCase();
      const kind: PayloadKind | undefined =
        name === 'pcmu' ? 'pcmu' : name === 'pcma' ? 'pcma' : name === 'telephone-event' ? 'event' : undefined;
      if (kind) this.kinds.set(Number(match[1]), kind);
    }
  }

  /** Restarts the clock: the recording's time 0 is now (after the greeting). */
  begin(): void {
    this.startedAt = performance.now();
    this.anchors.clear();
    this.length = 0;
    this.soundSamples = 0;
    this.lastSound = undefined;
    this.soundEnd = 0;
    this.pcm.fill(0);
  }

  /** How much of the recording so far is sound, in ms. */
  get soundMs(): number {
    return (this.soundSamples / RECORDER_SAMPLE_RATE) * 1000;
  }

  /** Ms since sound was last heard, or since `begin()` when none was. */
  get silentForMs(): number {
    return performance.now() - (this.lastSound ?? this.startedAt);
  }

  /** RTP packets received so far. */
  get received(): number {
    return this.packets;
  }

  /**
   * Stops listening; returns the recording (8 kHz, 16-bit mono) from `begin()` to TAIL_KEPT_MS after
   * its last sound (the silence that ended it, or that a hang-up came after, is left out).
   */
  finish(): Int16Array {
    if (!this.closed) {
      this.closed = true;
      this.socket.close();
    }
    const tail = (TAIL_KEPT_MS / 1000) * RECORDER_SAMPLE_RATE;
    return this.pcm.slice(0, Math.min(this.length, this.soundEnd + tail));
  }

  private receive(packet: Buffer): void {
    if (this.closed || packet.length < 12 || (packet[0] ?? 0) >> 6 !== 2) return;
    const csrcs = (packet[0] ?? 0) & 0x0f;
    const hasExtension = ((packet[0] ?? 0) & 0x10) !== 0;
    let offset = 12 + csrcs * 4;
    if (hasExtension) {
      if (packet.length < offset + 4) return;
      offset += 4 + packet.readUInt16BE(offset + 2) * 4;
    }
    let end = packet.length;
    if (((packet[0] ?? 0) & 0x20) !== 0) end -= packet[packet.length - 1] ?? 0;
    if (end <= offset) return;
    const payloadType = (packet[1] ?? 0) & 0x7f;
    const kind = this.kinds.get(payloadType);
    if (!kind) return;
    this.packets++;
    const timestamp = packet.readUInt32BE(4);
    const payload = packet.subarray(offset, end);
    if (kind === 'event') {
      this.event(timestamp, payload);
      return;
    }
    const ssrc = packet.readUInt32BE(8);
    let anchor = this.anchors.get(ssrc);
    if (!anchor) {
      const at = Math.max(0, Math.round(((performance.now() - this.startedAt) / 1000) * RECORDER_SAMPLE_RATE));
      anchor = { timestamp, at: Math.max(at - payload.length, 0) };
      this.anchors.set(ssrc, anchor);
    }
    const position = anchor.at + ((timestamp - anchor.timestamp) >>> 0);
    // A timestamp far behind the anchor wraps to a huge offset: dropped with the rest beyond the maximum.
    if (position + payload.length > this.pcm.length) return;
    let energy = 0;
    for (let i = 0; i < payload.length; i++) {
      const byte = payload[i] ?? 0;
      const sample = kind === 'pcmu' ? ulawToLinear(byte) : alawToLinear(byte);
      this.pcm[position + i] = sample;
      energy += sample * sample;
    }
    this.length = Math.max(this.length, position + payload.length);
    if (Math.sqrt(energy / payload.length) > SOUND_RMS) {
      this.soundSamples += payload.length;
      this.lastSound = performance.now();
      this.soundEnd = Math.max(this.soundEnd, position + payload.length);
    }
  }

  /** RFC 4733: one press is several packets with the same timestamp; the first of them reports it. */
  private event(timestamp: number, payload: Buffer): void {
    if (payload.length < 4 || this.events.has(timestamp)) return;
    this.events.add(timestamp);
    const digit = EVENT_DIGITS[payload[0] ?? 255];
    if (digit) this.options.onDigit?.(digit);
  }
}

/** G.711 µ-law to 16-bit linear. */
export function ulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const sign = u & 0x80;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return sign ? -magnitude : magnitude;
}

/** G.711 A-law to 16-bit linear. */
export function alawToLinear(byte: number): number {
  const a = byte ^ 0x55;
  const sign = a & 0x80;
  const exponent = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  const magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return sign ? magnitude : -magnitude;
}
