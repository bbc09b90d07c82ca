/**
 * An agent's workstation as Kamailio sees it: a browser (SIP over WebSocket, registered as
 * ws-<workstationId> with the ephemeral credentials signaling would hand out), or a desk phone (SIP
 * over UDP, registered as its SIP user with its password, digest against the HA1 in Redis). The test
 * decides what it does with each INVITE (ring, answer, decline, let it ring out). Its media side is a
 * plain RTP endpoint (a PatientPhone sending a 600 Hz tone): rtpengine accepts a plain RTP answer to
 * its WebRTC offer, which lets these tests measure the audio in Node; the real browser's DTLS-SRTP
 * and Opus are proven by tests/e2e/sip/answer-two-way-audio.test.ts.
 */
import { browserSipUser } from '@deskline/protocol';
import type { TestKamailio } from './kamailio.js';
import { register } from './sip-register.js';
import { header, headers, nameAddrUri, param, randomToken, type SipMessage } from './sip-message.js';
import { SipUdpEndpoint, type SipEndpoint } from './sip-endpoint.js';
import { SipWsEndpoint } from './sip-ws.js';
import { PatientPhone } from './patient-phone.js';

/** The tone the agent's side sends, so that the patient can tell the agent from the hold music. */
export const AGENT_TONE_HZ = 600;

/** One INVITE that reached the workstation, and what the test does with it. */
export class IncomingRing {
  readonly toTag = randomToken(4);
  private nextCseq = 1;
  private media: PatientPhone | undefined;

  constructor(
    private readonly phone: AgentPhone,
    readonly invite: SipMessage,
    /** Epoch ms when it arrived. */
    readonly receivedAt: number,
  ) {}

  get callId(): string {
    return header(this.invite, 'call-id') ?? '';
  }

  /** The From header as the workstation shows the caller. */
  get from(): string {
    return header(this.invite, 'from') ?? '';
  }

  /** 180 Ringing, as a browser sends at once. */
  ringing(): void {
    this.respond(180, 'Ringing');
  }

  /** 200 OK with a plain RTP answer; resolves with the media endpoint once the ACK has arrived. */
  async answer(timeoutMs = 5000): Promise<PatientPhone> {
    this.media = await PatientPhone.open(AGENT_TONE_HZ);
    this.respond(200, 'OK', [['Content-Type', 'application/sdp']], answerSdp(this.media.port));
    await this.phone.endpoint.waitForRequest('ACK', this.callId, timeoutMs);
    return this.media;
  }

  /**
   * 200 OK with an answer of the caller's making, for a workstation whose media is not a plain RTP
   * endpoint of this helper's (bench/webrtc-agent.ts answers DTLS-SRTP through an rtpengine of its
   * own); `media` is closed with the ring. Resolves once the ACK has arrived.
   */
  async answerWith(sdp: string, media: PatientPhone, timeoutMs = 5000): Promise<void> {
    this.media = media;
    this.respond(200, 'OK', [['Content-Type', 'application/sdp']], sdp);
    await this.phone.endpoint.waitForRequest('ACK', this.callId, timeoutMs);
  }

  /**
   * Waits for a re-INVITE in the answered call and answers it 200 with `answerFor(offer)`, as JsSIP
   * does; resolves with the re-INVITE once its ACK has arrived.
   */
  async answerReinvite(answerFor: (offer: string) => Promise<string>, timeoutMs = 5000): Promise<SipMessage> {
    const reinvite = await this.phone.endpoint.waitFor(
      (m) => m.method === 'INVITE' && header(m, 'call-id') === this.callId && param(header(m, 'to'), 'tag') === this.toTag,
      `a re-INVITE in call ${this.callId}`,
      timeoutMs,
    );
    const sdp = await answerFor(reinvite.body);
    this.phone.endpoint.respond(reinvite, 200, 'OK', { toTag: this.toTag, headers: [['Contact', `<${this.phone.contact}>`], ['Content-Type', 'application/sdp']], body: sdp });
    await this.phone.endpoint.waitFor((m) => m.method === 'ACK' && header(m, 'call-id') === this.callId && header(m, 'cseq') === header(reinvite, 'cseq')?.replace('INVITE', 'ACK'), 'the ACK of the re-INVITE', timeoutMs);
    return reinvite;
  }

  /** Refuses the call with a final error (486 Busy Here, 603 Decline …). */
  decline(status: number, reason: string): void {
    this.respond(status, reason);
  }

  /** Waits for the CANCEL, answers it 200 and the INVITE 487, as a UA does. */
  async waitForCancel(timeoutMs = 5000): Promise<SipMessage> {
    const cancel = await this.phone.endpoint.waitForRequest('CANCEL', this.callId, timeoutMs);
    this.phone.endpoint.respond(cancel, 200, 'OK');
    this.respond(487, 'Request Terminated');
    return cancel;
  }

  /**
   * The agent answers just as the ring is CANCELled: the CANCEL gets its 200, and the INVITE a 200
   * instead of 487 (the answer crossed the CANCEL). Resolves with the ACK and the BYE that follow.
   */
  async answerAcrossCancel(timeoutMs = 5000): Promise<{ ack: SipMessage; bye: SipMessage }> {
    const cancel = await this.phone.endpoint.waitForRequest('CANCEL', this.callId, timeoutMs);
    this.phone.endpoint.respond(cancel, 200, 'OK');
    this.media = await PatientPhone.open(AGENT_TONE_HZ);
    this.respond(200, 'OK', [['Content-Type', 'application/sdp']], answerSdp(this.media.port));
    const ack = await this.phone.endpoint.waitForRequest('ACK', this.callId, timeoutMs);
    const bye = await this.waitForBye(timeoutMs);
    return { ack, bye };
  }

  /** The agent hangs up: BYE through the route set; resolves with its answer. */
  async hangUp(timeoutMs = 5000): Promise<SipMessage> {
    const bye = this.phone.endpoint.sendRequest({
      method: 'BYE',
      uri: nameAddrUri(header(this.invite, 'contact') ?? ''),
      from: nameAddrUri(header(this.invite, 'to') ?? ''),
      to: nameAddrUri(header(this.invite, 'from') ?? ''),
      callId: this.callId,
      fromTag: this.toTag,
      toTag: param(header(this.invite, 'from'), 'tag'),
      cseq: this.nextCseq++,
      // A UAS's route set is the request's Record-Route, in order.
      routes: headers(this.invite, 'record-route').flatMap((v) => v.split(',')).map((v) => v.trim()),
    });
    return this.phone.endpoint.finalResponse(bye, timeoutMs);
  }

  /** Waits for the B2BUA to hang up, and answers its BYE with 200. */
  async waitForBye(timeoutMs = 5000): Promise<SipMessage> {
    const bye = await this.phone.endpoint.waitForRequest('BYE', this.callId, timeoutMs);
    this.phone.endpoint.respond(bye, 200, 'OK');
    return bye;
  }

  close(): void {
    this.media?.close();
  }

  private respond(status: number, reason: string, extra: [string, string][] = [], body = ''): void {
    this.phone.endpoint.respond(this.invite, status, reason, {
      toTag: this.toTag,
      headers: [['Contact', `<${this.phone.contact}>`], ...extra],
      body,
    });
  }
}

export class AgentPhone {
  private readonly rings: IncomingRing[] = [];

  private constructor(
    private current: SipEndpoint,
    readonly sipUser: string,
    readonly contact: string,
  ) {
    // As JsSIP and desk phones do: the sip app's keepalive asks an answered workstation with OPTIONS.
    current.answerAutomatically('OPTIONS', 200, 'OK');
  }

  /** The connection it is registered over (a new one after `reconnect`). */
  get endpoint(): SipEndpoint {
    return this.current;
  }

  /**
   * A browser whose WebSocket closed (Kamailio restarted) does what JsSIP does: connects again and
   * registers the same Contact over the new connection, which then carries its calls' requests.
   */
  async reconnect(kamailio: TestKamailio): Promise<void> {
    const endpoint = await SipWsEndpoint.connect(kamailio.wsUrl);
    const credentials = await kamailio.browserCredentials(this.sipUser);
    const result = await register(endpoint, { user: this.sipUser, domain: kamailio.domain, contact: this.contact, expires: 120, ...credentials });
    if (result.response.status !== 200) {
      await endpoint.close();
      throw new Error(`${this.sipUser} could not register again: ${result.response.startLine}`);
    }
    endpoint.answerAutomatically('OPTIONS', 200, 'OK');
    const old = this.current;
    this.current = endpoint;
    await old.close().catch(() => undefined);
  }

  /** Connects to Kamailio's WebSocket and registers as the workstation's SIP user. */
  static async register(kamailio: TestKamailio, workstationId: string): Promise<AgentPhone> {
    const endpoint = await SipWsEndpoint.connect(kamailio.wsUrl);
    const sipUser = browserSipUser(workstationId);
    const contact = endpoint.contact(sipUser);
    const credentials = await kamailio.browserCredentials(sipUser);
    const result = await register(endpoint, { user: sipUser, domain: kamailio.domain, contact, expires: 120, ...credentials });
    if (result.response.status !== 200) {
      await endpoint.close();
      throw new Error(`${sipUser} could not register: ${result.response.startLine}`);
    }
    return new AgentPhone(endpoint, sipUser, contact);
  }

  /**
   * A desk phone: a UDP socket that registers as `sipUser` with `password` through Kamailio's
   * SIP port, and stays registered for `expires` seconds unless it unregisters.
   */
  static async registerDeskPhone(kamailio: TestKamailio, sipUser: string, password: string, expires = 300): Promise<AgentPhone> {
    const endpoint = await SipUdpEndpoint.open(kamailio.host, kamailio.sipPort);
    const contact = `sip:${sipUser}@${endpoint.localAddress}:${endpoint.localPort}`;
    const result = await register(endpoint, { user: sipUser, domain: kamailio.domain, username: sipUser, password, contact, expires });
    if (result.response.status !== 200) {
      await endpoint.close();
      throw new Error(`desk phone ${sipUser} could not register: ${result.response.startLine}`);
    }
    return new AgentPhone(endpoint, sipUser, contact);
  }

  /** The next INVITE (one not returned before); every INVITE gets 180 at once, as from a browser. */
  async nextInvite(timeoutMs = 5000): Promise<IncomingRing> {
    const invite = await this.endpoint.waitFor((m) => m.method === 'INVITE', `an INVITE to ${this.sipUser}`, timeoutMs);
    const ring = new IncomingRing(this, invite, Date.now());
    this.rings.push(ring);
    ring.ringing();
    return ring;
  }

  /** How many INVITEs have arrived so far. */
  get invites(): number {
    return this.endpoint.received.filter((m) => m.method === 'INVITE').length;
  }

  async close(): Promise<void> {
    for (const ring of this.rings) ring.close();
    await this.endpoint.close();
  }
}

/** What a plain SIP phone answers: PCMU at `port`. */
function answerSdp(port: number): string {
  return [
    'v=0',
    'o=agent 1 1 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} RTP/AVP 0 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=sendrecv',
    '',
  ].join('\r\n');
}
