/**
 * Rings a workstation the way the sip app does (docs/call-path.md): INVITE sip:<sipUser>@<domain>
 * over the sip app's one TCP connection to Kamailio, from SIP_APP_PORT with ";alias" in the Via, so
 * Kamailio relays it to the registered browser. The test drives the call step by step (CANCEL, ACK,
 * BYE) and waits for each answer, which a sipp scenario could only do with fixed pauses.
 */
import { SipTcpEndpoint } from './sip-endpoint.js';
import {
  cseq,
  header,
  headers,
  nameAddrUri,
  newBranch,
  param,
  randomToken,
  serialize,
  type SipMessage,
} from './sip-message.js';

export interface RingOptions {
  /** The SIP user to ring, e.g. ws-<workstationId>. */
  user: string;
  /** The patient's number, the user part of From. */
  from: string;
  /** A display name in From, as some trunks send. */
  fromName?: string;
  /** Extra headers of the INVITE. */
  headers?: [string, string][];
}

/** One INVITE to a workstation: its dialog as the calling side sees it. */
export class Ring {
  readonly callId = `${randomToken(10)}@sip-app.test`;
  readonly fromTag = randomToken(4);
  readonly branch = newBranch();
  readonly requestUri: string;
  private readonly fromHeader: string;
  private readonly toHeader: string;
  /** The browser's To tag, Contact and the route set, once it answered. */
  private dialog: { toTag: string; target: string; routes: string[] } | undefined;
  private nextCseq = 2;

  constructor(
    private readonly ringer: WorkstationRinger,
    readonly options: RingOptions,
  ) {
    this.requestUri = `sip:${options.user}@${ringer.domain}`;
    const name = options.fromName ? `"${options.fromName}" ` : '';
    this.fromHeader = `${name}<sip:${options.from}@${ringer.domain}>;tag=${this.fromTag}`;
    this.toHeader = `<${this.requestUri}>`;
  }

  /** Sends the INVITE, with an SDP offer or without one (a late offer: the browser offers in its 200). */
  invite(body = ''): this {
    this.ringer.endpoint.sendRaw(
      serialize(
        `INVITE ${this.requestUri} SIP/2.0`,
        [
          ['Via', this.ringer.endpoint.via(this.branch)],
          ['Max-Forwards', '70'],
          ['From', this.fromHeader],
          ['To', this.toHeader],
          ['Call-ID', this.callId],
          ['CSeq', '1 INVITE'],
          ['Contact', `<${this.ringer.contact}>`],
          ['Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS'],
          ...(this.options.headers ?? []),
          ...(body ? [['Content-Type', 'application/sdp'] as [string, string]] : []),
        ],
        body,
      ),
    );
    return this;
  }

  /** The next response to the INVITE with this status (e.g. 180), or the final one when omitted. */
  response(status?: number, timeoutMs = 5000): Promise<SipMessage> {
    return this.ringer.endpoint.waitFor(
      (m) =>
        m.status !== undefined &&
        header(m, 'call-id') === this.callId &&
        cseq(m).method === 'INVITE' &&
        (status === undefined ? m.status >= 200 : m.status === status),
      `${status ?? 'the final'} response to the INVITE of ${this.options.user}`,
      timeoutMs,
    );
  }

  /** The caller gives up while it rings: CANCEL, in the INVITE's transaction. */
  cancel(): void {
    this.ringer.endpoint.sendRaw(
      serialize(`CANCEL ${this.requestUri} SIP/2.0`, [
        ['Via', this.ringer.endpoint.via(this.branch)],
        ['Max-Forwards', '70'],
        ['From', this.fromHeader],
        ['To', this.toHeader],
        ['Call-ID', this.callId],
        ['CSeq', '1 CANCEL'],
      ]),
    );
  }

  /** ACK of a final response: hop by hop for a failure, in the dialog (with `sdp` for a late offer) for a 2xx. */
  ack(response: SipMessage, sdp?: string): void {
    const toTag = param(header(response, 'to'), 'tag') ?? '';
    if ((response.status ?? 0) >= 300) {
      this.ringer.endpoint.sendRaw(
        serialize(`ACK ${this.requestUri} SIP/2.0`, [
          ['Via', this.ringer.endpoint.via(this.branch)],
          ['Max-Forwards', '70'],
          ['From', this.fromHeader],
          ['To', `${this.toHeader};tag=${toTag}`],
          ['Call-ID', this.callId],
          ['CSeq', '1 ACK'],
        ]),
      );
      return;
    }
    this.dialog = {
      toTag,
      target: nameAddrUri(header(response, 'contact') ?? ''),
      // A UAC's route set is the 2xx's Record-Route, last first.
      routes: headers(response, 'record-route')
        .flatMap((v) => v.split(','))
        .map((v) => v.trim())
        .reverse(),
    };
    this.sendInDialog('ACK', 1, sdp);
  }

  /** The caller hangs up an answered call. */
  bye(): void {
    this.sendInDialog('BYE', this.nextCseq++);
  }

  /** The final response to our BYE. */
  byeResponse(timeoutMs = 5000): Promise<SipMessage> {
    return this.ringer.endpoint.waitFor(
      (m) =>
        m.status !== undefined && header(m, 'call-id') === this.callId && cseq(m).method === 'BYE' && m.status >= 200,
      `the response to the BYE of ${this.options.user}`,
      timeoutMs,
    );
  }

  /** Waits for the browser to hang up, and answers its BYE with 200. */
  async receiveBye(timeoutMs = 5000): Promise<SipMessage> {
    const bye = await this.ringer.endpoint.waitForRequest('BYE', this.callId, timeoutMs);
    this.ringer.endpoint.respond(bye, 200, 'OK');
    return bye;
  }

  /** The browser's To tag, once it answered. */
  get toTag(): string | undefined {
    return this.dialog?.toTag;
  }

  private sendInDialog(method: string, number: number, body = ''): void {
    const dialog = this.dialog;
    if (dialog === undefined) throw new Error(`${method} before the call was answered`);
    this.ringer.endpoint.sendRaw(
      serialize(
        `${method} ${dialog.target} SIP/2.0`,
        [
          ['Via', this.ringer.endpoint.via(newBranch())],
          ['Max-Forwards', '70'],
          ...dialog.routes.map((route): [string, string] => ['Route', route]),
          ['From', this.fromHeader],
          ['To', `${this.toHeader};tag=${dialog.toTag}`],
          ['Call-ID', this.callId],
          ['CSeq', `${number} ${method}`],
          ...(body ? [['Content-Type', 'application/sdp'] as [string, string]] : []),
        ],
        body,
      ),
    );
  }
}

/** The sip app's side of ringing workstations: one TCP connection to Kamailio from SIP_APP_PORT. */
export class WorkstationRinger {
  readonly contact: string;

  private constructor(
    readonly endpoint: SipTcpEndpoint,
    readonly domain: string,
  ) {
    this.contact = `sip:sip-app@${endpoint.localAddress}:${endpoint.localPort};transport=tcp`;
  }

  static async connect(kamailio: {
    host: string;
    sipPort: number;
    appHost: string;
    appPort: number;
    domain: string;
  }): Promise<WorkstationRinger> {
    const endpoint = await SipTcpEndpoint.connect({
      host: kamailio.host,
      port: kamailio.sipPort,
      localAddress: kamailio.appHost,
      localPort: kamailio.appPort,
    });
    return new WorkstationRinger(endpoint, kamailio.domain);
  }

  /** A call to a workstation, with its Call-ID and tag chosen; `invite()` sends it. */
  prepare(options: RingOptions): Ring {
    return new Ring(this, options);
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }
}
