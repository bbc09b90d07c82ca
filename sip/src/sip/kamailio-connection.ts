import net from 'node:net';
import type { Logger } from 'pino';
import { FramingError, SipStreamFramer } from './stream-framer.js';

export interface KamailioConnectionOptions {
  /** Kamailio's address and TCP port. */
  host: string;
  port: number;
  /** Our end. Kamailio sends requests for the sip app back through this connection (Via `;alias`). */
  localHost: string;
  localPort: number;
  logger: Logger;
  /** First wait before reconnecting; doubles after each failure up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A double-CRLF keep-alive (RFC 5626) is sent this often, so that Kamailio keeps an idle connection. */
  keepAliveMs?: number;
}

export interface ConnectionEvents {
  /** Connected (again): time to make ourselves known with an OPTIONS. */
  onConnected(): void;
  /** One complete SIP message, as text. */
  onMessage(message: string): void;
}

const CONNECT_TIMEOUT_MS = 5_000;

/**
 * The sip app's one TCP connection to Kamailio. It always connects from the same local port, since
 * that port is the address Kamailio knows us by, and it reconnects with backoff until stopped.
 */
export class KamailioConnection {
  private socket: net.Socket | undefined;
  private connected = false;
  private connectedAt = 0;
  private stopped = true;
  private backoffMs: number;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private failuresInARow = 0;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly keepAliveMs: number;

  constructor(
    private readonly options: KamailioConnectionOptions,
    private readonly events: ConnectionEvents,
  ) {
    this.initialBackoffMs = options.initialBackoffMs ?? 100;
    // Short: Kamailio is on this machine or next to it, and until the connection is back a patient's
    // BYE through the restarted Kamailio gets 503 (no sip app connected).
    this.maxBackoffMs = options.maxBackoffMs ?? 1_000;
    this.keepAliveMs = options.keepAliveMs ?? 20_000;
    this.backoffMs = this.initialBackoffMs;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** How long the current connection has been up (ms); 0 while there is none. */
  get connectedForMs(): number {
    return this.connected ? Date.now() - this.connectedAt : 0;
  }

  /** Kamailio's address as this end sees it, for checking where a message came from. */
  get remote(): { host: string; port: number } {
    return { host: this.options.host, port: this.options.port };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  send(message: string): Promise<void> {
    const socket = this.socket;
    if (!socket || !this.connected) return Promise.reject(new Error('not connected to Kamailio'));
    return new Promise((resolve, reject) => {
      socket.write(message, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Closes the connection (after what was written has been sent) and stops reconnecting. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.keepAliveTimer);
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => socket.destroy(), 2_000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.end();
    });
  }

  private connect(): void {
    const { host, port, localHost, localPort, logger } = this.options;
    const socket = net.connect({ host, port, localAddress: localHost, localPort });
    this.socket = socket;
    const framer = new SipStreamFramer();
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)));
    socket.once('connect', () => {
      socket.setTimeout(0);
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 10_000);
      this.connected = true;
      this.connectedAt = Date.now();
      this.failuresInARow = 0;
      this.backoffMs = this.initialBackoffMs;
      logger.info({ kamailio: `${host}:${port}`, local: `${localHost}:${localPort}` }, 'connected to Kamailio');
      this.keepAliveTimer = setInterval(() => socket.write('\r\n\r\n'), this.keepAliveMs);
      this.keepAliveTimer.unref();
      this.events.onConnected();
    });
    socket.on('data', (chunk: Buffer) => {
      let messages: string[];
      try {
        messages = framer.push(chunk);
      } catch (err) {
        // The stream has lost its message boundaries; only a new connection recovers them.
        const reason = err instanceof FramingError ? err.message : String(err);
        logger.warn({ err: reason }, 'unreadable data from Kamailio; reconnecting');
        socket.destroy();
        return;
      }
      for (const message of messages) this.events.onMessage(message);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.failuresInARow += 1;
      const detail = {
        err: err.message,
        code: err.code,
        kamailio: `${host}:${port}`,
        local: `${localHost}:${localPort}`,
      };
      // The first failure of a run is worth a warning; repeating it every backoff step is noise.
      if (this.failuresInARow === 1) logger.warn(detail, 'Kamailio connection failed');
      else logger.debug(detail, 'Kamailio connection failed again');
    });
    socket.once('close', () => {
      const wasConnected = this.connected;
      this.connected = false;
      clearInterval(this.keepAliveTimer);
      if (this.socket === socket) this.socket = undefined;
      if (this.stopped) return;
      if (wasConnected) logger.warn('lost the connection to Kamailio; reconnecting');
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    // Jitter keeps several app instances from reconnecting in step after Kamailio restarts.
    const delay = Math.round(this.backoffMs * (0.8 + Math.random() * 0.4));
    this.backoffMs = Math.min(this.backoffMs * 2, this.maxBackoffMs);
    this.reconnectTimer = setTimeout(() => {
      if (!this.stopped) this.connect();
    }, delay);
  }
}
