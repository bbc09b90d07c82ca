import dgram from 'node:dgram';
import { decode, toText } from '@deskline/sip/media/bencode';

/**
 * A UDP relay between the sip app and rtpengine that can hold back one kind of ng command, so a
 * test can act (a CANCEL) while the sip app waits for rtpengine.
 */
export class NgGate {
  private held: Buffer[] = [];
  private holding: string | undefined;
  private app: dgram.RemoteInfo | undefined;
  /** Every command the sip app sent, in order (retransmissions included). */
  readonly commands: string[] = [];

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly rtpenginePort: number,
  ) {
    socket.on('message', (data, from) => {
      if (from.port === rtpenginePort) {
        if (this.app) socket.send(data, this.app.port, this.app.address);
        return;
      }
      this.app = from;
      const command = commandOf(data);
      this.commands.push(command);
      if (command === this.holding) this.held.push(data);
      else socket.send(data, rtpenginePort, '127.0.0.1');
    });
  }

  static async open(rtpenginePort: number): Promise<NgGate> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    return new NgGate(socket, rtpenginePort);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Holds every request with this command until `release()`. */
  hold(command: string): void {
    this.holding = command;
  }

  /** Sends what was held, in order, and stops holding. */
  release(): void {
    this.holding = undefined;
    for (const data of this.held) this.socket.send(data, this.rtpenginePort, '127.0.0.1');
    this.held = [];
  }

  close(): void {
    this.socket.close();
  }
}

function commandOf(datagram: Buffer): string {
  try {
    const value = toText(decode(datagram.subarray(datagram.indexOf(0x20) + 1)));
    return typeof value === 'object' && !Array.isArray(value) && typeof value['command'] === 'string'
      ? value['command']
      : '?';
  } catch {
    return '?';
  }
}
