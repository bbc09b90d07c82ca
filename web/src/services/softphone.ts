import { QUEUE_CALL_ID_HEADER, type Workstation } from '@deskline/protocol';
import type { RTCSession } from 'jssip/lib/RTCSession.js';
import type { IncomingRTCSessionEvent } from 'jssip/lib/UA.js';
import type { ApiClient } from './api-client.js';
import { log } from './log.js';
import { PhoneCallSession, callOptions, type PhoneCall, type PhoneCallHooks } from './phone-call-session.js';
import type { CallProgressTones, Ringtone } from './ringtone.js';
import { SipRegistration, type RegistrationState } from './sip-registration.js';

const debug = log('dl:softphone');

export interface SoftphoneState {
  registration: RegistrationState;
  /** The incoming or active call, or one that just ended (shown for a moment). */
  call?: PhoneCall;
  muted: boolean;
  /** The caller's audio, for an <audio> element. */
  remoteStream?: MediaStream;
}

/** An answered call that ended stays on screen this long, so the person sees what happened. */
const ENDED_CALL_VISIBLE_MS = 4_000;

const PHONE_NUMBER = /^\+?[0-9*#]+$/;

/**
 * Who is calling, from the From header: the number is whichever of the user part and the display
 * name looks like one (trunks differ), the name is a display name that says something else.
 */
function callerOf(session: RTCSession): { number: string; name?: string } {
  const user = session.remote_identity.uri.user ?? '';
  const display = (session.remote_identity.display_name ?? '').trim();
  const number =
    [user, display].find((candidate) => PHONE_NUMBER.test(candidate.replace(/[\s()./-]/g, ''))) ||
    display ||
    user ||
    'Unknown number';
  return display && display !== number ? { number, name: display } : { number };
}

/** The user part of a SIP URI ("sip:cb-…@domain" → "cb-…"), or the text itself. */
function targetUser(target: string): string {
  return /^sips?:([^@;]+)@/.exec(target)?.[1] ?? target;
}

/**
 * The browser's phone: the workstation's registration (SipRegistration) and at most one call
 * (PhoneCallSession). It rings (through `ringtone`) on an incoming INVITE, and answers, calls, mutes
 * and hangs up on request. Only one call at a time: a second INVITE gets 486 Busy Here.
 *
 * Components read `state` and call the intents; the element that shows the call plays
 * `state.remoteStream` in an <audio> element.
 *
 * @fires change - `Event`: `state` changed.
 */
export class Softphone extends EventTarget {
  readonly #registration: SipRegistration;
  #call: PhoneCallSession | undefined;
  #clearCallTimer: ReturnType<typeof setTimeout> | undefined;

  readonly #callHooks: PhoneCallHooks = {
    changed: () => this.#changed(),
    ended: (call, show) => this.#onCallEnded(call, show),
  };

  /**
   * `ringtone` rings for incoming calls; `tones` (usually the same Ringtone) plays an outgoing call's
   * ringback, busy and error tones. Without `tones`, outgoing calls are silent until answered.
   */
  constructor(
    api: ApiClient,
    private readonly ringtone: Pick<Ringtone, 'start' | 'stop'>,
    private readonly tones?: CallProgressTones,
  ) {
    super();
    this.#registration = new SipRegistration(api, {
      changed: () => this.#changed(),
      incoming: (event) => this.#onIncoming(event),
      stopping: () => this.#dropCall(),
      busy: () => this.busy,
    });
  }

  get state(): SoftphoneState {
    const call = this.#call;
    return {
      registration: this.#registration.state,
      ...(call ? { call: call.view } : {}),
      muted: call?.muted ?? false,
      ...(call?.remoteStream ? { remoteStream: call.remoteStream } : {}),
    };
  }

  /** Whether a call is ringing or connected (not one that has ended). */
  get busy(): boolean {
    return this.#call !== undefined && this.#call.view.state !== 'ended';
  }

  /**
   * Registers as `workstation` if it is a browser workstation, after unregistering from the one
   * before; with a desk phone or nothing, unregisters.
   */
  use(workstation: Workstation | undefined): void {
    this.#registration.use(workstation);
  }

  /** Unregisters, hangs up and disconnects from the phone server (logout). */
  stop(): void {
    this.use(undefined);
  }

  answer(): void {
    const call = this.#call;
    if (call?.view.state !== 'ringing') return;
    this.ringtone.stop();
    call.answer(this.#registration.iceServers);
  }

  /**
   * Calls `target` (a callback's `sip:cb-<token>@<domain>` from POST /api/tasks/:id/callback), audio
   * only, with the same media settings as answering. `number` is what the call shows (the patient's
   * number; the target does not carry it). Does nothing while not registered or on another call; false then.
   */
  call(target: string, options: { number?: string } = {}): boolean {
    const ua = this.#registration.ua;
    if (ua === undefined || this.busy) return false;
    clearTimeout(this.#clearCallTimer);
    this.tones?.stopTone();
    let placed: PhoneCallSession | undefined;
    let session: RTCSession;
    try {
      session = ua.call(target, {
        ...callOptions(this.#registration.iceServers),
        eventHandlers: {
          // Fired inside ua.call(), before it returns the session; the tracks come later.
          peerconnection: ({ peerconnection }) =>
            peerconnection.addEventListener('track', (event) => placed?.hear(event)),
        },
      });
    } catch (error) {
      debug('call failed', error);
      return false;
    }
    debug('calling', target);
    placed = PhoneCallSession.outgoing(session, options.number ?? targetUser(target), this.#callHooks, this.tones);
    this.#call = placed;
    this.#changed();
    return true;
  }

  hangUp(): void {
    this.#call?.hangUp();
  }

  setMuted(muted: boolean): void {
    this.#call?.setMuted(muted);
  }

  #onIncoming({ session, request }: IncomingRTCSessionEvent): void {
    if (this.busy) {
      debug('busy: refusing', session.id);
      session.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
      return;
    }
    clearTimeout(this.#clearCallTimer);
    this.tones?.stopTone();
    const { number, name } = callerOf(session);
    const queueCallId = request.getHeader(QUEUE_CALL_ID_HEADER) || undefined;
    debug('incoming call from', number, queueCallId ?? '');
    this.#call = PhoneCallSession.incoming(
      session,
      { id: session.id, number, ...(name ? { name } : {}), ...(queueCallId ? { queueCallId } : {}) },
      this.#callHooks,
    );
    this.#changed();
    this.ringtone.start();
  }

  /** Silences the call's sounds; a call that is shown as ended goes away after a moment. */
  #onCallEnded(call: PhoneCallSession, show: boolean): void {
    this.ringtone.stop();
    this.tones?.stopTone();
    if (this.#call !== call) return;
    if (!show) {
      this.#call = undefined;
      this.#changed();
      return;
    }
    this.#changed();
    clearTimeout(this.#clearCallTimer);
    this.#clearCallTimer = setTimeout(() => {
      if (this.#call === call) {
        this.#call = undefined;
        this.#changed();
      }
    }, ENDED_CALL_VISIBLE_MS);
  }

  /** Before the user agent stops: the call, whatever its state, goes with it, silently. */
  #dropCall(): void {
    clearTimeout(this.#clearCallTimer);
    this.#call?.end(undefined, false);
    this.#call = undefined;
    this.ringtone.stop();
    this.tones?.stopTone();
  }

  #changed(): void {
    this.dispatchEvent(new Event('change'));
  }
}
