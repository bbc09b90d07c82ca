/**
 * A real rtpengine with Deskline's config (pbx-config/rtpengine/rtpengine.conf) on a free ng port and
 * a media port range of its own, for integration tests of media and of the sip app's use of it.
 */
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

/**
 * Picks an even base port in 40000–59999; rtpengine skips ports that are taken, so two test
 * processes whose ranges overlap still both work.
 */
function mediaRange(size: number): [number, number] {
  const base = 40000 + 2 * Math.floor(Math.random() * ((20000 - size) / 2));
  return [base, base + size - 1];
}

export async function startTestRtpengine(options: TestRtpengineOptions = {}): Promise<TestRtpengine> {
  const host = '127.0.0.1';
  const ngPort = await freePort(host, ['udp', 'tcp']);
  const [portMin, portMax] = mediaRange(options.ports ?? 100);
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
  });
  killOnExit(proc);
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
