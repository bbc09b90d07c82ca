/**
 * The patient's phone on the SIP side, played by the test over UDP through Kamailio, as a trunk
 * would send it: INVITE with a PCMU offer, ACK, and then BYE or waiting for the queue's BYE at the
 * moment the test chooses (sipp could only wait a fixed time). Like a phone, it answers the queue's
 * keepalive OPTIONS with 200 by itself (with `forgetsEndedCalls`, 481 in a call it hung up or was hung
 * up on, as a phone that no longer has the dialog does, RFC 3261 12.2.2), and notes when each arrived.
 */
import { SipUdpEndpoint, type RequestOptions, type SentRequest } from './sip-endpoint.js';
import { cseq, header, headers, nameAddrUri, param, type SipMessage } from './sip-message.js';

export const PATIENT_NUMBER = '+4915112345678';

/** The patient's SDP offer: plain RTP, PCMU and DTMF events, media at `rtpPort`. */
export function patientSdp(rtpPort: number): string {
  return [
    'v=0',
    'o=patient 53655765 2353687637 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${rtpPort} RTP/AVP 0 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-16',
    'a=sendrecv',
    '',
  ].join('\r\n');
}

/** One patient's call, once the sip app has answered it. */
export class PatientDialog {
  private nextCseq = 2;
  /** Hung up by either side. */
  private over = false;

  constructor(
    private readonly endpoint: SipUdpEndpoint,
    readonly invite: SentRequest,
    readonly ok: SipMessage,
    private readonly from: string,
    private readonly to: string,
    /** Send the BYE again until answered, as a phone over UDP does (PatientLine.open's `retransmit`). */
    private readonly retransmit = false,
    /** The line's calls that are over (PatientLine.open's `forgetsEndedCalls`). */
    private readonly ended = new Set<string>(),
  ) {}

  get callId(): string {
    return this.invite.callId;
  }

  /**
   * The queue's 200s to the INVITE with CSeq `inviteCseq` (default: the dialog's INVITE) received so
   * far: the first and its retransmissions, which go on until the queue has the ACK or the dialog ends.
   */
  invite200s(inviteCseq = this.invite.cseq): number {
    return this.endpoint.received.filter(
      (m) =>
        m.status === 200 &&
        header(m, 'call-id') === this.callId &&
        cseq(m).method === 'INVITE' &&
        cseq(m).number === inviteCseq,
    ).length;
  }

  /** The requests of `method` the queue sent in this call so far (the keepalive's OPTIONS, say). */
  requestsReceived(method: string): SipMessage[] {
    return this.endpoint.received.filter((m) => m.method === method && header(m, 'call-id') === this.callId);
  }

  /**
   * The patient's side drops the call without a word reaching us: the BYE lost on the way, the PBX
   * rebooted. With the line's `forgetsEndedCalls`, it answers the call's later requests 481.
   */
  vanish(): void {
    this.over = true;
    this.ended.add(this.callId);
  }

  /** The patient hangs up; resolves with the answer to the BYE. */
  async hangUp(timeoutMs = 5000): Promise<SipMessage> {
    this.over = true;
    this.ended.add(this.callId);
    const bye = this.sendInDialog('BYE', this.nextCseq++);
    if (this.retransmit) this.endpoint.retransmitUntilAnswered(bye, timeoutMs);
    return this.endpoint.finalResponse(bye, timeoutMs);
  }

  /** Sends a request in the dialog (an UPDATE, say) with `sdp` as its body; resolves with the final answer. */
  async request(method: string, sdp?: string, timeoutMs = 5000): Promise<SipMessage> {
    const sent = this.sendInDialog(method, this.nextCseq++, sdp);
    return this.endpoint.finalResponse(sent, timeoutMs);
  }

  /**
   * A re-INVITE (with `sdp`, or without a body) whose 200 is not ACKed yet; resolves with the 200 and
   * its CSeq, for `sendAck(…, cseq)` whenever the test chooses.
   */
  async reinviteWithoutAck(sdp?: string, timeoutMs = 5000): Promise<{ ok: SipMessage; cseq: number }> {
    const sent = this.sendInDialog('INVITE', this.nextCseq++, sdp);
    const ok = await this.endpoint.finalResponse(sent, timeoutMs);
    if (ok.status !== 200) throw new Error(`the re-INVITE was refused: ${ok.startLine}`);
    return { ok, cseq: sent.cseq };
  }

  /**
   * Sends `method` as this dialog would, with `changes` over it (another Call-ID, Request-URI or Route:
   * an attacker's forgery from inside a dialog of its own); resolves with the final answer.
   */
  async forge(method: string, changes: Partial<RequestOptions>, timeoutMs = 5000): Promise<SipMessage> {
    const sent = this.sendInDialog(method, this.nextCseq++, undefined, changes);
    return this.endpoint.finalResponse(sent, timeoutMs);
  }

  /** Waits for the queue to hang up, and answers its BYE with 200. */
  async waitForBye(timeoutMs = 5000): Promise<SipMessage> {
    const bye = await this.endpoint.waitForRequest('BYE', this.callId, timeoutMs);
    this.over = true;
    this.ended.add(this.callId);
    this.endpoint.respond(bye, 200, 'OK');
    return bye;
  }

  /** Hangs up unless the call is over already: for a test's cleanup after a failure. */
  async close(): Promise<void> {
    if (this.over) return;
    await this.hangUp().catch(() => undefined);
  }

  /**
   * The ACK to the 200 (of the INVITE, or of the re-INVITE with CSeq `inviteCseq`); with `sdp`, the
   * answer to an offer the 200 carried (a late offer).
   */
  sendAck(sdp?: string, inviteCseq = this.invite.cseq): void {
    this.sendInDialog('ACK', inviteCseq, sdp);
  }

  private sendInDialog(method: string, cseq: number, sdp?: string, changes: Partial<RequestOptions> = {}): SentRequest {
    return this.endpoint.sendRequest({
      method,
      ...(sdp !== undefined ? { headers: [['Content-Type', 'application/sdp']] as [string, string][], body: sdp } : {}),
      uri: nameAddrUri(header(this.ok, 'contact') ?? ''),
      from: this.from,
      to: this.to,
      callId: this.invite.callId,
      fromTag: this.invite.fromTag,
      toTag: param(header(this.ok, 'to'), 'tag'),
      cseq,
      // A target refresh request (re-INVITE, UPDATE) must carry a Contact (RFC 3261 §12.2.1.1): the INVITE's.
      ...(method === 'INVITE' || method === 'UPDATE'
        ? { contact: /^Contact: <([^>]+)>/im.exec(this.invite.raw)?.[1] }
        : {}),
      // A UAC's route set is the 2xx's Record-Route, last first.
      routes: headers(this.ok, 'record-route')
        .flatMap((v) => v.split(','))
        .map((v) => v.trim())
        .reverse(),
      ...changes,
    });
  }
}

/** A patient's INVITE not answered yet. */
export class PendingCall {
  constructor(
    private readonly endpoint: SipUdpEndpoint,
    readonly invite: SentRequest,
  ) {}

  /**
   * The patient hangs up: CANCEL; resolves with the answer to the CANCEL and the INVITE's final
   * answer (in whichever order they come: RFC 3261 does not order them), a non-2xx one ACKed.
   */
  async cancel(timeoutMs = 5000): Promise<{ cancelled: SipMessage; final: SipMessage }> {
    const cancel = this.endpoint.sendCancel(this.invite);
    const [cancelled, final] = await Promise.all([
      this.endpoint.finalResponse(cancel, timeoutMs),
      this.endpoint.finalResponse(this.invite, timeoutMs),
    ]);
    if (final.status !== undefined && final.status >= 300) this.endpoint.sendAckForFailure(this.invite, final);
    return { cancelled, final };
  }
}

/** The trunk side: one UDP socket towards Kamailio. */
export class PatientLine {
  /** Calls over at this line: with `forgetsEndedCalls`, their OPTIONS are answered 481. */
  private readonly ended = new Set<string>();
  /** Every OPTIONS the line received: its call and when it arrived (Date.now()). */
  readonly optionsArrivals: Array<{ callId: string; at: number }> = [];

  private constructor(
    private readonly endpoint: SipUdpEndpoint,
    private readonly kamailio: string,
    private readonly retransmit: boolean,
  ) {}

  /**
   * `retransmit`: INVITEs and BYEs are sent again until answered, as RFC 3261 has a phone do over UDP
   * (for a test that restarts Kamailio; off by default, so that other tests see each request once).
   * `forgetsEndedCalls`: an OPTIONS in a call that is over here is answered 481, not 200.
   */
  static async open(
    kamailioPort: number,
    options: { retransmit?: boolean; forgetsEndedCalls?: boolean } = {},
  ): Promise<PatientLine> {
    const endpoint = await SipUdpEndpoint.open('127.0.0.1', kamailioPort);
    const line = new PatientLine(endpoint, `127.0.0.1:${kamailioPort}`, options.retransmit ?? false);
    // A phone answers the sip app's keepalive (an in-dialog OPTIONS) by itself.
    endpoint.answerAutomaticallyBy('OPTIONS', (request) => {
      const callId = header(request, 'call-id') ?? '';
      line.optionsArrivals.push({ callId, at: Date.now() });
      return options.forgetsEndedCalls && line.ended.has(callId)
        ? { status: 481, reason: 'Call/Transaction Does Not Exist' }
        : { status: 200, reason: 'OK' };
    });
    return line;
  }

  /**
   * Calls `line` from `from` (default PATIENT_NUMBER) with media at `rtpPort`; resolves once answered
   * and ACKed. With `lateOffer`, as some PBXs and carriers do: the INVITE has no SDP, the 200 must
   * carry an offer, and the ACK answers it with the patient's PCMU description (or `ackAnswer`).
   * With `ack: false` the 200 is left unACKed: the test sends the ACK (`sendAck`) when it chooses, or never.
   */
  async call(options: {
    line: string;
    rtpPort: number;
    from?: string;
    timeoutMs?: number;
    lateOffer?: boolean;
    ackAnswer?: string;
    ack?: boolean;
  }): Promise<PatientDialog> {
    const invite = this.send(options);
    if (this.retransmit) this.endpoint.retransmitUntilAnswered(invite, options.timeoutMs ?? 5000);
    const ok = await this.endpoint.finalResponse(invite, options.timeoutMs ?? 5000);
    if (ok.status !== 200) throw new Error(`the patient's call was refused: ${ok.startLine}`);
    const dialog = new PatientDialog(
      this.endpoint,
      invite,
      ok,
      fromUri(options.from),
      this.toUri(options.line),
      this.retransmit,
      this.ended,
    );
    if (options.lateOffer && !/^m=audio /m.test(ok.body))
      throw new Error(`the 200 to a late offer carries no offer:\n${ok.raw}`);
    if (options.ack !== false)
      dialog.sendAck(options.lateOffer ? (options.ackAnswer ?? patientSdp(options.rtpPort)) : undefined);
    return dialog;
  }

  /** Dials `line` and returns at once, for a patient who hangs up before the answer (`PendingCall.cancel`). */
  ring(options: { line: string; rtpPort: number; from?: string }): PendingCall {
    return new PendingCall(this.endpoint, this.send(options));
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }

  private send(options: { line: string; rtpPort: number; from?: string; lateOffer?: boolean }): SentRequest {
    return this.endpoint.sendRequest({
      method: 'INVITE',
      uri: this.toUri(options.line),
      from: fromUri(options.from),
      to: this.toUri(options.line),
      contact: `sip:${options.from ?? PATIENT_NUMBER}@127.0.0.1:${this.endpoint.localPort}`,
      ...(options.lateOffer
        ? {}
        : { headers: [['Content-Type', 'application/sdp']] as [string, string][], body: patientSdp(options.rtpPort) }),
    });
  }

  private toUri(line: string): string {
    return `sip:${line}@${this.kamailio}`;
  }
}

function fromUri(number = PATIENT_NUMBER): string {
  return `sip:${number}@127.0.0.1`;
}
