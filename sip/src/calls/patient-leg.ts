import type { Logger } from 'pino';
import type { IncomingInviteRequest, IncomingRequest, IncomingRequestMessage, Session } from 'sip.js/lib/core/index.js';
import { snapshotDialog, type DialogSnapshot } from '../sip/dialogs.js';
import type { DialogServices } from '../sip/sip-stack.js';
import { sendBye } from './bye.js';
import type { AdoptionProbes } from './adoption-probes.js';
import { PatientKeepalive, type KeepaliveFailure } from './patient-keepalive.js';
import { RtpSilenceWatch } from './rtp-silence-watch.js';

/**
 * The leg's SIP life:
 *
 *   answered ──(ACK)──> confirmed ──(the patient's BYE, answered 200)──────────> ended
 *      │                   │ ──(keepalive: 404, 408, 481, transport error)──────> ended (vanished)
 *      │                   └──(we hang up: BYE)──────────────────────────────> ended
 *      ├──(the patient's BYE before their ACK, answered 200)───────────────> ended
 *      ├──(no ACK within 64×T1: the call hangs up)─────────────────────────> ended
 *      └──(late offer: an ACK without a usable answer: the call hangs up)──> ended
 *
 * After a late offer (our offer in the 200), the leg is confirmed once the answer in the ACK has
 * reached rtpengine, so the hold music starts towards an address rtpengine knows.
 * An adopted leg (a dialog another sip app process confirmed) starts confirmed.
 *
 * A BYE before the ACK is the race of RFC 5407 §3.1.6: the trunk sent the ACK first, but the two are
 * separate transactions and Kamailio may relay them in either order. Only a phone that has our 200
 * (its To tag) can send that BYE, so it is a hang-up like any other (onHungUp). The dialog leaves the
 * core with it: our 200's retransmissions stop, and the ACK, when it comes, matches no dialog and the
 * core drops it (an ACK is never answered). The end of the ACK wait (64×T1) finds the leg ended.
 */
export type PatientLegState = 'answered' | 'confirmed' | 'ended';

/** The moves the diagram above allows. */
const LEG_MOVES: Readonly<Record<PatientLegState, readonly PatientLegState[]>> = {
  answered: ['confirmed', 'ended'],
  confirmed: ['ended'],
  ended: [],
};

/** The call's media, as the patient's session sees it (MediaSession). */
export interface PatientMedia {
  /** Our current description, offered in the 200 to a re-INVITE that has none. */
  readonly sdpForPatient: string;
  /** A new offer from the patient; resolves with our answer. */
  patientOffer(sdp: string): Promise<string>;
  /** The patient's answer, in an ACK, to the offer we made. */
  patientAnswer(sdp: string): Promise<void>;
  /** The RTP packets rtpengine has received from the patient so far, if it can tell. */
  packetsFromPatient(): Promise<number | undefined>;
}

export interface PatientLegEvents {
  /** The patient's ACK confirmed the dialog (the first ACK only). */
  onConfirmed(): void;
  /** No ACK came for our 200 OK. */
  onAckTimeout(): void;
  /** The ACK to our 200's offer (a late offer) brought no answer, or one rtpengine or we cannot use. */
  onNoAnswer(why: string): void;
  /** The patient hung up (their BYE has been answered), before their ACK as well as after it. */
  onHungUp(): void;
  /** The patient's line is gone (see PatientKeepalive). */
  onVanished(failure: KeepaliveFailure): void;
  /** The dialog or the media changed (a CSeq, the remote target, a description): worth writing down. */
  onChanged(): void;
  /** The patient showed they are there after `alive` had turned false: the call may be rung again. */
  onAliveAgain(): void;
}

/**
 * How long a keepalive's answer may take beyond PATIENT_KEEPALIVE_SECONDS before a patient without
 * RTP stops counting as there (PatientLeg.alive): a live phone answers in milliseconds.
 */
export const KEEPALIVE_ANSWER_GRACE_MS = 5_000;

export interface PatientLegOptions {
  dialogs: DialogServices;
  media: PatientMedia;
  /** PATIENT_KEEPALIVE_SECONDS, in ms. */
  keepaliveMs: number;
  log: Logger;
  /** The dialog was confirmed by another process (adopted after a restart). */
  confirmed?: boolean;
  /** For an adopted leg: the queue its first keepalive, asked at once, waits its turn in. */
  adoptionProbes?: AdoptionProbes;
  /** The INVITE had no SDP: our 200 carried the offer, and the ACK must carry the answer. */
  lateOffer?: boolean;
}

/**
 * The patient's side of a call: the SIP dialog between the patient (through Kamailio) and the sip
 * app. Besides the hang-up either way, it keeps the session going: a re-INVITE or UPDATE (a trunk's
 * session refresh, RFC 4028; hold; a new address) is answered through the call's media without
 * touching what the patient hears, and a keepalive OPTIONS notices a patient whose line dropped
 * without a BYE (asked at once when the patient's RTP stops, see RtpSilenceWatch).
 */
export class PatientLeg {
  private current: PatientLegState = 'answered';
  private readonly keepalive: PatientKeepalive;
  private readonly rtpWatch: RtpSilenceWatch;
  private readonly stopUpdates: () => void;
  /** When the patient last showed they are there (see `alive`); 0: not yet. */
  private lastSignOfLife = 0;
  private staleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly session: Session,
    private readonly options: PatientLegOptions,
    private readonly events: PatientLegEvents,
  ) {
    const { dialogs, log } = options;
    session.delegate = {
      onAck: (ack) => this.onAck(ack.message),
      onAckTimeout: () => {
        if (this.current !== 'answered') return;
        log.warn('no ACK for our 200 OK');
        this.events.onAckTimeout();
      },
      onBye: (bye) => {
        bye.accept();
        if (this.current === 'ended') return;
        this.close();
        this.events.onHungUp();
      },
      onInvite: (invite) => {
        this.signOfLife();
        this.onReinvite(invite);
      },
    };
    this.stopUpdates = dialogs.handleUpdates(session, (update) => {
      this.signOfLife();
      this.onUpdate(update);
    });
    this.keepalive = new PatientKeepalive({
      intervalMs: options.keepaliveMs,
      canProbe: () => dialogs.connected,
      probe: (delegate) => {
        dialogs.ping(session, delegate);
        this.events.onChanged();
      },
      onOk: () => this.signOfLife(),
      onVanished: (failure) => {
        if (this.current === 'ended') return;
        log.warn(failure, 'the patient did not answer the keepalive: their line is gone');
        this.close();
        this.events.onVanished(failure);
      },
      log,
    });
    this.rtpWatch = new RtpSilenceWatch({
      packetsFromPatient: () => options.media.packetsFromPatient(),
      onSilent: () => this.keepalive.probeNow(),
      onFlowing: () => this.signOfLife(),
      log,
    });
    if (options.confirmed) {
      // Adopted: nothing says the patient is still there until their phone answers, so ask at once.
      this.confirm();
      if (options.adoptionProbes) this.keepalive.probePaced(options.adoptionProbes);
      else this.keepalive.probeNow();
    }
  }

  /**
   * The patient showed, within PATIENT_KEEPALIVE_SECONDS (plus KEEPALIVE_ANSWER_GRACE_MS for an
   * answer), that they are there: their ACK, a request of theirs, RTP that grew, or a 2xx to the
   * keepalive. Otherwise their media has been silent longer than the keepalive allows with no 2xx to
   * say otherwise, and the router must not ring an agent for them (a ghost would ring): the keepalive
   * asks at once, and its 2xx makes the call ringable again (onAliveAgain), its 404/408/481 ends it.
   */
  get alive(): boolean {
    return this.current === 'confirmed' && Date.now() - this.lastSignOfLife <= this.aliveForMs;
  }

  private get aliveForMs(): number {
    return this.options.keepaliveMs + KEEPALIVE_ANSWER_GRACE_MS;
  }

  /** `quiet`: the ACK's, which onConfirmed announces already. */
  private signOfLife(quiet = false): void {
    if (this.current === 'ended') return;
    const wasAlive = quiet || this.alive;
    this.lastSignOfLife = Date.now();
    clearTimeout(this.staleTimer);
    this.staleTimer = setTimeout(() => this.keepalive.probeNow(), this.aliveForMs + 1);
    this.staleTimer.unref();
    if (!wasAlive && this.current === 'confirmed') this.events.onAliveAgain();
  }

  get state(): PatientLegState {
    return this.current;
  }

  /** The dialog as it is now, for another process to go on with it. */
  snapshot(): DialogSnapshot {
    return snapshotDialog(this.session);
  }

  /**
   * BYE to the patient (with `extraHeaders`, a Reason say), where the dialog allows it; the leg is
   * over either way. Never throws.
   */
  async hangUp(extraHeaders: string[] = []): Promise<void> {
    if (this.current === 'ended') return;
    this.stop();
    await sendBye(this.session, this.options.log, extraHeaders);
  }

  /**
   * The leg is over without a BYE from us: the patient's was answered, they vanished, or the call
   * ends before the dialog allows one. The dialog leaves the core (a late request gets 481).
   */
  close(): void {
    if (this.current === 'ended') return;
    this.stop();
    this.session.dispose();
  }

  /**
   * This process stops and another one will adopt the dialog: no BYE, no more probes or re-INVITE
   * handling from here. The dialog stays in the core until `handedOver()`.
   */
  detach(): void {
    if (this.current === 'ended') return;
    this.keepalive.stop();
    this.rtpWatch.stop();
    this.stopUpdates();
  }

  /**
   * The dialog is written down for the instance that adopts it: it leaves the core, so that a request
   * for it (the patient's BYE) gets 481 here, and Kamailio passes it on to a running instance.
   */
  handedOver(): void {
    if (this.current === 'ended') return;
    this.detach();
    this.moveTo('ended');
    clearTimeout(this.staleTimer);
    this.session.dispose();
  }

  private stop(): void {
    this.moveTo('ended');
    clearTimeout(this.staleTimer);
    this.keepalive.stop();
    this.rtpWatch.stop();
    this.stopUpdates();
  }

  private confirm(): void {
    this.moveTo('confirmed');
    this.keepalive.start();
    this.rtpWatch.start();
  }

  /** Confirmed by the patient's ACK: a sign of life of its own. */
  private confirmByAck(): void {
    this.confirm();
    this.signOfLife(true);
  }

  /** A move the diagram does not allow throws: the caller has a bug. */
  private moveTo(to: PatientLegState): void {
    if (!LEG_MOVES[this.current].includes(to))
      throw new Error(`the patient's leg cannot move from ${this.current} to ${to}`);
    this.current = to;
  }

  private onAck(message: IncomingRequestMessage): void {
    if (this.current === 'answered' && this.options.lateOffer) {
      this.takeAnswer(message);
      return;
    }
    if (this.current === 'answered') {
      this.confirmByAck();
      this.events.onConfirmed();
      return;
    }
    // The ACK of a re-INVITE whose 200 carried our offer brings the patient's answer.
    const answer = sdpOf(message);
    if (this.current !== 'confirmed' || answer === undefined) return;
    this.options.media.patientAnswer(answer).then(
      () => this.events.onChanged(),
      (err: unknown) => this.options.log.warn({ err }, "rtpengine refused the patient's answer in the ACK"),
    );
  }

  /**
   * The ACK after a late offer: its SDP is the patient's answer, which goes to rtpengine before the
   * leg counts as confirmed. Without one, or with one rtpengine refuses or that carries no audio
   * codec of ours, the call cannot carry audio and is hung up (onNoAnswer).
   */
  private takeAnswer(message: IncomingRequestMessage): void {
    const { media, log } = this.options;
    const noAnswer = (why: string, err?: unknown): void => {
      if (this.current !== 'answered') return;
      log.warn({ err, why }, 'the ACK brought no usable answer to our offer');
      this.events.onNoAnswer(why);
    };
    const answer = sdpOf(message);
    if (answer === undefined) {
      noAnswer('no SDP answer in the ACK');
      return;
    }
    media.patientAnswer(answer).then(
      () => {
        // The patient may have hung up meanwhile.
        if (this.current !== 'answered') return;
        this.confirmByAck();
        this.events.onConfirmed();
      },
      (err: unknown) => noAnswer('unusable SDP answer in the ACK', err),
    );
  }

  /** A re-INVITE: with an offer, answered with rtpengine's answer; without one, our current description is the offer. */
  private onReinvite(invite: IncomingInviteRequest): void {
    const { media, log } = this.options;
    const offer = sdpOf(invite.message);
    log.info({ withSdp: offer !== undefined }, 're-INVITE from the patient');
    if (offer === undefined) {
      this.answer(invite, media.sdpForPatient);
      return;
    }
    media.patientOffer(offer).then(
      (answer) => this.answer(invite, answer),
      (err: unknown) => this.refuse(invite, err),
    );
  }

  /** An UPDATE (RFC 3311): with an offer, as a re-INVITE; without one (a session refresh), 200. */
  private onUpdate(update: IncomingRequest): void {
    const { media, log } = this.options;
    const offer = sdpOf(update.message);
    log.info({ withSdp: offer !== undefined }, 'UPDATE from the patient');
    if (offer === undefined) {
      this.answer(update, undefined);
      return;
    }
    media.patientOffer(offer).then(
      (answer) => this.answer(update, answer),
      (err: unknown) => this.refuse(update, err),
    );
  }

  private answer(request: IncomingRequest, sdp: string | undefined): void {
    try {
      request.accept({
        statusCode: 200,
        extraHeaders: [this.options.dialogs.contactHeader],
        ...(sdp !== undefined
          ? { body: { contentDisposition: 'session', contentType: 'application/sdp', content: sdp } }
          : {}),
      });
    } catch (err) {
      // The transaction may be over (the patient gave up on it, or the call ended meanwhile).
      this.options.log.warn({ err, method: request.message.method }, 'could not answer the request');
      return;
    }
    this.events.onChanged();
  }

  private refuse(request: IncomingRequest, err: unknown): void {
    this.options.log.warn(
      { err, method: request.message.method },
      "rtpengine refused the patient's new offer; answering 488",
    );
    try {
      request.reject({ statusCode: 488, reasonPhrase: 'Not Acceptable Here' });
    } catch (rejectErr) {
      this.options.log.warn({ err: rejectErr }, 'could not answer the request');
    }
  }
}

/** The message's SDP, or undefined when it carries none. */
function sdpOf(message: IncomingRequestMessage): string | undefined {
  const contentType = message.getHeader('content-type')?.split(';')[0]?.trim().toLowerCase();
  return contentType === 'application/sdp' && message.body.trim() !== '' ? message.body : undefined;
}
