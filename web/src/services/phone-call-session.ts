import { MAX_DURATION_BYE_REASON, OUTSIDE_POLICY_REASON_PHRASE, type IceServer } from '@deskline/protocol';
import JsSIP from 'jssip';
import type { EndEvent, RTCSession } from 'jssip/lib/RTCSession.js';
import { log } from './log.js';
import { assertPhoneCallMove, type PhoneCallState } from './phone-call-state.js';
import type { CallProgressTones } from './ringtone.js';

const debug = log('dl:softphone');

/** One call of the browser's phone, as the screen shows it. */
export interface PhoneCall {
  /** JsSIP's session id. */
  id: string;
  direction: 'incoming' | 'outgoing';
  /** The caller's number (the user part of From), or for an outgoing call the number being called. */
  number: string;
  /** An outgoing call: the far end's phone rings (a 180 came). */
  remoteRinging?: boolean;
  /** The From display name, when it says something the number does not. */
  name?: string;
  /** The sip app's call id (X-Deskline-Call-Id), to find the call in the live queue. */
  queueCallId?: string;
  state: PhoneCallState;
  /** Epoch ms when this browser started ringing. */
  ringStartedAt: number;
  /** Epoch ms when the call was connected. */
  startedAt?: number;
  endedAt?: number;
  /** Why the call ended, for the person at the screen. */
  endReason?: string;
}

/** How a call is answered or placed; `iceServers` are the server's TURN servers, if it has any. */
export function callOptions(iceServers: readonly IceServer[] = []): Parameters<RTCSession['answer']>[0] {
  return {
    mediaConstraints: { audio: true, video: false },
    // Without it, answering an INVITE without SDP (late offer) never completes.
    rtcOfferConstraints: { offerToReceiveAudio: true },
    // JsSIP's default is a public STUN server: only the server's own TURN servers, or none.
    // rtpengine drops a=group:BUNDLE, hence no max-bundle.
    pcConfig: {
      iceServers: iceServers.map((server) => ({ ...server })),
      bundlePolicy: 'balanced',
      rtcpMuxPolicy: 'require',
    },
  };
}

/** JsSIP's end causes of an outgoing call (a callback) that get words of their own. */
const OUTGOING_END_REASONS: Record<string, string> = {
  Busy: 'The line is busy.',
  Unavailable: 'Nobody answered.',
  'No Answer': 'Nobody answered.',
  Rejected: 'The call was declined.',
  'Not Found': 'The call could not be placed: the callback expired or the number does not exist.',
  'Authentication Error': "The phone server refused this workstation's credentials.",
  'SIP Failure Code': 'The call could not be placed.',
};

/** JsSIP's end causes (JsSIP.C.causes) that get their own words. */
const END_REASONS: Record<string, string> = {
  Terminated: 'Call ended.',
  Canceled: 'The caller hung up.',
  'User Denied Media Access': "The microphone could not be used. Check the browser's permission for this page.",
  'WebRTC Error': "The call's audio could not be set up.",
  'Incompatible SDP': "The call's audio could not be set up.",
  'Bad Media Description': "The call's audio could not be set up.",
  'No ACK': 'The call was lost while connecting.',
  'RTP Timeout': "The call's audio was lost.",
  'Connection Error': 'The connection to the phone server was lost.',
  'Request Timeout': 'The phone server did not answer.',
};

/** What a call tells the phone that holds it. */
export interface PhoneCallHooks {
  /** Something the screen shows of the call changed. */
  changed(): void;
  /**
   * The session is over (once per call); with `show`, the call is now `ended` and stays on screen for
   * a moment, without it the call is simply gone.
   */
  ended(call: PhoneCallSession, show: boolean): void;
}

/**
 * One call's lifecycle, either way: its JsSIP session, its moves through the table in
 * phone-call-state.ts (each through `#moveTo`, which throws on an illegal one), mute, the far end's
 * audio, an outgoing call's progress tones, and why it ended.
 */
export class PhoneCallSession {
  #view: PhoneCall;
  #muted = false;
  #remoteStream: MediaStream | undefined;
  /** The session ended (or was dropped): its later events are not this call's business any more. */
  #over = false;
  #shown = true;

  private constructor(
    readonly session: RTCSession,
    view: PhoneCall,
    private readonly hooks: PhoneCallHooks,
    private readonly tones: CallProgressTones | undefined,
  ) {
    this.#view = view;
    this.#watch();
  }

  /** An INVITE that rings here; its `peerconnection` follows, and the far end's audio with it. */
  static incoming(
    session: RTCSession,
    view: Omit<PhoneCall, 'direction' | 'state' | 'ringStartedAt'>,
    hooks: PhoneCallHooks,
  ): PhoneCallSession {
    const call = new PhoneCallSession(
      session,
      { ...view, direction: 'incoming', state: 'ringing', ringStartedAt: Date.now() },
      hooks,
      undefined,
    );
    session.on('peerconnection', ({ peerconnection }) =>
      peerconnection.addEventListener('track', (event) => call.hear(event)),
    );
    return call;
  }

  /**
   * A call placed with `session` (from ua.call, whose `peerconnection` handler must pass the
   * connection's track events to `hear`); `tones` plays the ringback while the far end rings (the sip
   * app relays no early media), and the busy or error tone when it fails.
   */
  static outgoing(
    session: RTCSession,
    number: string,
    hooks: PhoneCallHooks,
    tones: CallProgressTones | undefined,
  ): PhoneCallSession {
    const call = new PhoneCallSession(
      session,
      { id: session.id, direction: 'outgoing', number, state: 'connecting', ringStartedAt: Date.now() },
      hooks,
      tones,
    );
    call.#watchProgress();
    return call;
  }

  get view(): PhoneCall {
    return this.#view;
  }

  get muted(): boolean {
    return this.#muted;
  }

  /** The far end's audio, for an <audio> element. */
  get remoteStream(): MediaStream | undefined {
    return this.#remoteStream;
  }

  answer(iceServers: readonly IceServer[] | undefined): void {
    if (this.#over || this.#view.state !== 'ringing') return;
    this.#moveTo('connecting');
    this.hooks.changed();
    try {
      this.session.answer(callOptions(iceServers));
    } catch (error) {
      debug('answer failed', error);
      this.end('The call could not be answered.');
    }
  }

  hangUp(): void {
    if (this.#over || this.session.isEnded()) return;
    try {
      this.session.terminate();
    } catch (error) {
      debug('terminate failed', error);
      this.end(END_REASONS['Terminated']);
    }
  }

  setMuted(muted: boolean): void {
    if (this.#over || !this.session.isEstablished()) return;
    if (muted) this.session.mute({ audio: true });
    else this.session.unmute({ audio: true });
  }

  /** The far end's audio becomes `remoteStream` while the call lasts. */
  hear(event: RTCTrackEvent): void {
    if (this.#over || event.track.kind !== 'audio') return;
    this.#remoteStream = event.streams[0] ?? new MediaStream([event.track]);
    this.hooks.changed();
  }

  /** Forgets the session; with `show`, the call stays on screen as ended (with `reason`) for a moment. */
  end(reason: string | undefined, show = true): void {
    if (this.#over) return;
    debug('call ended:', reason);
    this.#over = true;
    this.#shown = show;
    this.#remoteStream = undefined;
    this.#muted = false;
    if (show) this.#moveTo('ended', { endedAt: Date.now(), ...(reason ? { endReason: reason } : {}) });
    this.hooks.ended(this, show);
  }

  /** The one way the call's state changes: only along the table. */
  #moveTo(state: PhoneCallState, fields: Partial<PhoneCall> = {}): void {
    assertPhoneCallMove(this.#view.state, state);
    this.#view = { ...this.#view, ...fields, state };
  }

  /** What every call, either way, follows of its session: connected, muted, ended. */
  #watch(): void {
    const session = this.session;
    session.on('confirmed', () => {
      if (this.#over) return;
      this.#moveTo('in-call', { startedAt: Date.now() });
      this.hooks.changed();
    });
    session.on('muted', () => {
      if (this.#over) return;
      this.#muted = true;
      this.hooks.changed();
    });
    session.on('unmuted', () => {
      if (this.#over) return;
      this.#muted = false;
      this.hooks.changed();
    });
    session.on('ended', (event: EndEvent) => this.end(this.#endReason(event)));
    session.on('failed', (event: EndEvent) => {
      // The caller gave up before anyone answered: nothing to show, the call is simply gone.
      const missed = event.originator === 'remote' && event.cause === 'Canceled' && this.#view.state === 'ringing';
      this.end(this.#endReason(event), !missed);
    });
  }

  /** An outgoing call's ringback, and its busy or error tone, as a phone plays them. */
  #watchProgress(): void {
    const session = this.session;
    session.on('progress', () => {
      if (this.#over || this.#view.state !== 'connecting' || this.#view.remoteRinging) return;
      this.#view = { ...this.#view, remoteRinging: true };
      this.hooks.changed();
      this.tones?.startRingback();
    });
    // The 200 came: silence at once (confirmed follows when the ACK is sent).
    session.on('accepted', () => {
      if (!this.#over) this.tones?.stopTone();
    });
    session.on('failed', (event: EndEvent) => {
      // After #watch's handler has ended the call (and the phone silenced the ringback): say how it failed.
      if (!this.#shown || this.#view.state !== 'ended' || event.originator === 'local') return;
      if (event.cause === JsSIP.C.causes.BUSY) this.tones?.playBusy();
      else if (event.cause !== JsSIP.C.causes.CANCELED) this.tones?.playError();
    });
  }

  #endReason(event: EndEvent): string {
    const outgoing = this.#view.direction === 'outgoing';
    // The clinic's callback policy (docs/security.md): the sip app says so in the reason phrase of
    // its refusal, and in the Reason header of the BYEs at the longest callback.
    const message = event.message as
      { reason_phrase?: string; method?: string; getHeader?(name: string): string | undefined } | undefined;
    if (outgoing && event.originator === 'remote' && message) {
      if (message.reason_phrase === OUTSIDE_POLICY_REASON_PHRASE)
        return "The clinic's callback policy does not allow calling this number.";
      if (message.method === 'BYE' && message.getHeader?.('Reason') === MAX_DURATION_BYE_REASON) {
        return "The call reached the longest callback the clinic's policy allows.";
      }
    }
    if (event.cause === 'Terminated') {
      if (event.originator === 'local') return 'You ended the call.';
      return outgoing ? 'The patient hung up.' : 'The caller hung up.';
    }
    if (outgoing && event.cause === 'Canceled') return 'You hung up before anyone answered.';
    return (
      (outgoing ? OUTGOING_END_REASONS[event.cause] : undefined) ??
      END_REASONS[event.cause] ??
      `The call ended (${event.cause}).`
    );
  }
}
