/**
 * A real rtpengine with Deskline's config (pbx-config/rtpengine/rtpengine.conf) on a free ng port and
 * a media port range of its own, for integration tests of media and of the sip app's use of it.
 */
import dgram from 'node:dgram';
import { freePort } from '@deskline/scripts/free-port';
import type { ExitStatus, ManagedProcess } from '@deskline/scripts/managed-process';
import { killOnExit } from './kill-on-exit.js';
import { startRtpengine } from '@deskline/scripts/rtpengine';
import { ngRequest, type Bencode } from '@deskline/scripts/rtpengine-ng';

export interface TestRtpengineOptions {
  /** How many media ports it may use. Default 100. */
  ports?: number;
  echo?: boolean;
}

export interface TestRtpengine {
  ngHost: string;
  ngPort: number;
  /** The media address (RTPENGINE_INTERFACE). */
  interface: string;
  portMin: number;
  portMax: number;
  process: ManagedProcess;
  readonly log: string[];
  /** Milliseconds from spawn until it answered ping. */
  startupMs: number;
  /** One ng command; resolves with rtpengine's answer. */
  ng(command: Record<string, Bencode>): Promise<Record<string, Bencode>>;
  stop(): Promise<ExitStatus>;
}

/** The media ranges of the rtpengines this process runs now. */
const rangesInUse = new Set<[number, number]>();

/** True when nothing on this machine holds a UDP port of [min, max] on `host` now. */
async function rangeFree(host: string, min: number, max: number): Promise<boolean> {
  const sockets: dgram.Socket[] = [];
  try {
    for (let port = min; port <= max; port++) {
      const socket = dgram.createSocket('udp4');
      sockets.push(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(port, host, () => resolve());
      });
    }
    return true;
  } catch {
    return false;
  } finally {
    for (const socket of sockets) socket.close();
  }
}

/**
 * An even base port in 40000–59999, for a range that overlaps no other rtpengine's. rtpengine 10.5
 * binds its media ports with address reuse, so a second rtpengine whose range overlaps gets the same
 * ports, and the kernel hands each port's packets to one of the two: a call of either goes silent
 * one way (measured: bench/README.md, capacity.ts). So the range is disjoint from this process's
 * other rtpengines and, when it is picked, free of every socket on the machine: of the ports other
 * test processes' rtpengines hold for their calls then. (One that has no call yet, or starts later,
 * can still overlap: the probe makes it less likely, not impossible.)
 */
async function mediaRange(host: string, size: number): Promise<[number, number]> {
  for (let attempt = 0; ; attempt++) {
    const base = 40000 + 2 * Math.floor(Math.random() * ((20000 - size) / 2));
    const range: [number, number] = [base, base + size - 1];
    const overlaps = [...rangesInUse].some(([min, max]) => range[0] <= max && min <= range[1]);
    if (!overlaps && (attempt >= 20 || (await rangeFree(host, range[0], range[1])))) return range;
  }
}

export async function startTestRtpengine(options: TestRtpengineOptions = {}): Promise<TestRtpengine> {
  const host = '127.0.0.1';
  const ngPort = await freePort(host, ['udp', 'tcp']);
  const range = await mediaRange(host, options.ports ?? 100);
  const [portMin, portMax] = range;
  rangesInUse.add(range);
  const log: string[] = [];
  const started = Date.now();
  const proc = await startRtpengine({
    ngHost: host,
    ngPort,
    interface: host,
    portMin,
    portMax,
    onLine: (line) => {
      log.push(line);
      if (options.echo) process.stderr.write(`rtpengine | ${line}\n`);
    },
  }).catch((err: unknown) => {
    rangesInUse.delete(range);
    throw err;
  });
  killOnExit(proc);
  void proc.exited.then(() => rangesInUse.delete(range));
  return {
    ngHost: host,
    ngPort,
    interface: host,
    portMin,
    portMax,
    process: proc,
    log,
    startupMs: Date.now() - started,
    ng: (command) => ngRequest(host, ngPort, command),
    stop: () => proc.stop(),
  };
}
