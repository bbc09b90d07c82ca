/**
 * An agent's workstation as Kamailio sees it: a browser (SIP over WebSocket, registered as
 * ws-<workstationId> with the ephemeral credentials signaling would hand out), or a desk phone (SIP
 * over UDP, registered as its SIP user with its password, digest against the HA1 in Redis). The test
 * decides what it does with each INVITE (ring, answer, decline, let it ring out). Its media side is a
 * plain RTP endpoint (a PatientPhone sending a 600 Hz tone): rtpengine accepts a plain RTP answer to
 * its WebRTC offer, which lets these tests measure the audio in Node; the real browser's DTLS-SRTP
 * and Opus are proven by tests/e2e/sip/answer-two-way-audio.test.ts.
 */
import { browserSipUser } from '@deskline/store';
import type { TestKamailio } from './kamailio.js';
import { register } from './sip-register.js';
import { header, headers, nameAddrUri, param, randomToken, type SipMessage } from './sip-message.js';
import { SipUdpEndpoint, type SipEndpoint } from './sip-endpoint.js';
import { ReconnectingSipWsEndpoint, SipWsEndpoint } from './sip-ws.js';
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
      (m) =>
        m.method === 'INVITE' && header(m, 'call-id') === this.callId && param(header(m, 'to'), 'tag') === this.toTag,
      `a re-INVITE in call ${this.callId}`,
      timeoutMs,
    );
    const sdp = await answerFor(reinvite.body);
    this.phone.endpoint.respond(reinvite, 200, 'OK', {
      toTag: this.toTag,
      headers: [
        ['Contact', `<${this.phone.contact}>`],
        ['Content-Type', 'application/sdp'],
      ],
      body: sdp,
    });
    await this.phone.endpoint.waitFor(
      (m) =>
        m.method === 'ACK' &&
        header(m, 'call-id') === this.callId &&
        header(m, 'cseq') === header(reinvite, 'cseq')?.replace('INVITE', 'ACK'),
      'the ACK of the re-INVITE',
      timeoutMs,
    );
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

  /**
   * The workstation drops the call without a word reaching anyone: its BYE lost on the way, the tab
   * closed, the phone rebooted. It answers the call's later requests 481, as JsSIP does.
   */
  vanish(): void {
    this.phone.callOver(this.callId);
  }

  /** The agent hangs up: BYE through the route set; resolves with its answer. */
  async hangUp(timeoutMs = 5000): Promise<SipMessage> {
    this.phone.callOver(this.callId);
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
      routes: headers(this.invite, 'record-route')
        .flatMap((v) => v.split(','))
        .map((v) => v.trim()),
    });
    return this.phone.endpoint.finalResponse(bye, timeoutMs);
  }

  /** Waits for the B2BUA to hang up, and answers its BYE with 200. */
  async waitForBye(timeoutMs = 5000): Promise<SipMessage> {
    const bye = await this.phone.endpoint.waitForRequest('BYE', this.callId, timeoutMs);
    this.phone.callOver(this.callId);
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

/** What a browser workstation needs of Kamailio: a test Kamailio's, or the launcher's (tests/helpers/chaos.ts). */
export type SipEdge = Pick<TestKamailio, 'wsUrl' | 'domain' | 'browserCredentials'>;

/** A browser's registration lasts this long (seconds); a reconnecting one refreshes it at half. */
const BROWSER_EXPIRES = 120;

export class AgentPhone {
  private readonly rings: IncomingRing[] = [];
  private refresh: NodeJS.Timeout | undefined;
  /** REGISTERs after the first (refreshes, re-registrations after a reconnect) not answered 200: their answers. */
  readonly registerFailures: string[] = [];

  private constructor(
    private current: SipEndpoint,
    readonly sipUser: string,
    readonly contact: string,
  ) {
    // As JsSIP and desk phones do: the sip app's keepalive asks an answered workstation with OPTIONS.
    current.answerAutomaticallyBy('OPTIONS', this.answerOptions);
  }

  /** Calls this phone has hung up or been hung up on. */
  private readonly over = new Set<string>();

  /** 200, or 481 in a call that is over here, as JsSIP answers a request for a dialog it no longer has (RFC 3261 12.2.2). */
  private readonly answerOptions = (request: SipMessage): { status: number; reason: string } =>
    this.over.has(header(request, 'call-id') ?? '')
      ? { status: 481, reason: 'Call/Transaction Does Not Exist' }
      : { status: 200, reason: 'OK' };

  /** The call is over at this phone (its BYE sent, or the other side's answered). */
  callOver(callId: string): void {
    this.over.add(callId);
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
    const result = await register(endpoint, {
      user: this.sipUser,
      domain: kamailio.domain,
      contact: this.contact,
      expires: 120,
      ...credentials,
    });
    if (result.response.status !== 200) {
      await endpoint.close();
      throw new Error(`${this.sipUser} could not register again: ${result.response.startLine}`);
    }
    endpoint.answerAutomaticallyBy('OPTIONS', this.answerOptions);
    const old = this.current;
    this.current = endpoint;
    await old.close().catch(() => undefined);
  }

  /**
   * Connects to Kamailio's WebSocket and registers as the workstation's SIP user. With `reconnect`,
   * as JsSIP does: it connects again when the socket drops, registers again then (same Contact), and
   * refreshes its registration every minute, so it stays reachable for any length of test and across a
   * Kamailio restart. (Each REGISTER has a Call-ID of its own: `register` starts at CSeq 1, which the
   * registrar would refuse under a Call-ID it has seen.)
   */
  static async register(
    kamailio: SipEdge,
    workstationId: string,
    options: { reconnect?: boolean } = {},
  ): Promise<AgentPhone> {
    const endpoint = options.reconnect
      ? await ReconnectingSipWsEndpoint.connect(kamailio.wsUrl)
      : await SipWsEndpoint.connect(kamailio.wsUrl);
    const sipUser = browserSipUser(workstationId);
    const contact = endpoint.contact(sipUser);
    const credentials = await kamailio.browserCredentials(sipUser);
    const registration = { user: sipUser, domain: kamailio.domain, contact, expires: BROWSER_EXPIRES, ...credentials };
    const result = await register(endpoint, registration);
    if (result.response.status !== 200) {
      await endpoint.close();
      throw new Error(`${sipUser} could not register: ${result.response.startLine}`);
    }
    const phone = new AgentPhone(endpoint, sipUser, contact);
    if (endpoint instanceof ReconnectingSipWsEndpoint) {
      const again = async (): Promise<void> => {
        // While the socket is down there is nothing to send on; the reconnect registers.
        if (!endpoint.connected) return;
        const answer = await register(endpoint, registration).then(
          (r) => r.response.startLine,
          (err: unknown) => String(err).split('\n')[0] ?? '',
        );
        if (!/^SIP\/2\.0 200/.test(answer)) phone.registerFailures.push(answer);
      };
      endpoint.onConnected = again;
      phone.refresh = setInterval(() => void again(), (BROWSER_EXPIRES * 1000) / 2);
    }
    return phone;
  }

  /**
   * A desk phone: a UDP socket that registers as `sipUser` with `password` through Kamailio's
   * SIP port, and stays registered for `expires` seconds unless it unregisters.
   */
  static async registerDeskPhone(
    kamailio: TestKamailio,
    sipUser: string,
    password: string,
    expires = 300,
  ): Promise<AgentPhone> {
    const endpoint = await SipUdpEndpoint.open(kamailio.host, kamailio.sipPort);
    const contact = `sip:${sipUser}@${endpoint.localAddress}:${endpoint.localPort}`;
    const result = await register(endpoint, {
      user: sipUser,
      domain: kamailio.domain,
      username: sipUser,
      password,
      contact,
      expires,
    });
    if (result.response.status !== 200) {
      await endpoint.close();
      throw new Error(`desk phone ${sipUser} could not register: ${result.response.startLine}`);
    }
    return new AgentPhone(endpoint, sipUser, contact);
  }

  /** The next INVITE of a new call (one not returned before); each gets 180 at once, as from a browser. */
  async nextInvite(timeoutMs = 5000): Promise<IncomingRing> {
    // A new call's INVITE; a re-INVITE (To with our tag) is for answerReinvite.
    const invite = await this.endpoint.waitFor(
      (m) => m.method === 'INVITE' && !param(header(m, 'to'), 'tag'),
      `an INVITE to ${this.sipUser}`,
      timeoutMs,
    );
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
    clearInterval(this.refresh);
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
