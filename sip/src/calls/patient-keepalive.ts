import type { Logger } from 'pino';
import type { IncomingResponse, OutgoingRequestDelegate } from 'sip.js/lib/core/index.js';
import { isLocalFailure } from '../sip/dialogs.js';
import type { AdoptionProbes } from './adoption-probes.js';

/** How a patient answered a keepalive, or failed to. */
export interface KeepaliveFailure {
  statusCode: number;
  reasonPhrase: string;
}

export interface PatientKeepaliveOptions {
  /** PATIENT_KEEPALIVE_SECONDS, in ms: the wait between one answer and the next OPTIONS. */
  intervalMs: number;
  /** Sends one OPTIONS in the patient's dialog; may throw. */
  probe(delegate: OutgoingRequestDelegate): void;
  /** False while the connection to Kamailio is down: a probe then proves nothing either way. */
  canProbe(): boolean;
  /** The phone answered 2xx: it is there, by its own word (not Kamailio's). */
  onOk?(): void;
  /**
   * Further final statuses that mean the line is gone, besides GONE_STATUSES and a transport error (the
   * browser leg of a callback: Kamailio's 500 or 477 when the browser's WebSocket is closed). None for patients.
   */
  alsoVanishedOn?: readonly number[];
  /** The patient's line is gone. Called once; the keepalive has stopped. */
  onVanished(failure: KeepaliveFailure): void;
  log: Logger;
}

/** How soon a keepalive skipped while the connection to Kamailio is down is tried again. */
export const NOT_CONNECTED_RETRY_MS = 500;

/**
 * Final answers to an in-dialog OPTIONS that mean "no such dialog any more" (docs/call-path.md, "A
 * patient who vanishes"):
 *   - 404: our own Kamailio's "Not Here", for an in-dialog request of a dialog it cannot vouch for
 *     (one that ended, or whose signed Route it refuses: nothing will ever carry this dialog's requests
 *     again), or a phone saying its Contact, the dialog's target, no longer exists;
 *   - 408: nobody answered (Kamailio's fr_timer, 10 s, or our own transaction's timer);
 *   - 481: the phone no longer knows the call (RFC 3261 §12.2.2).
 */
export const GONE_STATUSES: readonly number[] = [404, 408, 481];

/**
 * Asks an answered patient's phone, with an in-dialog OPTIONS every PATIENT_KEEPALIVE_SECONDS,
 * whether it is still there, as Kamailio's dialog keepalives and Asterisk's qualify do:
 *
 *   - one of GONE_STATUSES, or a transport error: the patient has vanished;
 *   - any other answer (200, 405, 501, …): a phone answered, so the patient is still there.
 *
 * One OPTIONS at a time; the next one waits for the answer to the last.
 */
export class PatientKeepalive {
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  /** An OPTIONS is on its way and has had no answer yet, or waits its turn in AdoptionProbes. */
  private waiting = false;

  constructor(private readonly options: PatientKeepaliveOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Asks at once instead of at the next interval (something suggests the line is gone); the interval starts again after the answer. */
  probeNow(): void {
    if (this.stopped || this.waiting) return;
    clearTimeout(this.timer);
    this.probe();
  }

  /**
   * Asks as soon as its turn comes in `probes` (an adopted call, asked at once with the others adopted
   * with it: see AdoptionProbes); the interval starts again after the answer.
   */
  probePaced(probes: AdoptionProbes): void {
    if (this.stopped || this.waiting) return;
    clearTimeout(this.timer);
    this.waiting = true;
    probes.enqueue(() => {
      this.waiting = false;
      this.probe();
    });
  }

  private schedule(delayMs = this.options.intervalMs): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.probe(), delayMs);
  }

  private probe(): void {
    const { log } = this.options;
    if (this.stopped) return;
    if (!this.options.canProbe()) {
      // Asked again soon rather than a whole interval later: an adopted call (at start, before the
      // connection) and every call after a Kamailio restart want their answer as soon as it is back.
      log.debug('not connected to Kamailio; keepalive skipped');
      this.schedule(Math.min(this.options.intervalMs, NOT_CONNECTED_RETRY_MS));
      return;
    }
    const answered = (response: IncomingResponse): void => this.answered(response);
    try {
      this.waiting = true;
      this.options.probe({ onAccept: answered, onRedirect: answered, onReject: answered });
    } catch (err) {
      this.waiting = false;
      log.warn({ err }, 'could not send the keepalive OPTIONS');
      this.schedule();
    }
  }

  private answered({ message }: IncomingResponse): void {
    this.waiting = false;
    if (this.stopped) return;
    const statusCode = message.statusCode ?? 0;
    const reasonPhrase = message.reasonPhrase ?? '';
    const vanished =
      GONE_STATUSES.includes(statusCode) ||
      (statusCode === 503 && isLocalFailure(message)) ||
      (this.options.alsoVanishedOn?.includes(statusCode) ?? false);
    if (!vanished) {
      this.options.log.debug({ statusCode }, 'the patient answered the keepalive');
      if (statusCode >= 200 && statusCode < 300) this.options.onOk?.();
      this.schedule();
      return;
    }
    this.stop();
    this.options.onVanished({ statusCode, reasonPhrase });
  }
}
