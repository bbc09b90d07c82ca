import type { Logger } from 'pino';
import type {
  AckableIncomingResponseWithSession,
  IncomingRequest,
  OutgoingInviteRequest,
  Session,
} from 'sip.js/lib/core/index.js';
import { sendBye } from '../calls/bye.js';
import { PatientKeepalive, type KeepaliveFailure } from '../calls/patient-keepalive.js';
import { RtpSilenceWatch } from '../calls/rtp-silence-watch.js';
import type { DialogServices, TrunkDialer, TrunkInvite } from '../sip/sip-stack.js';

/**
 * The leg's SIP life:
 *
 *   calling ──(180/183)──> calling (ringing reported) ──(200: ACK)──> answered ──(BYE either way)──> ended
 *      │                                                                    └──(keepalive: 404, 408, 481, transport error)─> ended (vanished)
 *      ├──(3xx–6xx, transport error)──> failed
 *      └──(we CANCEL)──> cancelled   (a 200 that crosses the CANCEL is ACKed and BYEd at once)
 */
export type TrunkLegState = 'calling' | 'answered' | 'failed' | 'cancelled' | 'ended';

export interface TrunkLegEvents {
  /** The first 180 or 183: the patient's phone rings. */
  onRinging(): void;
  /** The patient answered and has been ACKed; `sdp` is the answer to our offer, `tag` their To tag. */
  onAnswered(sdp: string, tag: string): void;
  /** The trunk refused or could not be reached. Not called after our own CANCEL. */
  onFailed(statusCode: number, reasonPhrase: string): void;
  /** The patient hung up an answered call (their BYE has been answered). */
  onHungUp(): void;
  /** The patient's line is gone without a BYE (see PatientKeepalive); the dialog is closed. */
  onVanished(failure: KeepaliveFailure): void;
}

export interface TrunkLegKeepalive {
  /** PATIENT_KEEPALIVE_SECONDS, in ms. */
  intervalMs: number;
  /** The RTP packets rtpengine has received from the patient (the trunk's tag) so far, if it can tell. */
  packetsFromPatient(tag: string): Promise<number | undefined>;
}

/**
 * The B2BUA's call to the patient being called back: one INVITE through Kamailio to the outbound
 * trunk and, once answered, its dialog. A session refresh from the trunk (re-INVITE or UPDATE) is
 * answered with the description the trunk already has. Once answered, the patient's line is watched
 * as a patient call's is (docs/call-path.md, "A patient who vanishes"): an in-dialog OPTIONS every
 * PATIENT_KEEPALIVE_SECONDS, asked at once when the patient's RTP stops.
 */
export class TrunkLeg {
  private current: TrunkLegState = 'calling';
  private request: OutgoingInviteRequest | undefined;
  private session: Session | undefined;
  private ringing = false;
  private stopUpdates: (() => void) | undefined;
  private keepalive: PatientKeepalive | undefined;
  private rtpWatch: RtpSilenceWatch | undefined;

  constructor(
    private readonly dialer: TrunkDialer,
    private readonly dialogs: DialogServices,
    private readonly invite: TrunkInvite,
    private readonly events: TrunkLegEvents,
    private readonly log: Logger,
    private readonly keepaliveOptions?: TrunkLegKeepalive,
  ) {}

  get state(): TrunkLegState {
    return this.current;
  }

  /** Sends the INVITE; a failure to send is reported as a 503 through `onFailed`. */
  start(): void {
    try {
      this.request = this.dialer.callOut(this.invite, {
        onProgress: (response) => {
          const status = response.message.statusCode ?? 0;
          if ((status === 180 || status === 183) && !this.ringing && this.current === 'calling') {
            this.ringing = true;
            this.events.onRinging();
          }
        },
        onAccept: (response) => this.accepted(response),
        onRedirect: (response) => this.refused(response.message.statusCode ?? 500, response.message.reasonPhrase ?? ''),
        onReject: (response) => this.refused(response.message.statusCode ?? 500, response.message.reasonPhrase ?? ''),
      });
    } catch (err) {
      this.log.warn({ err }, 'could not send the INVITE to the trunk');
      queueMicrotask(() => this.refused(503, 'Service Unavailable'));
    }
  }

  /** Ends the leg whatever its state: CANCEL while calling, BYE (with `byeHeaders`) once answered. Never throws. */
  async hangUp(byeHeaders: string[] = []): Promise<void> {
    if (this.current === 'calling') {
      this.current = 'cancelled';
      try {
        // SIP.js sends the CANCEL once the INVITE has had a provisional response (RFC 3261 §9.1).
        this.request?.cancel();
      } catch (err) {
        this.log.warn({ err }, 'could not CANCEL the INVITE to the trunk');
      }
      return;
    }
    if (this.current !== 'answered' || !this.session) return;
    this.close();
    await sendBye(this.session, this.log, byeHeaders);
  }

  private accepted(response: AckableIncomingResponseWithSession): void {
    try {
      response.ack();
    } catch (err) {
      this.log.warn({ err }, "could not ACK the trunk's 200 OK");
    }
    if (this.current !== 'calling') {
      // The 200 crossed our CANCEL (or a second 200 of a forked INVITE): RFC 3261 §15, end it with BYE.
      this.log.info({ state: this.current }, 'the patient answered after the callback was over; hanging up that leg');
      void sendBye(response.session, this.log);
      return;
    }
    this.current = 'answered';
    const session = response.session;
    this.session = session;
    session.delegate = {
      onBye: (bye) => {
        bye.accept();
        if (this.current !== 'answered') return;
        this.close();
        this.events.onHungUp();
      },
      onInvite: (reinvite) => this.refresh(reinvite),
    };
    this.stopUpdates = this.dialogs.handleUpdates(session, (update) => this.refresh(update));
    const tag = response.message.toTag ?? '';
    this.watch(session, tag);
    this.events.onAnswered(response.message.body, tag);
  }

  /** Starts the keepalive (and the RTP silence watch that hurries it) on the answered dialog. */
  private watch(session: Session, tag: string): void {
    const options = this.keepaliveOptions;
    if (!options) return;
    const keepalive = new PatientKeepalive({
      intervalMs: options.intervalMs,
      canProbe: () => this.dialogs.connected,
      probe: (delegate) => this.dialogs.ping(session, delegate),
      onVanished: (failure) => {
        if (this.current !== 'answered') return;
        this.log.warn(failure, 'the patient did not answer the keepalive: their line is gone');
        this.close();
        session.dispose();
        this.events.onVanished(failure);
      },
      log: this.log,
    });
    const rtpWatch = new RtpSilenceWatch({
      packetsFromPatient: () => options.packetsFromPatient(tag),
      onSilent: () => keepalive.probeNow(),
      log: this.log,
    });
    this.keepalive = keepalive;
    this.rtpWatch = rtpWatch;
    keepalive.start();
    rtpWatch.start();
  }

  /**
   * A session refresh (RFC 4028) keeps the description: the trunk gets our offer again. A trunk that
   * moves its media in a re-INVITE is not followed (logged); callbacks are short.
   */
  private refresh(request: IncomingRequest): void {
    const changes = request.message.body.trim() !== '';
    if (changes)
      this.log.warn(
        { method: request.message.method },
        'the trunk sent a new description in the callback; answering with the current one',
      );
    try {
      request.accept({
        statusCode: 200,
        extraHeaders: [this.dialogs.contactHeader],
        ...(request.message.method === 'INVITE' || changes
          ? { body: { contentDisposition: 'session', contentType: 'application/sdp', content: this.invite.sdp } }
          : {}),
      });
    } catch (err) {
      this.log.warn({ err }, "could not answer the trunk's refresh");
    }
  }

  private refused(statusCode: number, reasonPhrase: string): void {
    if (this.current !== 'calling') {
      this.log.debug({ statusCode, state: this.current }, 'final response to a callback INVITE that is over');
      return;
    }
    this.current = 'failed';
    this.events.onFailed(statusCode, reasonPhrase);
  }

  private close(): void {
    this.current = 'ended';
    this.stopUpdates?.();
    this.keepalive?.stop();
    this.rtpWatch?.stop();
  }
}
