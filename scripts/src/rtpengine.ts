/**
 * How Deskline runs rtpengine: pbx-config/rtpengine/rtpengine.conf for what every installation
 * shares, command-line flags for the settings in docs/call-path.md. Shared by the launcher and the
 * tests' harness (tests/helpers/rtpengine.ts).
 */
import path from 'node:path';
import { REPO_ROOT, connectHost } from './launch-config.js';
import { ManagedProcess, waitUntilHealthy } from './managed-process.js';
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
}

/** `rtpengine` arguments: the shared config file, then this installation's addresses and ports. */
export function rtpengineArgs(settings: RtpengineSettings): string[] {
  return [
    `--config-file=${RTPENGINE_CONF}`,
    `--interface=${settings.interface}`,
    `--listen-ng=${hostPort(settings.ngHost, settings.ngPort)}`,
    `--port-min=${settings.portMin}`,
    `--port-max=${settings.portMax}`,
  ];
}

/** rtpengine is up when it answers the ng `ping` with `pong`. */
export function rtpengineHealthy(settings: Pick<RtpengineSettings, 'ngHost' | 'ngPort'>): Promise<boolean> {
  return ngPing(connectHost(settings.ngHost), settings.ngPort);
}

export interface StartRtpengineOptions extends RtpengineSettings {
  bin?: string;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  startTimeoutMs?: number;
}

/** Starts an rtpengine we own and resolves once it answers the ng `ping`. */
export async function startRtpengine(options: StartRtpengineOptions): Promise<ManagedProcess> {
  const proc = ManagedProcess.start({
    name: 'rtpengine',
    command: options.bin ?? 'rtpengine',
    installHint: RTPENGINE_INSTALL_HINT,
    args: rtpengineArgs(options),
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
