/**
 * Watches the RTP that arrives at a UDP port on this machine, from outside the process that owns the
 * port: tshark (Debian's, run as root) captures on the loopback interface, decodes the packets as RTP,
 * and hands every packet to the test as it arrives. A test uses it where the receiver is a program
 * that cannot report what it hears, such as sipp playing a patient. Helpers to decode PCMU and to
 * measure a tone's share of the signal (Goertzel) are here too.
 */
import { ManagedProcess, lastLines } from '@deskline/scripts/managed-process';
import { killOnExit } from './kill-on-exit.js';
import { Recorder } from './recorder.js';
import { packetsPerSecond, ulawToLinear } from './rtp-packets.js';

export { packetsPerSecond, ulawToLinear };

/** One RTP packet, as captured on its way to the port. */
export interface CapturedRtp {
  /** Epoch ms when the kernel saw it (the capture's timestamp, not when the test read it). */
  at: number;
  /** Sender, "address:port". */
  from: string;
  payloadType: number;
  sequence: number;
  ssrc: number;
  payload: Buffer;
}

export interface RtpCaptureOptions {
  /** The UDP port whose incoming packets are captured. */
  port: number;
  /** Default "lo". */
  interface?: string;
  /** How long tshark may take to start capturing. Default 20 s: it loads every dissector first. */
  startTimeoutMs?: number;
}

const FIELDS = ['frame.time_epoch', 'ip.src', 'udp.srcport', 'rtp.p_type', 'rtp.seq', 'rtp.ssrc', 'rtp.payload'];

export class RtpCapture {
  private readonly log: Recorder<CapturedRtp>;

  private constructor(
    private readonly process: ManagedProcess,
    readonly port: number,
  ) {
    this.log = new Recorder(`capture on port ${port}`);
  }

  /** Starts capturing; resolves once tshark reports that the capture runs. */
  static async start(options: RtpCaptureOptions): Promise<RtpCapture> {
    const iface = options.interface ?? 'lo';
    let capturing: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (capturing = resolve));
    let capture: RtpCapture | undefined;
    const proc = killOnExit(
      ManagedProcess.start({
        name: 'tshark',
        command: 'tshark',
        installHint: 'apt-get install tshark',
        args: [
          '-i',
          iface,
          '-n', // no name lookups
          '-l', // one line per packet, flushed at once
          '-f',
          `udp dst port ${options.port}`,
          // Nothing in the packets says RTP; decode this port as RTP.
          '-d',
          `udp.port==${options.port},rtp`,
          '-T',
          'fields',
          ...FIELDS.flatMap((field) => ['-e', field]),
        ],
        onLine: (line, stream) => {
          if (stream === 'stderr') {
            if (line.startsWith('Capturing on')) capturing();
            return;
          }
          const packet = parseLine(line);
          if (packet && capture) capture.add(packet);
        },
      }),
    );
    capture = new RtpCapture(proc, options.port);
    const timeoutMs = options.startTimeoutMs ?? 20_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        started,
        proc.exited.then((status) => {
          throw new Error(
            `tshark exited before capturing (code ${status.code}, signal ${status.signal}).${lastLines(proc)}`,
          );
        }),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`tshark did not start capturing within ${timeoutMs} ms.${lastLines(proc)}`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      await proc.stop(1000);
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return capture;
  }

  /** Waits until `check` holds over the packets captured so far, or fails after `timeoutMs`. */
  waitUntil<T>(what: string, check: (packets: readonly CapturedRtp[]) => T | undefined, timeoutMs: number): Promise<T> {
    return this.log.waitUntil(what, check, timeoutMs);
  }

  /** The packets captured from `since` (epoch ms) on, once they span at least `ms`. */
  span(since: number, ms: number, timeoutMs: number): Promise<CapturedRtp[]> {
    return this.waitUntil(
      `${ms} ms of packets from ${new Date(since).toISOString()}`,
      (packets) => {
        const from = packets.filter((p) => p.at >= since);
        const last = from[from.length - 1];
        return last && last.at - since >= ms ? from : undefined;
      },
      timeoutMs,
    );
  }

  /** The first packet captured from `since` (epoch ms) on that is mostly a `hz` tone, e.g. a browser's fake microphone. */
  firstTone(hz: number, since: number, timeoutMs: number): Promise<CapturedRtp> {
    return this.waitUntil(
      `a ${hz} Hz tone from ${new Date(since).toISOString()}`,
      (packets) => packets.find((p) => p.at >= since && toneShare(decodePcmu(p.payload), hz) > 0.5),
      timeoutMs,
    );
  }

  async stop(): Promise<void> {
    await this.process.stop(2000);
  }

  /** Every packet captured so far, in arrival order. */
  get packets(): readonly CapturedRtp[] {
    return this.log.items;
  }

  private add(packet: CapturedRtp): void {
    this.log.add(packet);
  }
}

function parseLine(line: string): CapturedRtp | undefined {
  const [epoch, address, port, payloadType, sequence, ssrc, payload] = line.split('\t');
  // A packet tshark could not decode as RTP (too short, not version 2) has no RTP fields.
  if (!epoch || !payloadType || !sequence || payload === undefined) return undefined;
  return {
    at: Number(epoch) * 1000,
    from: `${address}:${port}`,
    payloadType: Number(payloadType),
    sequence: Number(sequence),
    ssrc: Number(ssrc),
    payload: Buffer.from(payload.replace(/:/g, ''), 'hex'),
  };
}

export function decodePcmu(payload: Buffer): Float64Array {
  const samples = new Float64Array(payload.length);
  for (let i = 0; i < payload.length; i++) samples[i] = ulawToLinear(payload[i] ?? 0xff);
  return samples;
}

/**
 * The share (0…1) of the signal's energy that lies at `hz`, by the Goertzel algorithm: 1 for a pure
 * tone at `hz` whose period divides the block, near 0 for silence or another tone. 160 samples at
 * 8 kHz (one 20 ms packet) resolve 50 Hz bins.
 */
export function toneShare(samples: Float64Array, hz: number, sampleRate = 8000): number {
  const n = samples.length;
  if (n === 0) return 0;
  const coefficient = 2 * Math.cos((2 * Math.PI * hz) / sampleRate);
  let previous = 0;
  let beforePrevious = 0;
  let energy = 0;
  for (const sample of samples) {
    const current = sample + coefficient * previous - beforePrevious;
    beforePrevious = previous;
    previous = current;
    energy += sample * sample;
  }
  if (energy === 0) return 0;
  const power = previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious;
  return (2 * power) / (n * energy);
}

export interface PcmuAnalysis {
  packets: number;
  packetsPerSecond: number;
  /** RMS of all decoded samples, 0…32767. */
  rms: number;
  /** For each frequency asked about: its share of the energy, over all packets (energy-weighted). */
  shares: Record<number, number>;
}

/** Decodes PCMU packets and measures their level and how much of it lies at each of `frequencies`. */
export function analysePcmu(packets: readonly CapturedRtp[], frequencies: readonly number[]): PcmuAnalysis {
  let energy = 0;
  let samples = 0;
  const weighted: Record<number, number> = Object.fromEntries(frequencies.map((hz) => [hz, 0]));
  for (const packet of packets) {
    const decoded = decodePcmu(packet.payload);
    let packetEnergy = 0;
    for (const sample of decoded) packetEnergy += sample * sample;
    energy += packetEnergy;
    samples += decoded.length;
    for (const hz of frequencies) weighted[hz] = (weighted[hz] ?? 0) + toneShare(decoded, hz) * packetEnergy;
  }
  const shares: Record<number, number> = {};
  for (const hz of frequencies) shares[hz] = energy > 0 ? (weighted[hz] ?? 0) / energy : 0;
  return {
    packets: packets.length,
    packetsPerSecond: packetsPerSecond(packets),
    rms: samples ? Math.sqrt(energy / samples) : 0,
    shares,
  };
}
