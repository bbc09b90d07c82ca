import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { NameAddrHeader, Timers, type IncomingResponseMessage, type UserAgentCore } from 'sip.js/lib/core/index.js';
import type { RingSnapshot } from '../calls/call-sip-state.js';
import { sendBye } from '../calls/bye.js';
import { asSessionDialog, restoreSessionDialog } from './dialogs.js';

/** How long the final response to a CANCELled INVITE is waited for (Kamailio's fr_inv_timer is 60 s). */
const WAIT_MS = 64 * Timers.T1 + 60_000;

/**
 * INVITEs a sip app process sent before it died, which this process CANCELs: a workstation rang for
 * a call that has been adopted here. SIP.js's core has no transaction for them, so the CANCEL is
 * written by hand (RFC 3261 §9.1: the INVITE's Request-URI, top Via, From, To, Call-ID and CSeq
 * number), and so are the answers to the INVITE's final response: an ACK for the 487 (§17.1.1.3), or,
 * should the agent have answered just as the CANCEL went out, an ACK for the 200 and a BYE.
 */
export class StaleInvites {
  /** Via branch -> the INVITE, until its final response. */
  private readonly waiting = new Map<string, RingSnapshot>();

  constructor(
    private readonly core: UserAgentCore,
    private readonly send: (message: string) => Promise<void>,
    private readonly log: Logger,
  ) {}

  /** Sends the CANCEL, and keeps the INVITE to answer its final response. */
  cancel(ring: RingSnapshot): void {
    const branch = branchOf(ring.via);
    if (branch) {
      this.waiting.set(branch, ring);
      setTimeout(() => this.waiting.delete(branch), WAIT_MS).unref();
    }
    const cancel = [
      `CANCEL ${ring.requestUri} SIP/2.0`,
      `Via: ${ring.via}`,
      'Max-Forwards: 70',
      `From: ${ring.from}`,
      `To: ${ring.to}`,
      `Call-ID: ${ring.callId}`,
      `CSeq: ${ring.cseq} CANCEL`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    this.send(cancel).then(
      () => this.log.info({ sipCallId: ring.callId }, 'CANCELled the ring a gone instance left at the workstation'),
      (err: unknown) =>
        this.log.warn({ err, sipCallId: ring.callId }, 'could not CANCEL the ring a gone instance left'),
    );
  }

  /** True when the response belongs to a CANCELled INVITE (or its CANCEL) and has been dealt with here. */
  take(response: IncomingResponseMessage): boolean {
    const ring = this.waiting.get(response.viaBranch);
    if (!ring) return false;
    const method = response.method;
    const status = response.statusCode ?? 0;
    if (method !== 'INVITE' || status < 200) return true;
    this.waiting.delete(response.viaBranch);
    if (status < 300) this.hangUpAnswered(ring, response);
    else this.ackFailure(ring, response);
    return true;
  }

  private ackFailure(ring: RingSnapshot, response: IncomingResponseMessage): void {
    const ack = [
      `ACK ${ring.requestUri} SIP/2.0`,
      `Via: ${ring.via}`,
      'Max-Forwards: 70',
      `From: ${ring.from}`,
      `To: ${response.getHeader('to') ?? ring.to}`,
      `Call-ID: ${ring.callId}`,
      `CSeq: ${ring.cseq} ACK`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    this.send(ack).catch((err: unknown) =>
      this.log.warn({ err }, 'could not ACK the final response of a CANCELled ring'),
    );
  }

  /** The agent answered as the CANCEL went out: the dialog exists, and RFC 3261 §15 ends it with ACK and BYE. */
  private hangUpAnswered(ring: RingSnapshot, response: IncomingResponseMessage): void {
    try {
      const contact = response.parseHeader('contact') as unknown;
      if (!(contact instanceof NameAddrHeader)) throw new Error('no Contact in the 200');
      const session = restoreSessionDialog(this.core, {
        callId: ring.callId,
        localTag: response.fromTag,
        remoteTag: response.toTag,
        // restoreSessionDialog skips one number; the ACK takes the INVITE's.
        localSequenceNumber: ring.cseq - 1,
        remoteSequenceNumber: null,
        localUri: response.from.uri.toString(),
        remoteUri: response.to.uri.toString(),
        remoteTarget: contact.uri.toString(),
        routeSet: response.getHeaders('record-route').reverse(),
      });
      const ack = asSessionDialog(session).createOutgoingRequestMessage('ACK', { cseq: ring.cseq });
      ack.setViaHeader(`z9hG4bK${randomBytes(8).toString('hex')}`, 'TCP');
      this.send(ack.toString()).then(
        () => sendBye(session, this.log),
        (err: unknown) => this.log.warn({ err }, 'could not ACK the 200 of a CANCELled ring'),
      );
      this.log.info(
        { sipCallId: ring.callId },
        'the workstation answered the ring a gone instance left; hanging up that leg',
      );
    } catch (err) {
      this.log.warn({ err, sipCallId: ring.callId }, 'could not end the answered ring a gone instance left');
    }
  }
}

function branchOf(via: string): string | undefined {
  return /;\s*branch=([^;,\s]+)/i.exec(via)?.[1];
}
