import type { Logger } from 'pino';
import type { AckableIncomingResponseWithSession, OutgoingInviteRequest, Session } from 'sip.js/lib/core/index.js';
import type { Dialer, WorkstationInvite } from '../sip/sip-stack.js';
import { sendBye } from './bye.js';

/**
 * The leg's SIP life:
 *
 *   ringing ──(200: ACK)──> answered ──(BYE either way)──> ended
 *      │ │
 *      │ └──(4xx/5xx/6xx, transport error)──> failed
 *      └──(we CANCEL)──> cancelled   (a 200 that crosses the CANCEL is ACKed and BYEd at once)
 */
export type AgentLegState = 'ringing' | 'answered' | 'failed' | 'cancelled' | 'ended';

export interface AgentLegEvents {
  /** The workstation answered and has been ACKed; `sdp` is its answer to our offer. */
  onAnswered(sdp: string): void;
  /** The workstation refused or could not be reached. Not called after our own CANCEL. */
  onFailed(statusCode: number, reasonPhrase: string): void;
}

/**
 * The B2BUA's call to an agent's workstation: one INVITE through Kamailio and, once answered, its
 * dialog. It is the patient's call's second leg; the PatientCall decides what each event means.
 */
export class AgentLeg {
  private current: AgentLegState = 'ringing';
  private request: OutgoingInviteRequest | undefined;
  private session: Session | undefined;
  private markHungUp!: () => void;
  /** Settles when the agent hangs up an answered call (their BYE, answered 200). */
  readonly hungUp = new Promise<void>((resolve) => (this.markHungUp = resolve));

  constructor(
    private readonly dialer: Dialer,
    private readonly invite: WorkstationInvite,
    private readonly events: AgentLegEvents,
    private readonly log: Logger,
  ) {}

  /** Sends the INVITE. */
  start(): void {
    try {
      this.request = this.dialer.invite(this.invite, {
        onProgress: (response) => this.log.debug({ status: response.message.statusCode }, "agent's workstation is ringing"),
        onAccept: (response) => this.accepted(response),
        onRedirect: (response) => this.refused(response.message.statusCode ?? 500, response.message.reasonPhrase ?? ''),
        onReject: (response) => this.refused(response.message.statusCode ?? 500, response.message.reasonPhrase ?? ''),
      });
    } catch (err) {
      this.log.warn({ err }, 'could not send the INVITE to the workstation');
      queueMicrotask(() => this.refused(503, 'Service Unavailable'));
    }
  }

  /** Stops ringing with a CANCEL; nothing happens once the leg has been answered or has failed. */
  cancel(): void {
    if (this.current !== 'ringing') return;
    this.current = 'cancelled';
    try {
      // SIP.js sends the CANCEL once the INVITE has had a provisional response (RFC 3261 §9.1).
      this.request?.cancel();
    } catch (err) {
      this.log.warn({ err }, 'could not CANCEL the INVITE to the workstation');
    }
  }

  /** Ends the leg whatever its state: CANCEL while ringing, BYE once answered. Never throws. */
  async hangUp(): Promise<void> {
    if (this.current === 'ringing') {
      this.cancel();
      return;
    }
    if (this.current !== 'answered' || !this.session) return;
    this.current = 'ended';
    await sendBye(this.session, this.log);
  }

  private accepted(response: AckableIncomingResponseWithSession): void {
    try {
      response.ack();
    } catch (err) {
      this.log.warn({ err }, "could not ACK the workstation's 200 OK");
    }
    if (this.current !== 'ringing') {
      // The 200 crossed our CANCEL (or a second 200 of a forked INVITE): the dialog exists now, and
      // RFC 3261 §15 says a UAC that does not want it ends it with BYE.
      this.log.info({ state: this.current }, 'workstation answered after the ring was over; hanging up that leg');
      void sendBye(response.session, this.log);
      return;
    }
    this.current = 'answered';
    this.session = response.session;
    this.session.delegate = {
      onBye: (bye) => {
        bye.accept();
        if (this.current !== 'answered') return;
        this.current = 'ended';
        this.markHungUp();
      },
    };
    this.events.onAnswered(response.message.body);
  }

  private refused(statusCode: number, reasonPhrase: string): void {
    if (this.current !== 'ringing') {
      // The 487 that answers our CANCEL, or a late timeout: the ring is already over.
      this.log.debug({ statusCode, state: this.current }, 'final response to a ring that is over');
      return;
    }
    this.current = 'failed';
    this.events.onFailed(statusCode, reasonPhrase);
  }
}
