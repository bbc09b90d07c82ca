/**
 * Debian's linphone (`linphone-cli`) as a patient's phone or a PBX's trunk: a second, real SIP stack
 * next to sipp. It runs `linphone-daemon`, the headless user agent of that package, controlled over
 * its Unix socket (`--pipe`), with its SIP and RTP ports on 127.0.0.1 picked free by the test.
 *
 * What makes it work headless here, each learnt the hard way (linphone 5.1.65):
 * - its message database must open, or the core never starts and never opens a SIP port (every call
 *   then fails with "No listening point"): `[storage] uri` and HOME point into the test's directory;
 * - `use_ipv6=0` (with `ipv6_migration_done`, or linphone deletes the setting), `guess_hostname=0` and
 *   `[rtp] bind_address`, or it advertises the machine's IPv6 address in its From and SDP;
 * - there is no sound card: linphone then sends no RTP at all until `incall-player-start` plays a WAV
 *   through the call (which is the microphone here), and what it receives goes nowhere, so the test
 *   captures its RTP port with tshark to hear what the patient hears (linphonec, the interactive
 *   client, can write it to a WAV with `soundcard use files` and `record`: tried, 7 s of the 1000 Hz
 *   hold music; it reads its commands from standard input, which ManagedProcess does not open, and
 *   answers them in free text, where the daemon answers "Status: Ok" and queues events);
 * - the daemon's socket takes one client at a time, and its `call-stats` command crashes it.
 *
 * `lateOffer` sets `[sip] sdp_200_ack=1`: the INVITE carries no SDP, linphone takes the offer from the
 * 200 and answers it in the ACK, as the PBXs and carriers that send late offers do.
 */
import { randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import nodePath from 'node:path';
import { freePort } from '@deskline/scripts/free-port';
import { ManagedProcess, lastLines } from '@deskline/scripts/managed-process';
import { killOnExit } from './kill-on-exit.js';
import { waitFor } from './wait.js';

export interface LinphoneOptions {
  /** A directory of the test's own: the config, the log and linphone's databases go there. */
  work: string;
  /** The caller's number, the user part of its From. */
  number: string;
  /** INVITE without SDP; the offer comes in the 200 and the answer goes in the ACK. */
  lateOffer: boolean;
  /** How long linphone may take to open its control socket. Default 20 s (a loaded machine). */
  startTimeoutMs?: number;
}

/** A SIP message as linphone's log shows it, sent or received. */
export interface LoggedSipMessage {
  direction: 'sent' | 'received';
  /** The start line, e.g. "INVITE sip:100@127.0.0.1:5060 SIP/2.0" or "SIP/2.0 200 OK". */
  startLine: string;
  text: string;
  /** What follows the blank line after the headers. */
  body: string;
}

/** The call states linphone reports (`LinphoneCall…` in its events). */
export type LinphoneCallState =
  | 'OutgoingInit'
  | 'OutgoingProgress'
  | 'OutgoingRinging'
  | 'Connected'
  | 'StreamsRunning'
  | 'End'
  | 'Error'
  | 'Released';

/** A UDP port whose next one (linphone's RTCP) is free too. */
async function freeRtpPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort('127.0.0.1', ['udp']);
    if (port >= 65535) continue;
    const rtcpFree = await new Promise<boolean>((resolve) => {
      const socket = dgram.createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port + 1, '127.0.0.1', () => socket.close(() => resolve(true)));
    });
    if (rtcpFree) return port;
  }
  throw new Error("found no pair of free UDP ports for linphone's RTP and RTCP");
}

export class LinphonePhone {
  private buffer = '';
  private readonly responses: string[] = [];
  private readonly states: LinphoneCallState[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly process: ManagedProcess,
    private readonly socket: net.Socket,
    private readonly logFile: string,
    /** The UDP port its RTP arrives at: capture it to hear what the patient hears. */
    readonly rtpPort: number,
    readonly sipPort: number,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.receive(chunk));
  }

  static async start(options: LinphoneOptions): Promise<LinphonePhone> {
    const sipPort = await freePort('127.0.0.1', ['udp']);
    const rtpPort = await freeRtpPort();
    const config = nodePath.join(options.work, 'linphonerc');
    const logFile = nodePath.join(options.work, 'linphone.log');
    writeFileSync(
      config,
      [
        '[sip]',
        `sip_port=${sipPort}`,
        'sip_tcp_port=0',
        'sip_tls_port=0',
        `sdp_200_ack=${options.lateOffer ? 1 : 0}`,
        'ipv6_migration_done=1',
        'use_ipv6=0',
        'guess_hostname=0',
        `contact="Patient" <sip:${options.number}@127.0.0.1>`,
        '[rtp]',
        `audio_rtp_port=${rtpPort}`,
        'bind_address=127.0.0.1',
        '[sound]',
        'echocancellation=0',
        '[video]',
        'capture=0',
        'display=0',
        'automatically_initiate=0',
        'automatically_accept=0',
        '[storage]',
        `uri=${nodePath.join(options.work, 'linphone.db')}`,
        '',
      ].join('\n'),
    );
    // The daemon makes its socket /tmp/<name>; the name is the test's own.
    const pipeName = `deskline-linphone-${randomUUID()}`;
    const proc = killOnExit(
      ManagedProcess.start({
        name: 'linphone',
        command: 'linphone-daemon',
        installHint: 'apt-get install linphone-cli',
        args: ['--pipe', pipeName, '--disable-stats-events', '--config', config, '--log', logFile],
        env: { ...process.env, HOME: options.work },
      }),
    );
    const socketPath = nodePath.join(os.tmpdir(), pipeName);
    try {
      const socket = await waitFor(
        "linphone's control socket",
        async () => {
          if (!proc.running) throw new Error(`linphone-daemon exited during start.${lastLines(proc)}`);
          return new Promise<net.Socket | undefined>((resolve) => {
            const socket = net.connect(socketPath);
            socket.once('connect', () => resolve(socket));
            socket.once('error', () => resolve(undefined));
          });
        },
        options.startTimeoutMs ?? 20_000,
      );
      return new LinphonePhone(proc, socket, logFile, rtpPort, sipPort);
    } catch (error) {
      await proc.stop(2000);
      throw error;
    }
  }

  /**
   * Every response starts with "Status: " and carries no end marker: one is whole when the next one
   * starts. So each command is followed by `version`, whose own answer is only that marker. The
   * daemon reads one command per read of its socket, so `version` goes once the answer has begun.
   */
  private receive(chunk: string): void {
    this.buffer += chunk;
    const parts = this.buffer.split(/^(?=Status: )/m);
    this.buffer = parts.pop() ?? '';
    for (const part of parts) if (part.startsWith('Status: ') && !/^Version:/m.test(part)) this.responses.push(part);
  }

  /** Sends one command and returns its response. */
  command(line: string, timeoutMs = 10_000): Promise<string> {
    const run = async (): Promise<string> => {
      // What is left is the previous command's `version` answer.
      this.buffer = '';
      const before = this.responses.length;
      const answered = (): boolean => {
        if (!this.process.running)
          throw new Error(`linphone-daemon exited (sent "${line}").${lastLines(this.process)}`);
        return this.responses.length > before || /^Status: /m.test(this.buffer);
      };
      this.socket.write(`${line}\n`);
      await waitFor(`linphone's answer to "${line}"`, answered, timeoutMs);
      this.socket.write('version\n');
      await waitFor(
        `the end of linphone's answer to "${line}"`,
        () => answered() && this.responses.length > before,
        timeoutMs,
      );
      return this.responses.splice(before, 1)[0] ?? '';
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async ok(line: string): Promise<string> {
    const response = await this.command(line);
    if (!/^Status: Ok/.test(response)) throw new Error(`linphone refused "${line}": ${response.trim()}`);
    return response;
  }

  /** Dials `uri` (e.g. sip:100@127.0.0.1:5060). */
  async call(uri: string): Promise<void> {
    await this.ok(`call ${uri}`);
  }

  /** Plays a WAV file (16-bit mono) into the call: the patient's voice. */
  async play(file: string): Promise<void> {
    await this.ok(`incall-player-start ${file}`);
  }

  /** Hangs up (BYE, or CANCEL before an answer). */
  async hangUp(): Promise<void> {
    await this.ok('terminate');
  }

  /** Takes linphone's queued events, keeping the call states it reports. */
  private async drainEvents(): Promise<void> {
    for (;;) {
      const response = await this.ok('pop-event');
      const state = /^Event: LinphoneCall(\w+)$/m.exec(response)?.[1];
      if (state) this.states.push(state as LinphoneCallState);
      if (!/^Event-type:/m.test(response)) return;
    }
  }

  /** Waits until the call has reached `state`; fails early if it ended in an error instead. */
  async waitForState(state: LinphoneCallState, timeoutMs: number): Promise<void> {
    await waitFor(
      `linphone's call to reach ${state}`,
      async () => {
        await this.drainEvents();
        if (this.states.includes(state)) return true;
        if (this.states.includes('Error'))
          throw new Error(
            `linphone's call failed (states: ${this.states.join(' → ')}); its SIP: ${this.sipMessages()
              .map((m) => `${m.direction} ${m.startLine}`)
              .join(', ')}`,
          );
        return false;
      },
      timeoutMs,
    );
  }

  /** The call states reported so far, in order. */
  get callStates(): readonly LinphoneCallState[] {
    return this.states;
  }

  /** The SIP messages linphone sent and received, from its log. */
  sipMessages(): LoggedSipMessage[] {
    const lines = readFileSync(this.logFile, 'utf8').split('\n');
    const messages: LoggedSipMessage[] = [];
    const timestamped = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3} /;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] ?? '';
      const direction = /message sent to \[/.test(line)
        ? 'sent'
        : /received \[\d+\] new bytes from \[/.test(line)
          ? 'received'
          : undefined;
      if (!direction || !timestamped.test(line)) continue;
      const text: string[] = [];
      for (i++; i < lines.length && !timestamped.test(lines[i] ?? ''); i++) text.push(lines[i] ?? '');
      i--;
      const whole = text.join('\n').replace(/\r/g, '');
      const startLine = text[0]?.trim() ?? '';
      if (!/^(?:[A-Z]+ sip:|SIP\/2\.0 )/.test(startLine)) continue;
      const blank = whole.indexOf('\n\n');
      messages.push({ direction, startLine, text: whole, body: blank < 0 ? '' : whole.slice(blank + 2).trim() });
    }
    return messages;
  }

  async stop(): Promise<void> {
    this.socket.destroy();
    await this.process.stop(3000);
  }
}
