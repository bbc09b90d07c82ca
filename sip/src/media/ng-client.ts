import dgram from 'node:dgram';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { decode, encode, toText, type EncodableDict, type TextValue } from './bencode.js';

export interface NgClientOptions {
  host: string;
  port: number;
  logger: Logger;
  /** How long to wait for each reply before sending the request again. */
  timeoutMs?: number;
  /** How many times a request is sent before it fails. */
  attempts?: number;
}

/** A reply whose `result` was `ok` (or `pong`), with its byte strings read as text. */
export type NgReply = { result: string } & { [key: string]: TextValue };

/** rtpengine answered `error`, or did not answer at all. */
export class NgError extends Error {
  override name = 'NgError';
  constructor(
    readonly command: string,
    readonly reason: string,
    readonly timedOut = false,
  ) {
    super(`rtpengine ${command}: ${reason}`);
  }
}

interface Pending {
  command: string;
  resolve(reply: NgReply): void;
  reject(err: Error): void;
}

const DEFAULT_TIMEOUT_MS = 1000;
const DEFAULT_ATTEMPTS = 3;

/**
 * The ng control protocol over UDP: "<cookie> <bencoded dict>" each way. A lost datagram is sent
 * again with the same cookie, which rtpengine recognises and answers from its cache instead of
 * running the command twice.
 */
export class NgClient {
  private readonly pending = new Map<string, Pending>();
  private readonly cookiePrefix = randomBytes(6).toString('hex');
  private counter = 0;
  private closed = false;

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly options: Required<Omit<NgClientOptions, 'logger'>> & { logger: Logger },
  ) {
    socket.on('message', (data) => this.receive(data));
    // Sending to a closed port makes the kernel report ICMP errors here; requests time out instead.
    socket.on('error', (err) => this.options.logger.warn({ err }, 'rtpengine control socket error'));
  }

  static async open(options: NgClientOptions): Promise<NgClient> {
    const socket = dgram.createSocket(net.isIPv6(options.host) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new NgClient(socket, {
      host: options.host,
      port: options.port,
      logger: options.logger,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      attempts: options.attempts ?? DEFAULT_ATTEMPTS,
    });
  }

  /**
   * Sends one command; resolves with the reply, rejects with NgError on `error` or silence. `retry`
   * overrides the client's attempts and per-attempt wait for this request (a health probe asks once).
   */
  request(
    command: string,
    params: EncodableDict = {},
    retry: { attempts?: number; timeoutMs?: number } = {},
  ): Promise<NgReply> {
    if (this.closed) return Promise.reject(new NgError(command, 'the control client is closed'));
    const cookie = `${this.cookiePrefix}_${(this.counter += 1)}`;
    const datagram = Buffer.concat([Buffer.from(`${cookie} `), encode({ ...params, command })]);
    const attempts = retry.attempts ?? this.options.attempts;
    const timeoutMs = retry.timeoutMs ?? this.options.timeoutMs;
    return new Promise<NgReply>((resolve, reject) => {
      let attempt = 0;
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        clearTimeout(timer);
        this.pending.delete(cookie);
      };
      const send = (): void => {
        attempt += 1;
        this.socket.send(datagram, this.options.port, this.options.host, (err) => {
          if (err) this.options.logger.warn({ err, command }, 'could not send to rtpengine');
        });
        timer = setTimeout(() => {
          if (attempt < attempts) {
            this.options.logger.debug({ command, cookie, attempt }, 'no reply from rtpengine yet; sending again');
            send();
            return;
          }
          finish();
          const waited = attempts * timeoutMs;
          reject(
            new NgError(command, `no reply from ${this.options.host}:${this.options.port} within ${waited} ms`, true),
          );
        }, timeoutMs);
      };
      this.pending.set(cookie, {
        command,
        resolve: (reply) => {
          finish();
          resolve(reply);
        },
        reject: (err) => {
          finish();
          reject(err);
        },
      });
      send();
    });
  }

  private receive(data: Buffer): void {
    const space = data.indexOf(0x20);
    if (space <= 0) {
      this.options.logger.warn({ bytes: data.length }, 'dropped a reply from rtpengine without a cookie');
      return;
    }
    const cookie = data.toString('latin1', 0, space);
    const pending = this.pending.get(cookie);
    // A reply to a request that already timed out, or to a retransmission already answered.
    if (!pending) return;
    let reply: TextValue;
    try {
      reply = toText(decode(data.subarray(space + 1)));
    } catch (err) {
      pending.reject(new NgError(pending.command, `unreadable reply: ${(err as Error).message}`));
      return;
    }
    if (typeof reply !== 'object' || Array.isArray(reply) || typeof reply['result'] !== 'string') {
      pending.reject(new NgError(pending.command, 'reply without a result'));
      return;
    }
    const result = reply['result'];
    if (result === 'error') {
      const reason = reply['error-reason'];
      pending.reject(new NgError(pending.command, typeof reason === 'string' ? reason : 'error without a reason'));
      return;
    }
    pending.resolve(reply as NgReply);
  }

  /** Fails what is still waiting and closes the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const pending of this.pending.values())
      pending.reject(new NgError(pending.command, 'the control client closed'));
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
