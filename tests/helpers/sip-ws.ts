/**
 * A browser's SIP user agent, as far as Kamailio can tell: SIP over a WebSocket with the "sip"
 * sub-protocol, and Via/Contact hosts under .invalid, the way JsSIP writes them.
 */
import { WebSocket } from 'ws';
import { randomToken } from './sip-message.js';
import { SipEndpoint } from './sip-endpoint.js';

export class SipWsEndpoint extends SipEndpoint {
  readonly transport = 'WS';
  /** Like JsSIP: a random host that nobody can route to. */
  readonly viaHost = `${randomToken(5)}.invalid`;
  readonly closed: Promise<{ code: number }>;

  private constructor(private readonly socket: WebSocket) {
    super();
    socket.on('message', (data: Buffer) => this.deliver(data.toString('utf8')));
    this.closed = new Promise((resolve) => socket.once('close', (code: number) => resolve({ code })));
  }

  /** Opens ws://… with the sip sub-protocol; fails if the handshake is refused. */
  /**
   * `from.localAddress`: connect from it (another 127.0.0.0/8 address plays another client);
   * `from.headers`: extra headers of the handshake (X-Forwarded-For, as a reverse proxy sends it).
   */
  static connect(url: string, timeoutMs = 5000, from: { localAddress?: string; headers?: Record<string, string> } = {}): Promise<SipWsEndpoint> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, 'sip', { handshakeTimeout: timeoutMs, ...from });
      socket.once('error', reject);
      socket.once('open', () => {
        socket.off('error', reject);
        socket.on('error', () => undefined);
        resolve(new SipWsEndpoint(socket));
      });
    });
  }

  /** The Contact a JsSIP user agent registers. */
  contact(user: string): string {
    return `sip:${user}-${randomToken(3)}@${this.viaHost};transport=ws`;
  }

  via(branch: string): string {
    return `SIP/2.0/WS ${this.viaHost};branch=${branch}`;
  }

  sendRaw(data: string | Buffer): void {
    this.socket.send(typeof data === 'string' ? data : data.toString('utf8'));
  }

  /** A clean close, like a tab being closed. */
  close(): Promise<void> {
    this.socket.close(1000);
    return this.closed.then(() => undefined);
  }

  /** The connection vanishing without a close frame, like a crashed browser or a pulled cable. */
  terminate(): Promise<void> {
    this.socket.terminate();
    return this.closed.then(() => undefined);
  }
}
