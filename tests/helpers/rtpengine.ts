/**
 * A real rtpengine with Deskline's config (pbx-config/rtpengine/rtpengine.conf) on a free ng port and
 * a media port range of its own, for integration tests of media and of the sip app's use of it.
 */
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@deskline/scripts/free-port';
import type { ExitStatus, ManagedProcess } from '@deskline/scripts/managed-process';
import { killOnExit } from './kill-on-exit.js';
import { startRtpengine, type RtpengineKeyspace } from '@deskline/scripts/rtpengine';
import { ngRequest, type Bencode } from '@deskline/scripts/rtpengine-ng';

export interface TestRtpengineOptions {
  /** How many media ports it may use. Default 100. */
  ports?: number;
  echo?: boolean;
  /** Keeps its calls in this Redis (a URL like the test Redis's) under database `db` (default 1), as an installation does. */
  keyspace?: { redisUrl: string; db?: number };
}

export interface TestRtpengine {
  ngHost: string;
  ngPort: number;
  /** The media address (RTPENGINE_INTERFACE). */
  interface: string;
  /** Where it sends the keypresses it sees (--dtmf-log-dest 127.0.0.1:<port>): the sip app's RTPENGINE_DTMF_PORT. */
  dtmfPort: number;
  portMin: number;
  portMax: number;
  /** The rtpengine process now running (a new one after `restart`). */
  readonly process: ManagedProcess;
  readonly log: string[];
  /** Milliseconds from spawn until it answered ping. */
  startupMs: number;
  /** One ng command; resolves with rtpengine's answer. */
  ng(command: Record<string, Bencode>): Promise<Record<string, Bencode>>;
  /** SIGKILL, as a crash or an OOM kill: resolves once the process is gone. */
  crash(): Promise<void>;
  /** Starts it again with the same ports and keyspace; resolves once it answers ping. */
  restart(): Promise<void>;
  stop(): Promise<ExitStatus>;
}

function keyspaceOf(options: TestRtpengineOptions['keyspace']): RtpengineKeyspace | undefined {
  if (!options) return undefined;
  const url = new URL(options.redisUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    db: options.db ?? 1,
    password: decodeURIComponent(url.password) || undefined,
  };
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

/** A media port range no other rtpengine of this process uses, for an rtpengine a test starts by other means; `release()` when it is gone. */
export async function reserveMediaRange(size = 100): Promise<{ portMin: number; portMax: number; release(): void }> {
  const range = await mediaRange('127.0.0.1', size);
  rangesInUse.add(range);
  return { portMin: range[0], portMax: range[1], release: () => rangesInUse.delete(range) };
}

export async function startTestRtpengine(options: TestRtpengineOptions = {}): Promise<TestRtpengine> {
  const host = '127.0.0.1';
  const ngPort = await freePort(host, ['udp', 'tcp']);
  const dtmfPort = await freePort(host, ['udp']);
  const range = await mediaRange(host, options.ports ?? 100);
  const [portMin, portMax] = range;
  rangesInUse.add(range);
  const keyspace = keyspaceOf(options.keyspace);
  const configDir = keyspace ? mkdtempSync(path.join(os.tmpdir(), 'deskline-rtpengine-')) : undefined;
  const log: string[] = [];
  const started = Date.now();
  const start = async (): Promise<ManagedProcess> => {
    const proc = await startRtpengine({
      ngHost: host,
      ngPort,
      interface: host,
      portMin,
      portMax,
      dtmfPort,
      keyspace,
      configDir,
      onLine: (line) => {
        log.push(line);
        if (options.echo ?? process.env['DESKLINE_TEST_LOGS'] === '1') process.stderr.write(`rtpengine | ${line}\n`);
      },
    });
    killOnExit(proc);
    return proc;
  };
  let proc = await start().catch((err: unknown) => {
    rangesInUse.delete(range);
    throw err;
  });
  let stopped = false;
  const release = (): void => {
    rangesInUse.delete(range);
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  };
  return {
    ngHost: host,
    ngPort,
    interface: host,
    dtmfPort,
    portMin,
    portMax,
    get process() {
      return proc;
    },
    log,
    startupMs: Date.now() - started,
    ng: (command) => ngRequest(host, ngPort, command),
    async crash() {
      proc.killNow();
      await proc.exited;
    },
    async restart() {
      if (proc.running) throw new Error('rtpengine is still running: crash() or stop() it first');
      proc = await start();
    },
    async stop() {
      if (stopped) return proc.exited;
      stopped = true;
      const status = await proc.stop();
      release();
      return status;
    },
  };
}
