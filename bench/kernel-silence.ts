/**
 * The longest silence each patient's phone got, from the kernel's timestamps rather than from when
 * the bench's event loop got round to a packet (a stall of the bench would look like silence): dumpcap
 * captures on the loopback what rtpengine sends (UDP from its port range) to a pcap file, with the
 * first 40 bytes of each packet's audio, enough to tell an audible packet from a quiet one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { load } from './stack.js';

type RtpPacketsModule = typeof import('../tests/helpers/rtp-packets.js');

const ETHERNET = 14;
const UDP = 8;
const RTP = 12;
/** Link, IP and UDP headers, the RTP header and 40 samples (5 ms) of PCMU. */
const SNAPLEN = ETHERNET + 20 + UDP + RTP + 40;

export class KernelCapture {
  private constructor(
    private readonly child: ChildProcess,
    private readonly file: string,
    private readonly exited: Promise<void>,
  ) {}

  /** Starts capturing UDP sent from ports `portMin`–`portMax` on lo; resolves once dumpcap captures. */
  static async start(portMin: number, portMax: number): Promise<KernelCapture> {
    const file = path.join(os.tmpdir(), `deskline-bench-${process.pid}-${Date.now()}.pcap`);
    const child = spawn(
      'dumpcap',
      ['-q', '-P', '-i', 'lo', '-s', String(SNAPLEN), '-f', `udp src portrange ${portMin}-${portMax}`, '-w', file],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`dumpcap did not start: ${stderr}`)), 20_000);
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/Capturing on/.test(stderr)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`dumpcap exited: ${stderr}`));
      });
    });
    return new KernelCapture(child, file, exited);
  }

  /**
   * Stops, and per destination port the longest time (ms) from `since` to `until` between two audible
   * packets (RMS of the captured samples over 1000).
   */
  async longestSilences(since: number, until: number): Promise<Map<number, number>> {
    this.child.kill('SIGINT');
    await this.exited;
    const { ulawToLinear } = await load<RtpPacketsModule>('helpers/rtp-packets.js');
    const data = readFileSync(this.file);
    rmSync(this.file, { force: true });
    const last = new Map<number, number>();
    const longest = new Map<number, number>();
    let offset = 24;
    while (offset + 16 <= data.length) {
      const at = data.readUInt32LE(offset) * 1000 + data.readUInt32LE(offset + 4) / 1000;
      const length = data.readUInt32LE(offset + 8);
      const packet = data.subarray(offset + 16, offset + 16 + length);
      offset += 16 + length;
      if (at < since || at > until || packet.length < ETHERNET + 20 + UDP + RTP + 8) continue;
      const ipHeader = ((packet[ETHERNET] ?? 0x45) & 0x0f) * 4;
      const udp = ETHERNET + ipHeader;
      const port = packet.readUInt16BE(udp + 2);
      const samples = packet.subarray(udp + UDP + RTP);
      let sum = 0;
      for (const byte of samples) sum += ulawToLinear(byte) ** 2;
      if (Math.sqrt(sum / samples.length) <= 1000) continue;
      const previous = last.get(port);
      if (previous !== undefined) longest.set(port, Math.max(longest.get(port) ?? 0, at - previous));
      last.set(port, at);
    }
    return longest;
  }

  stop(): void {
    this.child.kill('SIGINT');
  }
}
