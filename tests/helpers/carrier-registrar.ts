/**
 * A carrier's registrar played by a test, over UDP: it challenges every REGISTER without credentials
 * with 401 and a digest challenge (MD5, qop=auth), checks the Authorization of the next one against
 * the password it was given, and answers 200 with the Contact and its expiry (or 403). Retransmissions
 * get the same answer again. Every REGISTER and its answer are kept for the test to inspect.
 */
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { buildResponse, header, parseSipMessage, type SipMessage } from './sip-message.js';
import { Recorder } from './recorder.js';

export interface CarrierAccount {
  realm: string;
  authUsername: string;
  password: string;
  /** The expiry granted in the 200. */
  expires: number;
}

export interface RegisterAttempt {
  request: SipMessage;
  /** The status it was answered with. */
  status: number;
  /** Milliseconds since the registrar opened. */
  at: number;
  /** The Authorization header's parameters, when it had one. */
  authorization?: Record<string, string>;
  /** Whether the digest response was the one the password gives. */
  digestValid?: boolean;
}

const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

/** The parameters of a `Digest a="b", c=d` header value. */
export function digestParams(value: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const m of value
    .replace(/^\s*Digest\s+/i, '')
    .matchAll(/([A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]+))/g)) {
    params[(m[1] ?? '').toLowerCase()] = m[2] ?? m[3] ?? '';
  }
  return params;
}

/** The digest response (RFC 2617) a client with `password` must send for `params`. */
export function expectedDigestResponse(method: string, params: Record<string, string>, password: string): string {
  const ha1 = md5(`${params['username'] ?? ''}:${params['realm'] ?? ''}:${password}`);
  const ha2 = md5(`${method}:${params['uri'] ?? ''}`);
  return params['qop']
    ? md5([ha1, params['nonce'], params['nc'], params['cnonce'], params['qop'], ha2].join(':'))
    : md5(`${ha1}:${params['nonce'] ?? ''}:${ha2}`);
}

export class CarrierRegistrar {
  private readonly recorder = new Recorder<RegisterAttempt>(
    'carrier registrar',
    (attempts) =>
      `\n${attempts.map((a) => `  ${a.at} ms: ${a.request.startLine} (${header(a.request, 'cseq') ?? ''}) -> ${a.status}`).join('\n')}`,
  );
  /** Every message received, REGISTER or not. */
  readonly received: SipMessage[] = [];
  private readonly answers = new Map<string, string>();
  private readonly nonces = new Set<string>();
  private readonly opened = Date.now();

  private constructor(
    private readonly socket: dgram.Socket,
    readonly host: string,
    readonly port: number,
    private readonly account: CarrierAccount,
  ) {
    socket.on('message', (data, from) => this.handle(data.toString('latin1'), from));
  }

  static open(account: CarrierAccount, host = '127.0.0.1'): Promise<CarrierRegistrar> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket('udp4');
      socket.once('error', reject);
      socket.bind(0, host, () => {
        socket.off('error', reject);
        resolve(new CarrierRegistrar(socket, host, socket.address().port, account));
      });
    });
  }

  private handle(raw: string, from: dgram.RemoteInfo): void {
    const request = parseSipMessage(raw);
    this.received.push(request);
    if (request.method === 'REGISTER') {
      const branch = /branch=([^;,\s]+)/i.exec(header(request, 'via') ?? '')?.[1] ?? '';
      let answer = this.answers.get(branch);
      if (answer === undefined) {
        answer = this.answer(request);
        this.answers.set(branch, answer);
      }
      this.socket.send(Buffer.from(answer, 'latin1'), from.port, from.address);
    }
  }

  private answer(request: SipMessage): string {
    const at = Date.now() - this.opened;
    const toTag = randomBytes(4).toString('hex');
    const authorization = header(request, 'authorization');
    if (!authorization) {
      const nonce = randomBytes(12).toString('hex');
      this.nonces.add(nonce);
      this.recorder.add({ request, status: 401, at });
      return buildResponse(request, 401, 'Unauthorized', {
        toTag,
        headers: [
          ['WWW-Authenticate', `Digest realm="${this.account.realm}", nonce="${nonce}", qop="auth", algorithm=MD5`],
        ],
      });
    }
    const params = digestParams(authorization);
    const digestValid =
      params['username'] === this.account.authUsername &&
      params['realm'] === this.account.realm &&
      this.nonces.delete(params['nonce'] ?? '') &&
      params['response'] === expectedDigestResponse('REGISTER', params, this.account.password);
    const status = digestValid ? 200 : 403;
    this.recorder.add({ request, status, at, authorization: params, digestValid });
    if (!digestValid) return buildResponse(request, 403, 'Forbidden', { toTag });
    const contact = header(request, 'contact') ?? '';
    return buildResponse(request, 200, 'OK', {
      toTag,
      headers: [
        ['Contact', `${contact.replace(/;expires=\d+/i, '')};expires=${this.account.expires}`],
        ['Expires', String(this.account.expires)],
      ],
    });
  }

  /** Resolves with the `index`-th REGISTER answered with `status` (0 = the first), waiting up to `timeoutMs`. */
  waitForAttempt(status: number, index: number, timeoutMs: number): Promise<RegisterAttempt> {
    return this.recorder.waitUntil(
      `REGISTER #${index + 1} answered ${status}`,
      (attempts) => attempts.filter((a) => a.status === status)[index],
      timeoutMs,
    );
  }

  /** Every REGISTER answered, in order. */
  get attempts(): readonly RegisterAttempt[] {
    return this.recorder.items;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
