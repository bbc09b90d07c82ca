import type { Logger } from 'pino';
import type { AckableIncomingResponseWithSession, OutgoingInviteRequest, Session } from 'sip.js/lib/core/index.js';
import { snapshotDialog, type DialogSnapshot } from '../sip/dialogs.js';
import type { Dialer, DialogServices, WorkstationInvite } from '../sip/sip-stack.js';
import { sendBye } from './bye.js';
import { sendReinvite } from './reinvite.js';
import type { RingSnapshot } from './call-sip-state.js';
import { PatientKeepalive } from './patient-keepalive.js';
import type { AdoptionProbes } from './adoption-probes.js';

/**
 * The leg's SIP life:
 *
 *   ringing ──(200: ACK)──> answered ──(BYE either way)──> ended
 *      │ │                      └──(keepalive: the workstation is gone)──> ended (vanished)
 *      │ │
 *      │ └──(4xx/5xx/6xx, transport error)──> failed
 *      └──(we CANCEL)──> cancelled   (a 200 that crosses the CANCEL is ACKed and BYEd at once)
 *
 * An adopted leg (a dialog another sip app process had answered) starts answered.
 */
export type AgentLegState = 'ringing' | 'answered' | 'failed' | 'cancelled' | 'ended';

export interface AgentLegEvents {
  /** The workstation answered and has been ACKed; `sdp` is its answer to our offer. */
  onAnswered(sdp: string): void;
  /** The workstation refused or could not be reached. Not called after our own CANCEL. */
  onFailed(statusCode: number, reasonPhrase: string): void;
}

/** How an answered agent left the call: their BYE, or no answer to the keepalive. */
export type AgentGone = 'hung-up' | 'vanished';

export interface AgentLegKeepalive {
  dialogs: DialogServices;
  /** PATIENT_KEEPALIVE_SECONDS, in ms. */
  intervalMs: number;
  /**
   * Final statuses that also mean the workstation is gone, besides GONE_STATUSES (404, 408, 481) and a transport error:
   * [477, 500] for a browser (Kamailio's answers through a closed WebSocket), none for a desk phone.
   */
  alsoVanishedOn?: readonly number[];
  /** An OPTIONS went out: the dialog's CSeq moved, worth writing down for another process. */
  onProbed(): void;
  /**
   * An adopted leg: nothing says the workstation is still there (its BYE may have been lost while no
   * sip app was connected), so it is asked at once, in its turn in this queue, then every intervalMs.
   */
  adoptionProbes?: AdoptionProbes;
}

/**
 * The B2BUA's call to an agent's workstation: one INVITE through Kamailio and, once answered, its
 * dialog. It is the patient's call's second leg; the PatientCall decides what each event means.
 */
export class AgentLeg {
  private current: AgentLegState = 'ringing';
  private request: OutgoingInviteRequest | undefined;
  private session: Session | undefined;
  private keepalive: PatientKeepalive | undefined;
  private markHungUp!: (gone: AgentGone) => void;
  /**
   * Settles when the agent leaves an answered call: their BYE (answered 200), or their workstation
   * no longer answering the keepalive (the dialog is then closed without a BYE).
   */
  readonly hungUp = new Promise<AgentGone>((resolve) => (this.markHungUp = resolve));

  private markSettled!: () => void;
  /** Settles when the INVITE has its final response (a 200, the 487 to our CANCEL, an error). */
  readonly settled = new Promise<void>((resolve) => (this.markSettled = resolve));

  /** The INVITE to send and who hears how it went; an adopted leg has none. */
  private readonly ring: { dialer: Dialer; invite: WorkstationInvite; events: AgentLegEvents } | undefined;

  constructor(dialer: Dialer, invite: WorkstationInvite, events: AgentLegEvents, log: Logger);
  constructor(dialer: undefined, invite: undefined, events: undefined, log: Logger);
  constructor(
    dialer: Dialer | undefined,
    invite: WorkstationInvite | undefined,
    events: AgentLegEvents | undefined,
    private readonly log: Logger,
  ) {
    this.ring = dialer && invite && events ? { dialer, invite, events } : undefined;
  }

  /** Takes over the answered dialog of a leg another process set up. */
  static adopt(session: Session, log: Logger): AgentLeg {
    const leg = new AgentLeg(undefined, undefined, undefined, log);
    leg.answeredWith(session);
    return leg;
  }

  /** The INVITE as sent, for a CANCEL from another process; undefined before it is sent. */
  get sentInvite(): Omit<RingSnapshot, 'tag'> | undefined {
    const message = this.request?.message;
    const via = message?.getHeader('via');
    const from = message?.getHeader('from');
    const to = message?.getHeader('to');
    if (!message || !via || !from || !to) return undefined;
    return { requestUri: message.ruri.toString(), via, from, to, callId: message.callId, cseq: message.cseq };
  }

  /** The answered dialog, for another process to go on with it; undefined unless answered. */
  snapshot(): DialogSnapshot | undefined {
    return this.current === 'answered' && this.session ? snapshotDialog(this.session) : undefined;
  }

  /** Sends the INVITE. */
  start(): void {
    const ring = this.ring;
    if (!ring) throw new Error('an adopted leg rings nobody');
    try {
      this.request = ring.dialer.invite(ring.invite, {
        onProgress: (response) =>
          this.log.debug({ status: response.message.statusCode }, "agent's workstation is ringing"),
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
    this.keepalive?.stop();
    await sendBye(this.session, this.log);
  }

  /** A re-INVITE to the answered workstation with our new offer `sdp`; resolves with its answer (sendReinvite). */
  reoffer(sdp: string): Promise<string> {
    if (this.current !== 'answered' || !this.session) return Promise.reject(new Error('the leg is not answered'));
    return sendReinvite(this.session, sdp, this.log);
  }

  /** This process stops and another one will adopt the answered dialog: no BYE, no more probes from here. */
  detach(): void {
    this.keepalive?.stop();
  }

  /** The answered dialog is written down for the instance that adopts it: it leaves the core (see PatientLeg.handedOver). */
  handedOver(): void {
    this.detach();
    if (this.current === 'answered') this.current = 'ended';
    this.session?.dispose();
  }

  private accepted(response: AckableIncomingResponseWithSession): void {
    this.markSettled();
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
    this.answeredWith(response.session);
    this.ring?.events.onAnswered(response.message.body);
  }

  private answeredWith(session: Session): void {
    this.current = 'answered';
    this.session = session;
    session.delegate = {
      onBye: (bye) => {
        bye.accept();
        if (this.current !== 'answered') return;
        this.current = 'ended';
        this.keepalive?.stop();
        this.markHungUp('hung-up');
      },
    };
  }

  /**
   * Asks the answered workstation, with the patients' in-dialog OPTIONS, whether it is still there:
   * Kamailio tells nobody when a browser's WebSocket closes (JsSIP answers every OPTIONS 200), and
   * a desk phone may lose power. A workstation gone ends the leg as its BYE would, with 'vanished'.
   */
  keepAlive(options: AgentLegKeepalive): void {
    const session = this.session;
    if (this.current !== 'answered' || !session || this.keepalive) return;
    this.keepalive = new PatientKeepalive({
      intervalMs: options.intervalMs,
      canProbe: () => options.dialogs.connected,
      probe: (delegate) => {
        options.dialogs.ping(session, delegate);
        options.onProbed();
      },
      ...(options.alsoVanishedOn ? { alsoVanishedOn: options.alsoVanishedOn } : {}),
      onVanished: (failure) => {
        if (this.current !== 'answered') return;
        this.log.warn(failure, "the agent's workstation did not answer the keepalive: it is gone");
        this.current = 'ended';
        session.dispose();
        this.markHungUp('vanished');
      },
      log: this.log,
    });
    this.keepalive.start();
    if (options.adoptionProbes) this.keepalive.probePaced(options.adoptionProbes);
  }

  private refused(statusCode: number, reasonPhrase: string): void {
    this.markSettled();
    if (this.current !== 'ringing') {
      // The 487 that answers our CANCEL, or a late timeout: the ring is already over.
      this.log.debug({ statusCode, state: this.current }, 'final response to a ring that is over');
      return;
    }
    this.current = 'failed';
    this.ring?.events.onFailed(statusCode, reasonPhrase);
  }
}
