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
  static connect(
    url: string,
    timeoutMs = 5000,
    from: { localAddress?: string; headers?: Record<string, string> } = {},
  ): Promise<SipWsEndpoint> {
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

/**
 * A browser's SIP over WebSocket that survives the connection: like JsSIP, it connects again after a
 * randomised back-off (2 s × 1..2^attempt, capped at 30 s: JsSIP's connection_recovery defaults) when
 * the socket drops (a Kamailio restart), keeps its Via host and everything it received, and calls
 * `onConnected` after each new connection, where the user agent registers again. `connected` says
 * whether a socket is open now; a request sent while none is, is lost, as JsSIP's would be.
 */
export class ReconnectingSipWsEndpoint extends SipEndpoint {
  readonly transport = 'WS';
  readonly viaHost = `${randomToken(5)}.invalid`;
  /** How many times the connection dropped and came back. */
  reconnects = 0;
  onConnected: () => Promise<void> | void = () => undefined;
  private socket: WebSocket | undefined;
  private stopped = false;
  private attempts = 0;
  private timer: NodeJS.Timeout | undefined;

  private constructor(private readonly url: string) {
    super();
  }

  /** Connects once (failing if that fails); from then on it reconnects by itself until closed. */
  static async connect(url: string, timeoutMs = 5000): Promise<ReconnectingSipWsEndpoint> {
    const endpoint = new ReconnectingSipWsEndpoint(url);
    endpoint.adopt(await ReconnectingSipWsEndpoint.open(url, timeoutMs));
    return endpoint;
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  contact(user: string): string {
    return `sip:${user}-${randomToken(3)}@${this.viaHost};transport=ws`;
  }

  via(branch: string): string {
    return `SIP/2.0/WS ${this.viaHost};branch=${branch}`;
  }

  sendRaw(data: string | Buffer): void {
    if (this.connected) this.socket?.send(typeof data === 'string' ? data : data.toString('utf8'));
  }

  close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once('close', () => resolve());
      socket.close(1000);
    });
  }

  private static open(url: string, timeoutMs: number): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, 'sip', { handshakeTimeout: timeoutMs });
      socket.once('error', reject);
      socket.once('open', () => {
        socket.off('error', reject);
        socket.on('error', () => undefined);
        resolve(socket);
      });
    });
  }

  private adopt(socket: WebSocket): void {
    this.socket = socket;
    socket.on('message', (data: Buffer) => this.deliver(data.toString('utf8')));
    socket.once('close', () => this.retry());
  }

  private retry(): void {
    if (this.stopped) return;
    const delay = Math.min(30_000, 2_000 * Math.floor(Math.random() * 2 ** this.attempts + 1));
    this.attempts += 1;
    this.timer = setTimeout(() => {
      ReconnectingSipWsEndpoint.open(this.url, 5000).then(
        (socket) => {
          if (this.stopped) {
            socket.close(1000);
            return;
          }
          this.attempts = 0;
          this.reconnects += 1;
          this.adopt(socket);
          void Promise.resolve()
            .then(() => this.onConnected())
            .catch(() => undefined);
        },
        () => this.retry(),
      );
    }, delay);
  }
}
