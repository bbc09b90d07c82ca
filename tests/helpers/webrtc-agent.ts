/**
 * A browser workstation without a browser: SIP over WebSocket as the tests' AgentPhone, and for its
 * media an rtpengine of its own that speaks WebRTC towards the call (ICE, DTLS-SRTP, rtcp-mux, as
 * Chromium does) and plain RTP towards a Node endpoint sending a 600 Hz tone. So the server's
 * rtpengine does for this agent the work it does for a browser (ICE checks, DTLS handshake, SRTP both
 * ways), while the agent costs a fraction of a Chromium page: the capacity bench (bench/capacity.ts)
 * can put dozens on one machine. The codec is what the sip app offers a browser (PCMU or PCMA);
 * Chromium answers the same, so no Opus is involved in either case.
 */
import type { Bencode } from '@deskline/scripts/rtpengine-ng';
import { PLAIN_RTP, WEBRTC } from '@deskline/sip/media/flags';
import { AGENT_TONE_HZ, AgentPhone, type IncomingRing, type SipEdge } from './agent-phone.js';
import { patientSdp } from './patient-line.js';
import { PatientPhone } from './patient-phone.js';
import type { TestRtpengine } from './rtpengine.js';
import { header, param, type SipMessage } from './sip-message.js';

/** One answered call: the SIP side, the plain media endpoint behind the agent's rtpengine, and the SDP it answered. */
export interface WebRtcCall {
  ring: IncomingRing;
  media: PatientPhone;
  answer: string;
}

export class WebRtcAgent {
  private constructor(
    readonly phone: AgentPhone,
    /** The agent side's own rtpengine, shared by any number of agents (as if each desk ran one). */
    private readonly peer: TestRtpengine,
  ) {}

  /** Registers as the browser workstation `workstationId` through Kamailio's WebSocket (`reconnect`: AgentPhone.register). */
  static async register(
    kamailio: SipEdge,
    workstationId: string,
    peer: TestRtpengine,
    options: { reconnect?: boolean } = {},
  ): Promise<WebRtcAgent> {
    return new WebRtcAgent(await AgentPhone.register(kamailio, workstationId, options), peer);
  }

  /**
   * Waits for the next INVITE (180 at once) and answers it with the peer rtpengine's WebRTC answer;
   * resolves once the ACK has arrived. The offer must be WebRTC (UDP/TLS/RTP/SAVPF with a DTLS
   * fingerprint), as the sip app sends a browser; anything else is refused with an error.
   */
  async answerNext(timeoutMs: number): Promise<WebRtcCall> {
    return this.answer(await this.phone.nextInvite(timeoutMs), timeoutMs);
  }

  /** Answers a ring that `phone.nextInvite` returned, as answerNext does (a test may look at the caller first). */
  async answer(ring: IncomingRing, timeoutMs: number): Promise<WebRtcCall> {
    const offer = ring.invite.body;
    if (!/UDP\/TLS\/RTP\/SAVPF/.test(offer) || !/^a=fingerprint:/m.test(offer))
      throw new Error(`the offer to a browser workstation is not WebRTC:\n${offer}`);
    const dialog = { 'call-id': ring.callId, 'from-tag': param(header(ring.invite, 'from'), 'tag') ?? '' };
    // The offer as the agent's own media endpoint gets it: plain RTP, no ICE, no DTLS.
    const plain = await this.peer.ng({
      command: 'offer',
      ...dialog,
      sdp: offer,
      ...(PLAIN_RTP as unknown as Record<string, Bencode>),
    });
    if (plain['result'] !== 'ok')
      throw new Error(`the agent's rtpengine refused the offer: ${String(plain['error-reason'])}`);
    const media = await PatientPhone.open(AGENT_TONE_HZ);
    // The endpoint's answer, turned into WebRTC towards the call.
    const webrtc = await this.peer.ng({
      command: 'answer',
      ...dialog,
      'to-tag': ring.toTag,
      sdp: patientSdp(media.port),
      ...(WEBRTC as unknown as Record<string, Bencode>),
    });
    const answer = Buffer.isBuffer(webrtc['sdp']) ? webrtc['sdp'].toString() : String(webrtc['sdp'] ?? '');
    if (webrtc['result'] !== 'ok' || !/^a=fingerprint:/m.test(answer)) {
      media.close();
      throw new Error(`the agent's rtpengine gave no WebRTC answer: ${String(webrtc['error-reason'] ?? answer)}`);
    }
    await ring.answerWith(answer, media, timeoutMs);
    return { ring, media, answer };
  }

  /**
   * Answers the next re-INVITE of `call` as a browser does: the new offer (an ICE restart, a new DTLS
   * fingerprint) goes to the agent's rtpengine, which answers with its WebRTC side for the same
   * media endpoint. Resolves with the re-INVITE once ACKed.
   */
  answerReinvite(call: WebRtcCall, timeoutMs: number): Promise<SipMessage> {
    const dialog = { 'call-id': call.ring.callId, 'from-tag': param(header(call.ring.invite, 'from'), 'tag') ?? '' };
    return call.ring.answerReinvite(async (offer) => {
      const plain = await this.peer.ng({
        command: 'offer',
        ...dialog,
        sdp: offer,
        ...(PLAIN_RTP as unknown as Record<string, Bencode>),
      });
      if (plain['result'] !== 'ok')
        throw new Error(`the agent's rtpengine refused the new offer: ${String(plain['error-reason'])}`);
      const webrtc = await this.peer.ng({
        command: 'answer',
        ...dialog,
        'to-tag': call.ring.toTag,
        sdp: patientSdp(call.media.port),
        ...(WEBRTC as unknown as Record<string, Bencode>),
      });
      if (webrtc['result'] !== 'ok')
        throw new Error(`the agent's rtpengine gave no new answer: ${String(webrtc['error-reason'])}`);
      return String(webrtc['sdp']);
    }, timeoutMs);
  }

  close(): Promise<void> {
    return this.phone.close();
  }
}
