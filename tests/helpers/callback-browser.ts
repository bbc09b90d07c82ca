/**
 * Callbacks for the sip app's tests: a grant written as signaling writes it (POST
 * /api/tasks/:id/callback), the browser's side of the call played over SIP-over-WebSocket with a
 * WebRTC-shaped offer and OPTIONS answered 200 as JsSIP answers them (no real media: see tests/e2e/sip/callback-audio.test.ts for that), and the
 * callback's records in Redis.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { CALLBACK_GRANT_SECONDS, type CallbackEvent, type CallbackGrant, type CallbackView } from '@deskline/protocol';
import { RedisKeys, RedisStreams } from '@deskline/store';
import type { TestKamailio } from './kamailio.js';
import type { SentRequest } from './sip-endpoint.js';
import { header, headers, nameAddrUri, param, type SipMessage } from './sip-message.js';
import { sendAuthenticatedInvite } from './sip-invite.js';
import { SipWsEndpoint } from './sip-ws.js';

export const CALLBACK_NUMBER = '+48601234567';

/** What JsSIP offers, as far as rtpengine can tell: DTLS-SRTP, ICE, rtcp-mux, Opus and PCMU. */
export function webRtcOffer(): string {
  const fingerprint = Array.from(randomBytes(32), (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
  return [
    'v=0',
    `o=- ${Date.now()} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'a=msid-semantic: WMS',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 0',
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    `a=ice-ufrag:${randomBytes(3).toString('hex')}`,
    `a=ice-pwd:${randomBytes(12).toString('hex')}`,
    `a=fingerprint:sha-256 ${fingerprint}`,
    'a=setup:actpass',
    'a=mid:0',
    'a=sendrecv',
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
    'a=rtpmap:0 PCMU/8000',
    'a=candidate:1 1 udp 2122260223 127.0.0.1 9 typ host',
    '',
  ].join('\r\n');
}

export interface GrantedCallback {
  grant: CallbackGrant;
  token: string;
  /** sip:cb-<token>@<domain>, what signaling answers with. */
  target: string;
}

/** Writes a grant and the task's lock as POST /api/tasks/:id/callback does. */
export async function grantCallback(
  redis: Redis,
  options: { domain: string; sipUser: string; number?: string },
): Promise<GrantedCallback> {
  const token = randomBytes(16).toString('hex');
  const grant: CallbackGrant = {
    callbackId: randomUUID(),
    taskId: randomUUID(),
    number: options.number ?? CALLBACK_NUMBER,
    userId: 'anna',
    workstationId: options.sipUser.replace(/^ws-/, ''),
    sipUser: options.sipUser,
    grantedAt: Date.now(),
  };
  await redis
    .multi()
    .set(RedisKeys.taskCallback(grant.taskId), grant.callbackId, 'EX', CALLBACK_GRANT_SECONDS, 'NX')
    .set(RedisKeys.callbackGrant(token), JSON.stringify(grant), 'EX', CALLBACK_GRANT_SECONDS)
    .exec();
  return { grant, token, target: `sip:cb-${token}@${options.domain}` };
}

/** The states recorded on stream:callback-events for one callback, in order, with their views. */
export async function callbackEvents(redis: Redis, callbackId: string): Promise<CallbackView[]> {
  const entries = await redis.xrange(RedisStreams.callbackEvents, '-', '+');
  const views: CallbackView[] = [];
  for (const [, fields] of entries) {
    const json = fields[fields.indexOf('event') + 1];
    if (!json) continue;
    const event = JSON.parse(json) as CallbackEvent;
    if (event.callback.id === callbackId) views.push(event.callback);
  }
  return views;
}

/** One callback INVITE from the browser, and what it can do in its dialog. */
export class BrowserCallbackCall {
  private nextCseq: number;
  private ok: SipMessage | undefined;

  constructor(
    private readonly browser: CallbackBrowser,
    readonly invite: SentRequest,
    /** Epoch ms when the authenticated INVITE was sent. */
    readonly sentAt: number,
    private readonly target: string,
  ) {
    this.nextCseq = invite.cseq + 1;
  }

  get callId(): string {
    return this.invite.callId;
  }

  /** Resolves with the first provisional response of `status`. */
  provisional(status: number, timeoutMs = 5000): Promise<SipMessage> {
    return this.browser.endpoint.waitFor(
      (m) => m.status === status && header(m, 'call-id') === this.callId,
      `${status} to the callback INVITE`,
      timeoutMs,
    );
  }

  /** The INVITE's final response; a 200 is ACKed. */
  async final(timeoutMs = 5000): Promise<SipMessage> {
    const response = await this.browser.endpoint.finalResponse(this.invite, timeoutMs);
    if (response.status === 200) {
      this.ok = response;
      this.sendInDialog('ACK', this.invite.cseq);
    }
    return response;
  }

  /** The employee hangs up before the patient answers. */
  cancel(): SentRequest {
    return this.browser.endpoint.sendCancel(this.invite);
  }

  /** The employee hangs up an answered callback; resolves with the answer to the BYE. */
  hangUp(timeoutMs = 5000): Promise<SipMessage> {
    const bye = this.sendInDialog('BYE', this.nextCseq++);
    return this.browser.endpoint.finalResponse(bye, timeoutMs);
  }

  /** Waits for the sip app's re-INVITE and refuses it with `status`; resolves with the re-INVITE. */
  async refuseReinvite(status: number, reason: string, timeoutMs = 5000): Promise<SipMessage> {
    const reinvite = await this.browser.endpoint.waitForRequest('INVITE', this.callId, timeoutMs);
    this.browser.endpoint.respond(reinvite, status, reason);
    return reinvite;
  }

  /** Waits for the sip app's BYE (the patient hung up) and answers it 200. */
  async waitForBye(timeoutMs = 5000): Promise<SipMessage> {
    const bye = await this.browser.endpoint.waitForRequest('BYE', this.callId, timeoutMs);
    this.browser.endpoint.respond(bye, 200, 'OK');
    return bye;
  }

  private sendInDialog(method: string, cseq: number): SentRequest {
    const ok = this.ok;
    if (!ok) throw new Error('the callback was not answered');
    return this.browser.endpoint.sendRequest({
      method,
      uri: nameAddrUri(header(ok, 'contact') ?? ''),
      callId: this.callId,
      from: `sip:${this.browser.sipUser}@${this.browser.domain}`,
      fromTag: this.invite.fromTag,
      to: this.target,
      toTag: param(header(ok, 'to'), 'tag'),
      cseq,
      routes: headers(ok, 'record-route')
        .flatMap((v) => v.split(/,(?=\s*<)/))
        .map((v) => v.trim())
        .reverse(),
    });
  }
}

/** A browser workstation over SIP-over-WebSocket with the credentials signaling would give it. */
export class CallbackBrowser {
  private constructor(
    readonly endpoint: SipWsEndpoint,
    readonly sipUser: string,
    readonly domain: string,
    private readonly credentials: { username: string; password: string },
  ) {}

  static async connect(kamailio: TestKamailio, sipUser: string): Promise<CallbackBrowser> {
    const endpoint = await SipWsEndpoint.connect(kamailio.wsUrl);
    // As JsSIP does, in a dialog or not: the sip app's keepalive of an answered callback.
    endpoint.answerAutomatically('OPTIONS', 200, 'OK');
    const credentials = await kamailio.browserCredentials(sipUser);
    return new CallbackBrowser(endpoint, sipUser, kamailio.domain, credentials);
  }

  /**
   * Sends the INVITE to `target` with `sdp` (a WebRTC-shaped offer without media behind it unless
   * given one), answering Kamailio's challenge; throws if it was not challenged.
   */
  async call(target: string, sdp = webRtcOffer()): Promise<BrowserCallbackCall> {
    const { challenge, invite } = await sendAuthenticatedInvite(
      this.endpoint,
      {
        uri: target,
        from: `sip:${this.sipUser}@${this.domain}`,
        to: target,
        contact: `sip:${this.sipUser}@${this.endpoint.viaHost};transport=ws`,
        headers: [['Content-Type', 'application/sdp']],
        body: sdp,
      },
      this.credentials,
    );
    if (!invite) throw new Error(`the callback INVITE was not challenged: ${challenge.startLine}`);
    return new BrowserCallbackCall(this, invite, Date.now(), target);
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }
}
