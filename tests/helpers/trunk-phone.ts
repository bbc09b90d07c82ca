/**
 * The patient's phone behind the outbound trunk, played by the test over UDP at OUTBOUND_TRUNK: it
 * receives the sip app's callback INVITE (relayed by Kamailio) and rings, answers, is busy, or lets
 * it ring, at the moment the test chooses. Like a phone, it answers OPTIONS with 200 by itself.
 */
import { SipUdpEndpoint, type SentRequest } from './sip-endpoint.js';
import { header, headers, nameAddrUri, param, randomToken, type SipMessage } from './sip-message.js';

/** One INVITE the patient's phone received. */
export class TrunkCall {
  readonly tag = randomToken(4);
  /** Epoch ms when it arrived. */
  readonly at = Date.now();
  private answered = false;

  constructor(
    private readonly endpoint: SipUdpEndpoint,
    readonly invite: SipMessage,
  ) {}

  get callId(): string {
    return header(this.invite, 'call-id') ?? '';
  }

  /** The Request-URI's user part: the number being called. */
  get number(): string {
    return /^sips?:([^@;]+)@/.exec(this.invite.uri ?? '')?.[1] ?? '';
  }

  ring(): void {
    this.endpoint.respond(this.invite, 180, 'Ringing', {
      toTag: this.tag,
      headers: [['Contact', `<${this.contact}>`]],
    });
  }

  /** 200 OK with `sdp`; resolves with the ACK. */
  answer(sdp: string, timeoutMs = 5000): Promise<SipMessage> {
    this.answered = true;
    this.endpoint.respond(this.invite, 200, 'OK', {
      toTag: this.tag,
      headers: [
        ['Contact', `<${this.contact}>`],
        ['Content-Type', 'application/sdp'],
      ],
      body: sdp,
    });
    return this.endpoint.waitForRequest('ACK', this.callId, timeoutMs);
  }

  /** A final error response (486, 603 …); resolves with the hop-by-hop ACK. */
  refuse(status: number, reason: string, timeoutMs = 5000): Promise<SipMessage> {
    this.endpoint.respond(this.invite, status, reason, { toTag: this.tag });
    return this.endpoint.waitForRequest('ACK', this.callId, timeoutMs);
  }

  /** Waits for the CANCEL, answers it 200 and the INVITE 487; resolves with the CANCEL. */
  async waitForCancel(timeoutMs = 5000): Promise<SipMessage> {
    const cancel = await this.endpoint.waitForRequest('CANCEL', this.callId, timeoutMs);
    this.endpoint.respond(cancel, 200, 'OK', { toTag: this.tag });
    this.endpoint.respond(this.invite, 487, 'Request Terminated', { toTag: this.tag });
    return cancel;
  }

  /** Waits for the clinic's BYE and answers it 200. */
  async waitForBye(timeoutMs = 5000): Promise<SipMessage> {
    const bye = await this.endpoint.waitForRequest('BYE', this.callId, timeoutMs);
    this.endpoint.respond(bye, 200, 'OK');
    return bye;
  }

  /** The patient hangs up an answered call; resolves with the answer to the BYE. */
  hangUp(timeoutMs = 5000): Promise<SipMessage> {
    if (!this.answered) throw new Error('not answered');
    const bye: SentRequest = this.endpoint.sendRequest({
      method: 'BYE',
      uri: nameAddrUri(header(this.invite, 'contact') ?? ''),
      callId: this.callId,
      from: nameAddrUri(header(this.invite, 'to') ?? ''),
      fromTag: this.tag,
      to: nameAddrUri(header(this.invite, 'from') ?? ''),
      toTag: param(header(this.invite, 'from'), 'tag'),
      cseq: 1,
      // A UAS's route set is the INVITE's Record-Route, in order.
      routes: headers(this.invite, 'record-route')
        .flatMap((v) => v.split(/,(?=\s*<)/))
        .map((v) => v.trim()),
    });
    return this.endpoint.finalResponse(bye, timeoutMs);
  }

  private get contact(): string {
    return `sip:patient@127.0.0.1:${this.endpoint.localPort}`;
  }
}

export class TrunkPhone {
  private readonly seen = new Set<string>();

  private constructor(readonly endpoint: SipUdpEndpoint) {}

  /** Listens at 127.0.0.1:`port` (OUTBOUND_TRUNK) and answers towards Kamailio at `kamailioPort`. */
  static async open(kamailioPort: number, port: number): Promise<TrunkPhone> {
    const endpoint = await SipUdpEndpoint.open('127.0.0.1', kamailioPort, '127.0.0.1', port);
    endpoint.answerAutomatically('OPTIONS', 200, 'OK');
    return new TrunkPhone(endpoint);
  }

  /** The next new INVITE (retransmissions and re-INVITEs left out). */
  async nextCall(timeoutMs = 5000): Promise<TrunkCall> {
    const invite = await this.endpoint.waitFor(
      (m) => m.method === 'INVITE' && !param(header(m, 'to'), 'tag') && !this.seen.has(header(m, 'call-id') ?? ''),
      'a callback INVITE at the trunk',
      timeoutMs,
    );
    this.seen.add(header(invite, 'call-id') ?? '');
    return new TrunkCall(this.endpoint, invite);
  }

  /** The phone goes silent without a BYE: OPTIONS (the keepalives) arrive and are not answered any more. */
  stopAnsweringOptions(): void {
    this.endpoint.stopAnsweringAutomatically('OPTIONS');
  }

  /** The OPTIONS received in the dialog `callId` so far. */
  optionsIn(callId: string): number {
    return this.endpoint.received.filter((m) => m.method === 'OPTIONS' && header(m, 'call-id') === callId).length;
  }

  /** How many calls arrived so far. */
  get calls(): number {
    return new Set(
      this.endpoint.received
        .filter((m) => m.method === 'INVITE' && !param(header(m, 'to'), 'tag'))
        .map((m) => header(m, 'call-id')),
    ).size;
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }
}
