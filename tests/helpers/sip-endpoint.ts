/**
 * A SIP peer played by a test: it sends requests and responses it builds itself, keeps everything
 * it receives, and lets the test wait for a message with a bounded timeout. UDP (a phone, a trunk,
 * an attacker) and TCP (the sip app's one connection, with ;alias) are here; WebSocket (a browser)
 * is in sip-ws.ts.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import {
  buildResponse,
  cseq,
  header,
  newBranch,
  parseSipMessage,
  randomToken,
  serialize,
  type SipMessage,
} from './sip-message.js';
import { Recorder } from './recorder.js';

export interface RequestOptions {
  method: string;
  uri: string;
  /** From and To URIs. */
  from: string;
  to: string;
  callId?: string;
  fromTag?: string;
  toTag?: string;
  cseq?: number;
  /** Route headers, in order. */
  routes?: string[];
  /** Contact URI; none when undefined. */
  contact?: string;
  headers?: [string, string][];
  body?: string;
}

export interface SentRequest {
  method: string;
  callId: string;
  fromTag: string;
  cseq: number;
  branch: string;
  raw: string;
}

export abstract class SipEndpoint {
  private readonly recorder = new Recorder<SipMessage>(
    'SIP endpoint',
    (received) => `\n${received.map((m) => `  ${m.startLine} (${header(m, 'cseq') ?? ''})`).join('\n')}`,
  );
  private readonly taken = new Set<SipMessage>();
  /** Requests answered as they arrive, by method: what a phone does without anyone deciding. */
  private readonly automatic = new Map<string, (request: SipMessage) => { status: number; reason: string }>();

  /** "UDP", "TCP" or "WS", as in a Via. */
  abstract readonly transport: string;
  /** The Via header value for a request sent with `branch`. */
  abstract via(branch: string): string;
  abstract sendRaw(data: string | Buffer): void;
  abstract close(): Promise<void>;

  protected deliver(raw: string): void {
    if (raw.trim() === '') return;
    const message = parseSipMessage(raw);
    const answer = message.method ? this.automatic.get(message.method)?.(message) : undefined;
    if (answer) this.taken.add(message);
    this.recorder.add(message);
    if (answer) this.respond(message, answer.status, answer.reason);
  }

  /** Everything received, in order. */
  get received(): readonly SipMessage[] {
    return this.recorder.items;
  }

  /** Answers every `method` request that arrives from now on with `status`; a wait never returns them. */
  answerAutomatically(method: string, status: number, reason: string): void {
    this.automatic.set(method, () => ({ status, reason }));
  }

  /** Answers every `method` request that arrives from now on as `decide` says for it; a wait never returns them. */
  answerAutomaticallyBy(method: string, decide: (request: SipMessage) => { status: number; reason: string }): void {
    this.automatic.set(method, decide);
  }

  /** Stops answering `method` by itself: such requests arrive and go unanswered (a phone that has gone). */
  stopAnsweringAutomatically(method: string): void {
    this.automatic.delete(method);
  }

  /**
   * Resolves with the first message matching `predicate` that no earlier wait returned, looking at
   * what already arrived and then at what arrives; fails after `timeoutMs` naming `what`.
   */
  waitFor(predicate: (m: SipMessage) => boolean, what: string, timeoutMs = 5000): Promise<SipMessage> {
    return this.recorder.waitUntil(
      what,
      (received) => {
        const found = received.find((m) => !this.taken.has(m) && predicate(m));
        if (found) this.taken.add(found);
        return found;
      },
      timeoutMs,
    );
  }

  /** The next request with `method` (and the Call-ID, when given). */
  waitForRequest(method: string, callId?: string, timeoutMs = 5000): Promise<SipMessage> {
    return this.waitFor(
      (m) => m.method === method && (callId === undefined || header(m, 'call-id') === callId),
      `a ${method} request${callId ? ` in call ${callId}` : ''}`,
      timeoutMs,
    );
  }

  /** The final (>= 200) response to `sent`. */
  finalResponse(sent: SentRequest, timeoutMs = 5000): Promise<SipMessage> {
    return this.waitFor(
      (m) =>
        m.status !== undefined &&
        m.status >= 200 &&
        header(m, 'call-id') === sent.callId &&
        cseq(m).number === sent.cseq &&
        cseq(m).method === sent.method,
      `the final response to ${sent.method} (CSeq ${sent.cseq}, Call-ID ${sent.callId})`,
      timeoutMs,
    );
  }

  sendRequest(options: RequestOptions): SentRequest {
    const branch = newBranch();
    const callId = options.callId ?? `${randomToken(10)}@deskline-test`;
    const fromTag = options.fromTag ?? randomToken(4);
    const number = options.cseq ?? 1;
    const list: [string, string][] = [
      ['Via', this.via(branch)],
      ['Max-Forwards', '70'],
      ...(options.routes ?? []).map((r): [string, string] => ['Route', r]),
      ['From', `<${options.from}>;tag=${fromTag}`],
      ['To', `<${options.to}>${options.toTag ? `;tag=${options.toTag}` : ''}`],
      ['Call-ID', callId],
      ['CSeq', `${number} ${options.method}`],
      ...(options.contact ? [['Contact', `<${options.contact}>`] as [string, string]] : []),
      ...(options.headers ?? []),
    ];
    const raw = serialize(`${options.method} ${options.uri} SIP/2.0`, list, options.body ?? '');
    this.sendRaw(raw);
    return { method: options.method, callId, fromTag, cseq: number, branch, raw };
  }

  /**
   * Sends `sent` again as RFC 3261's timers A and E do over UDP (after 0.5 s, then doubling, at most
   * 4 s apart) until any answer to it arrives or `timeoutMs` has passed: so a phone's INVITE or BYE
   * survives the moment its server is restarting.
   */
  retransmitUntilAnswered(sent: SentRequest, timeoutMs: number): void {
    const deadline = Date.now() + timeoutMs;
    const answered = (): boolean =>
      this.received.some(
        (m) =>
          m.status !== undefined &&
          header(m, 'call-id') === sent.callId &&
          cseq(m).number === sent.cseq &&
          cseq(m).method === sent.method,
      );
    const again = (interval: number): void => {
      setTimeout(() => {
        if (answered() || Date.now() >= deadline) return;
        this.sendRaw(sent.raw);
        again(Math.min(interval * 2, 4000));
      }, interval).unref();
    };
    again(500);
  }

  /** CANCEL of an INVITE this endpoint sent: same R-URI, Via branch, Call-ID, From, To and CSeq number. */
  sendCancel(invite: SentRequest): SentRequest {
    const original = parseSipMessage(invite.raw);
    const keep = new Set(['via', 'max-forwards', 'route', 'from', 'to', 'call-id']);
    const list = original.headers.filter(([n]) => keep.has(n.toLowerCase()));
    list.push(['CSeq', `${invite.cseq} CANCEL`]);
    const raw = serialize(`CANCEL ${original.uri ?? ''} SIP/2.0`, list);
    this.sendRaw(raw);
    return { ...invite, method: 'CANCEL', raw };
  }

  /** The ACK of a non-2xx final response to an INVITE this endpoint sent: same Via branch, the response's To (RFC 3261 17.1.1.3). */
  sendAckForFailure(invite: SentRequest, response: SipMessage): void {
    const original = parseSipMessage(invite.raw);
    const keep = new Set(['via', 'max-forwards', 'route', 'from', 'call-id']);
    const list = original.headers.filter(([n]) => keep.has(n.toLowerCase()));
    list.push(['To', header(response, 'to') ?? ''], ['CSeq', `${invite.cseq} ACK`]);
    this.sendRaw(serialize(`ACK ${original.uri ?? ''} SIP/2.0`, list));
  }

  respond(
    request: SipMessage,
    status: number,
    reason: string,
    options: Parameters<typeof buildResponse>[3] = {},
  ): void {
    this.sendRaw(buildResponse(request, status, reason, options));
  }
}

/** A SIP peer on a UDP socket bound to `localAddress` (127.0.0.2 is a different source than 127.0.0.1). */
export class SipUdpEndpoint extends SipEndpoint {
  readonly transport = 'UDP';
  private constructor(
    private readonly socket: dgram.Socket,
    readonly localAddress: string,
    readonly localPort: number,
    private readonly remoteHost: string,
    private readonly remotePort: number,
  ) {
    super();
    socket.on('message', (data) => this.deliver(data.toString('latin1')));
  }

  /**
   * An endpoint on a socket the test bound earlier: a port that had to be named before its peer
   * (OUTBOUND_TRUNK, given to Kamailio at its start) stays held from then on, not freed to be bound
   * again later, when another process on the machine may have taken it.
   */
  static adopt(socket: dgram.Socket, remoteHost: string, remotePort: number): SipUdpEndpoint {
    const { address, port } = socket.address();
    return new SipUdpEndpoint(socket, address, port, remoteHost, remotePort);
  }

  /** `localPort` 0: any free port. */
  static open(
    remoteHost: string,
    remotePort: number,
    localAddress = '127.0.0.1',
    localPort = 0,
  ): Promise<SipUdpEndpoint> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket('udp4');
      socket.once('error', reject);
      socket.bind(localPort, localAddress, () => {
        socket.off('error', reject);
        resolve(new SipUdpEndpoint(socket, localAddress, socket.address().port, remoteHost, remotePort));
      });
    });
  }

  via(branch: string): string {
    return `SIP/2.0/UDP ${this.localAddress}:${this.localPort};rport;branch=${branch}`;
  }

  sendRaw(data: string | Buffer): void {
    this.socket.send(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, this.remotePort, this.remoteHost);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/**
 * A SIP peer on one TCP connection from a fixed local port, as the sip app connects to Kamailio: its
 * Via carries ";alias" so that Kamailio sends requests for localAddress:localPort down this
 * connection.
 */
export class SipTcpEndpoint extends SipEndpoint {
  readonly transport = 'TCP';
  private buffer = Buffer.alloc(0);
  readonly closed: Promise<void>;

  private constructor(
    private readonly socket: net.Socket,
    readonly localAddress: string,
    readonly localPort: number,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.drain();
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /**
   * Connects from the fixed local port. The same four-tuple closed a moment ago by an earlier
   * endpoint may still be in TIME_WAIT (Linux reuses it on loopback only once it is 1 s old), which
   * fails with EADDRNOTAVAIL: retried for up to `retryMs`, as the sip app's own reconnect does.
   */
  static async connect(
    options: { host: string; port: number; localAddress: string; localPort: number },
    retryMs = 3_000,
  ): Promise<SipTcpEndpoint> {
    const deadline = Date.now() + retryMs;
    for (;;) {
      try {
        return await SipTcpEndpoint.connectOnce(options);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if ((code !== 'EADDRNOTAVAIL' && code !== 'EADDRINUSE') || Date.now() >= deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  private static connectOnce(options: {
    host: string;
    port: number;
    localAddress: string;
    localPort: number;
  }): Promise<SipTcpEndpoint> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({
        host: options.host,
        port: options.port,
        localAddress: options.localAddress,
        localPort: options.localPort,
      });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.on('error', () => undefined);
        resolve(new SipTcpEndpoint(socket, options.localAddress, options.localPort));
      });
    });
  }

  /** Splits the stream into messages by Content-Length; CRLF keep-alives between them are skipped. */
  private drain(): void {
    for (;;) {
      while (this.buffer.length >= 2 && this.buffer[0] === 0x0d && this.buffer[1] === 0x0a)
        this.buffer = this.buffer.subarray(2);
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buffer.subarray(0, end).toString('latin1');
      const length = Number(/^(?:content-length|l)\s*:\s*(\d+)/im.exec(head)?.[1] ?? 0);
      const total = end + 4 + length;
      if (this.buffer.length < total) return;
      const raw = this.buffer.subarray(0, total).toString('latin1');
      this.buffer = this.buffer.subarray(total);
      this.deliver(raw);
    }
  }

  via(branch: string): string {
    return `SIP/2.0/TCP ${this.localAddress}:${this.localPort};branch=${branch};alias`;
  }

  sendRaw(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /**
   * Closes as a stopping sip app does (FIN), and resolves once the peer has closed its side too (or
   * after 2 s): by then Kamailio has read the end of the connection, so a test's next step sees the
   * instance gone rather than racing Kamailio's own notice of it.
   */
  close(): Promise<void> {
    if (!this.socket.destroyed) {
      const peerDone = new Promise<void>((resolve) => {
        if (this.socket.readableEnded) resolve();
        this.socket.once('end', () => resolve());
        setTimeout(resolve, 2_000).unref();
      });
      this.socket.end();
      void peerDone.then(() => this.socket.destroy());
    }
    return this.closed;
  }
}
