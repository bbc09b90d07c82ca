import type { Logger } from 'pino';
import type { IncomingInviteRequest, Session } from 'sip.js/lib/core/index.js';
import { sendBye } from '../calls/bye.js';
import { sendReinvite } from '../calls/reinvite.js';
import { PatientKeepalive, type KeepaliveFailure } from '../calls/patient-keepalive.js';
import type { DialogServices } from '../sip/sip-stack.js';

/**
 * The leg's SIP life (we are the UAS of the browser's INVITE):
 *
 *   invited ──(200 with our SDP)──> answered ──(ACK)──> confirmed ──(BYE either way)──> ended
 *      ├──(our final error response)──────────────────────────────────────────────────> ended
 *      └──(the browser's CANCEL: 487)──────────────────────────────────────────────────> ended
 */
export type BrowserLegState = 'invited' | 'answered' | 'confirmed' | 'ended';

export interface BrowserLegEvents {
  /** The employee hung up before the patient answered (CANCEL, answered 487 already). */
  onCancelled(): void;
  /** The employee hung up an answered callback (their BYE has been answered). */
  onHungUp(): void;
  /** No ACK came for our 200 OK. */
  onAckTimeout(): void;
  /** The browser no longer answers the keepalive (its WebSocket closed, the tab is gone); the dialog is closed. */
  onVanished(failure: KeepaliveFailure): void;
}

export interface BrowserLegKeepalive {
  dialogs: DialogServices;
  /** PATIENT_KEEPALIVE_SECONDS, in ms. */
  intervalMs: number;
}

/** The employee's side of a callback: the browser's INVITE (through Kamailio) and, once answered, its dialog. */
export class BrowserLeg {
  private current: BrowserLegState = 'invited';
  private session: Session | undefined;
  private keepalive: PatientKeepalive | undefined;

  constructor(
    private readonly request: IncomingInviteRequest,
    private readonly events: BrowserLegEvents,
    private readonly log: Logger,
    private readonly keepaliveOptions?: BrowserLegKeepalive,
  ) {
    request.delegate = {
      onCancel: () => {
        if (this.current !== 'invited') return;
        this.respond(487, 'Request Terminated');
        this.events.onCancelled();
      },
    };
  }

  get state(): BrowserLegState {
    return this.current;
  }

  /** The patient's phone rings. */
  ringing(): void {
    if (this.current !== 'invited') return;
    try {
      this.request.progress({ statusCode: 180, reasonPhrase: 'Ringing' });
    } catch (err) {
      this.log.warn({ err }, 'could not send 180 to the browser');
    }
  }

  /** 200 OK with rtpengine's answer for the browser; false when the transaction is gone (a CANCEL crossed it). */
  accept(sdp: string): boolean {
    if (this.current !== 'invited') return false;
    try {
      const { session } = this.request.accept({
        statusCode: 200,
        body: { contentDisposition: 'session', contentType: 'application/sdp', content: sdp },
      });
      this.current = 'answered';
      this.session = session;
      session.delegate = {
        onAck: () => {
          if (this.current !== 'answered') return;
          this.current = 'confirmed';
          this.watch(session);
        },
        onAckTimeout: () => {
          if (this.current !== 'answered') return;
          this.log.warn('no ACK from the browser for our 200 OK');
          this.end();
          session.dispose();
          this.events.onAckTimeout();
        },
        onBye: (bye) => {
          bye.accept();
          if (this.current === 'ended') return;
          this.end();
          this.events.onHungUp();
        },
      };
      return true;
    } catch (err) {
      this.log.warn({ err }, "could not answer the browser's INVITE");
      this.current = 'ended';
      return false;
    }
  }

  /** A re-INVITE to the confirmed browser with our new offer `sdp`; resolves with its answer (sendReinvite). */
  reoffer(sdp: string): Promise<string> {
    if (this.current !== 'confirmed' || !this.session)
      return Promise.reject(new Error('the browser leg is not confirmed'));
    return sendReinvite(this.session, sdp, this.log);
  }

  /** A final error response to the INVITE, while it has none. */
  refuse(statusCode: number, reasonPhrase: string): void {
    if (this.current !== 'invited') return;
    this.respond(statusCode, reasonPhrase);
  }

  /** Ends the leg: an error response while invited, BYE (with `byeHeaders`) once answered. Never throws. */
  async hangUp(statusCode = 503, reasonPhrase = 'Service Unavailable', byeHeaders: string[] = []): Promise<void> {
    if (this.current === 'invited') {
      this.respond(statusCode, reasonPhrase);
      return;
    }
    if (this.current === 'ended' || !this.session) return;
    this.end();
    await sendBye(this.session, this.log, byeHeaders);
  }

  /**
   * JsSIP sends no keepalive and Kamailio tells nobody when a browser's WebSocket closes: the same
   * in-dialog OPTIONS as towards a patient asks the browser (JsSIP answers every OPTIONS 200).
   * Through a closed WebSocket Kamailio's t_relay finds no connection and sl_reply_error answers at
   * once `500 No error (2/SL)` (measured with Kamailio 5.x here; 477 for a failed send): both mean
   * the browser is unreachable. A tab that hangs with its socket open times out: 408.
   */
  private watch(session: Session): void {
    const options = this.keepaliveOptions;
    if (!options) return;
    this.keepalive = new PatientKeepalive({
      intervalMs: options.intervalMs,
      canProbe: () => options.dialogs.connected,
      probe: (delegate) => options.dialogs.ping(session, delegate),
      alsoVanishedOn: [477, 500],
      onVanished: (failure) => {
        if (this.current === 'ended') return;
        this.log.warn(failure, 'the browser did not answer the keepalive: its connection is gone');
        this.end();
        session.dispose();
        this.events.onVanished(failure);
      },
      log: this.log,
    });
    this.keepalive.start();
  }

  private end(): void {
    this.current = 'ended';
    this.keepalive?.stop();
  }

  private respond(statusCode: number, reasonPhrase: string): void {
    this.current = 'ended';
    try {
      this.request.reject({ statusCode, reasonPhrase });
    } catch (err) {
      // The transaction may have ended meanwhile.
      this.log.warn({ err, statusCode }, 'could not send the final response to the browser');
    }
  }
}
