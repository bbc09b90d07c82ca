/**
 * How Deskline runs rtpengine: pbx-config/rtpengine/rtpengine.conf for what every installation
 * shares, command-line flags for the settings in docs/call-path.md. Shared by the launcher and the
 * tests' harness (tests/helpers/rtpengine.ts).
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, connectHost } from './launch-config.js';
import { ManagedProcess, findExecutable, waitUntilHealthy } from './managed-process.js';
import { ngPing } from './rtpengine-ng.js';
import { hostPort } from './sip-options.js';

export const RTPENGINE_CONF = path.join(REPO_ROOT, 'pbx-config/rtpengine/rtpengine.conf');
export const RTPENGINE_INSTALL_HINT = 'apt-get install rtpengine-daemon';

export interface RtpengineSettings {
  /** RTPENGINE_NG_HOST, RTPENGINE_NG_PORT: the ng control socket (UDP). */
  ngHost: string;
  ngPort: number;
  /** RTPENGINE_INTERFACE: address media uses; "local!advertised" when they differ (NAT, Docker). */
  interface: string;
  /** RTPENGINE_PORT_MIN, RTPENGINE_PORT_MAX: the media port range. */
  portMin: number;
  portMax: number;
  /**
   * RTPENGINE_DTMF_PORT: where rtpengine sends each keypress it sees (RFC 4733), as JSON over UDP to
   * 127.0.0.1 (`--dtmf-log-dest`): the sip app listens there (docs/call-plan.md, "Keypad").
   */
  dtmfPort?: number | undefined;
  /**
   * Where rtpengine keeps its calls so that it gets them back when it restarts: a Redis database of
   * its own (RTPENGINE_REDIS_DB). Without it a restarted rtpengine has no calls.
   */
  keyspace?: RtpengineKeyspace | undefined;
}

/** A Redis database for rtpengine's calls. rtpengine resolves no names: `host` is an IP address. */
export interface RtpengineKeyspace {
  host: string;
  port: number;
  db: number;
  password?: string | undefined;
}

/**
 * rtpengine's config for an installation with a keyspace: the shared file, plus the keyspace in a
 * file of its own, readable by its owner only, in `dir` (rtpengine takes the Redis password on its
 * command line or in its config file, and a command line is readable by every user of the machine).
 * Returns the file to give rtpengine. The same lines as deploy/rtpengine/start.sh writes in Docker.
 */
export function writeRtpengineConfig(dir: string, keyspace: RtpengineKeyspace): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'rtpengine.conf');
  const target = `${keyspace.password ? `${keyspace.password}@` : ''}${keyspace.host}:${keyspace.port}/${keyspace.db}`;
  const lines = [
    readFileSync(RTPENGINE_CONF, 'utf8').trimEnd(),
    '',
    "# This installation's keyspace (written at start).",
    `redis = ${target}`,
    `redis-write = ${target}`,
    '',
  ];
  writeFileSync(file, lines.join('\n'), { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

/**
 * `rtpengine` arguments: the config file (the shared one, or the one writeRtpengineConfig wrote), then
 * this installation's addresses and ports.
 */
export function rtpengineArgs(settings: RtpengineSettings, configFile = RTPENGINE_CONF): string[] {
  return [
    `--config-file=${configFile}`,
    `--interface=${settings.interface}`,
    `--listen-ng=${hostPort(settings.ngHost, settings.ngPort)}`,
    `--port-min=${settings.portMin}`,
    `--port-max=${settings.portMax}`,
    ...(settings.dtmfPort ? [`--dtmf-log-dest=127.0.0.1:${settings.dtmfPort}`] : []),
  ];
}

/**
 * rtpengine's timer slack, in ns: how late the kernel may wake its threads from a timed wait, so that
 * one wake-up serves every packet due within it. rtpengine 10.5 plays media with one timed wait per
 * RTP packet (20 ms apart for each caller on hold, at random phases across callers): with the kernel's
 * default 50 µs slack, 100 callers on hold wake its send thread about 5000 times a second, and the
 * wake-ups, not the sending, were most of what hold music cost (bench/README.md, hold-music-cost.ts).
 * 2 ms lets each wake-up send the packets due within 2 ms, delaying a packet by at most that: nothing
 * a jitter buffer notices next to the 20 ms between packets. It concerns timers only: forwarding a
 * conversation's packets is driven by their arrival.
 */
export const RTPENGINE_TIMER_SLACK_NS = 2_000_000;

/**
 * The program and arguments that run rtpengine with `RTPENGINE_TIMER_SLACK_NS`: `sh` writes it to
 * /proc/self/timerslack_ns (every thread rtpengine starts inherits it) and execs rtpengine in its
 * place, same pid. Where the kernel has no such file, rtpengine runs with its default slack. When
 * `bin` is not installed, rtpengine itself is the command, so that the launcher names the missing
 * program and how to install it. deploy/rtpengine/start.sh does the same in Docker.
 */
export function rtpengineCommand(
  args: string[],
  bin = 'rtpengine',
  envPath = process.env['PATH'],
): { command: string; args: string[] } {
  const executable = findExecutable(bin, envPath);
  if (!executable) return { command: bin, args };
  const script = `{ echo ${RTPENGINE_TIMER_SLACK_NS} > /proc/self/timerslack_ns; } 2>/dev/null; exec "$0" "$@"`;
  return { command: '/bin/sh', args: ['-c', script, executable, ...args] };
}

/** rtpengine is up when it answers the ng `ping` with `pong`. */
export function rtpengineHealthy(settings: Pick<RtpengineSettings, 'ngHost' | 'ngPort'>): Promise<boolean> {
  return ngPing(connectHost(settings.ngHost), settings.ngPort);
}

export interface StartRtpengineOptions extends RtpengineSettings {
  bin?: string;
  /** Where the config file with the keyspace is written (`keyspace` given). */
  configDir?: string;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  startTimeoutMs?: number;
}

function keyspaceDir(dir: string | undefined): string {
  if (!dir) throw new Error('rtpengine with a keyspace needs a folder for its config file (configDir)');
  return dir;
}

/** Starts an rtpengine we own and resolves once it answers the ng `ping`. */
export async function startRtpengine(options: StartRtpengineOptions): Promise<ManagedProcess> {
  const proc = ManagedProcess.start({
    name: 'rtpengine',
    ...rtpengineCommand(
      rtpengineArgs(
        options,
        options.keyspace ? writeRtpengineConfig(keyspaceDir(options.configDir), options.keyspace) : RTPENGINE_CONF,
      ),
      options.bin,
    ),
    installHint: RTPENGINE_INSTALL_HINT,
    onLine: options.onLine,
  });
  try {
    await waitUntilHealthy(proc, () => rtpengineHealthy(options), options.startTimeoutMs ?? 10_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}
