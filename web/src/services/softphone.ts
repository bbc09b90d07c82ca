import {
  MAX_DURATION_BYE_REASON,
  OUTSIDE_POLICY_REASON_PHRASE,
  QUEUE_CALL_ID_HEADER,
  type IceServer,
  type SipCredentials,
  type Workstation,
} from '@deskline/protocol';
import JsSIP from 'jssip';
import type { EndEvent, RTCSession } from 'jssip/lib/RTCSession.js';
import type { IncomingRTCSessionEvent, RTCSessionEvent, RegistrationFailedListener, UA } from 'jssip/lib/UA.js';
import { ApiRequestError, type ApiClient } from './api-client.js';
import { log } from './log.js';
import type { CallProgressTones, Ringtone } from './ringtone.js';

const debug = log('dl:softphone');

/** The registration of this browser as its workstation's SIP user. */
export type RegistrationState =
  | { status: 'off' }
  | { status: 'registering'; workstation: Workstation }
  | { status: 'registered'; workstation: Workstation }
  | { status: 'failed'; workstation: Workstation; reason: string };

/**
 * An incoming call:
 *
 *   ringing ──(answer)──> connecting ──(ACK)──> in-call ──(either side hangs up)──> ended
 *      └──────────(caller cancels, answer fails)────────────────────────────────────────┘
 *
 * An outgoing call (a callback, `call()`): `ringing` always means "rings here" (the Answer button,
 * the ringtone, the notification), so an outgoing call stays `connecting` while the patient's phone
 * rings, and says so with `remoteRinging`:
 *
 *   connecting ──(180: remoteRinging)──> connecting ──(200)──> in-call ──(either side hangs up)──> ended
 *      └──────────(busy, no answer, refused, we hang up: CANCEL)──────────────────────────────────┘
 */
export type PhoneCallState = 'ringing' | 'connecting' | 'in-call' | 'ended';

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

export interface SoftphoneState {
  registration: RegistrationState;
  /** The incoming or active call, or one that just ended (shown for a moment). */
  call?: PhoneCall;
  muted: boolean;
  /** The caller's audio, for an <audio> element. */
  remoteStream?: MediaStream;
}

/** Asked of Kamailio; it grants browsers less (WS_MAX_EXPIRES), so a closed tab does not linger. */
const REGISTER_EXPIRES = 300;
/** Credentials are renewed this long before they expire, or after 90% of their life if shorter. */
const CREDENTIALS_MARGIN_MS = 15 * 60_000;
const MIN_REFRESH_MS = 10_000;
/** Retries of a failed credentials request or registration: doubling from 2 s up to a minute. */
const FIRST_RETRY_MS = 2_000;
const MAX_RETRY_MS = 60_000;
/** An answered call that ended stays on screen this long, so the person sees what happened. */
const ENDED_CALL_VISIBLE_MS = 4_000;

/** The SIP header in which the sip app names its call when it rings a workstation. */

/** How a call is answered; `iceServers` are the server's TURN servers, if it has any. */
function answerOptions(iceServers: readonly IceServer[] = []): Parameters<RTCSession['answer']>[0] {
  return {
    mediaConstraints: { audio: true, video: false },
    // Without it, answering an INVITE without SDP (late offer) never completes.
    rtcOfferConstraints: { offerToReceiveAudio: true },
    // JsSIP's default is a public STUN server: only the server's own TURN servers, or none.
    // rtpengine drops a=group:BUNDLE, hence no max-bundle.
    pcConfig: { iceServers: iceServers.map((server) => ({ ...server })), bundlePolicy: 'balanced', rtcpMuxPolicy: 'require' },
  };
}

/** JsSIP's end causes of an outgoing call (a callback) that get words of their own. */
const OUTGOING_END_REASONS: Record<string, string> = {
  Busy: 'The line is busy.',
  Unavailable: 'Nobody answered.',
  'No Answer': 'Nobody answered.',
  Rejected: 'The call was declined.',
  'Not Found': 'The call could not be placed: the callback expired or the number does not exist.',
  'Authentication Error': 'The phone server refused this workstation\'s credentials.',
  'SIP Failure Code': 'The call could not be placed.',
};

/** JsSIP's end causes (JsSIP.C.causes) that get their own words. */
const END_REASONS: Record<string, string> = {
  Terminated: 'Call ended.',
  Canceled: 'The caller hung up.',
  'User Denied Media Access': 'The microphone could not be used. Check the browser\'s permission for this page.',
  'WebRTC Error': 'The call\'s audio could not be set up.',
  'Incompatible SDP': 'The call\'s audio could not be set up.',
  'Bad Media Description': 'The call\'s audio could not be set up.',
  'No ACK': 'The call was lost while connecting.',
  'RTP Timeout': 'The call\'s audio was lost.',
  'Connection Error': 'The connection to the phone server was lost.',
  'Request Timeout': 'The phone server did not answer.',
};

function registrationFailure(cause: string | undefined, status: number | undefined): string {
  if (status === 401 || status === 403) return 'The phone server refused this workstation\'s credentials.';
  if (cause === 'Connection Error') return 'Cannot reach the phone server. Trying again…';
  if (cause === 'Request Timeout') return 'The phone server did not answer. Trying again…';
  return `The phone server refused the registration${status ? ` (${status})` : ''}. Trying again…`;
}

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

function retryDelay(attempt: number): number {
  return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** attempt);
}

/**
 * The browser's phone. On a browser workstation it fetches SIP credentials from signaling and
 * registers a JsSIP user agent with Kamailio as that workstation (`sip:ws-<id>@<domain>`), renews
 * the credentials before they expire, rings (through `ringtone`) on an incoming INVITE, and answers,
 * mutes and hangs up on request. An outgoing call plays, through `tones`, the ringback while the far
 * end rings (the sip app relays no early media), and the busy or error tone when it fails. Only one call at a time: a second INVITE gets 486 Busy Here.
 *
 * Components read `state` and call the intents; the element that shows the call plays
 * `state.remoteStream` in an <audio> element.
 *
 * @fires change - `Event`: `state` changed.
 */
export class Softphone extends EventTarget {
  #registration: RegistrationState = { status: 'off' };
  #call: PhoneCall | undefined;
  #muted = false;
  #remoteStream: MediaStream | undefined;

  #workstation: Workstation | undefined;
  #ua: UA | undefined;
  #session: RTCSession | undefined;
  /** Bumped whenever the user agent is replaced, so late answers of an old one are ignored. */
  #generation = 0;
  #credentials: SipCredentials | undefined;
  #credentialsRequest: AbortController | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retries = 0;
  #clearCallTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * `ringtone` rings for incoming calls; `tones` (usually the same Ringtone) plays an outgoing call's
   * ringback, busy and error tones. Without `tones`, outgoing calls are silent until answered.
   */
  constructor(
    private readonly api: ApiClient,
    private readonly ringtone: Pick<Ringtone, 'start' | 'stop'>,
    private readonly tones?: CallProgressTones,
  ) {
    super();
  }

  get state(): SoftphoneState {
    return {
      registration: this.#registration,
      ...(this.#call ? { call: this.#call } : {}),
      muted: this.#muted,
      ...(this.#remoteStream ? { remoteStream: this.#remoteStream } : {}),
    };
  }

  /** Whether a call is ringing or connected (not one that has ended). */
  get busy(): boolean {
    return this.#call !== undefined && this.#call.state !== 'ended';
  }

  /**
   * Registers as `workstation` if it is a browser workstation, after unregistering from the one
   * before; with a desk phone or nothing, unregisters.
   */
  use(workstation: Workstation | undefined): void {
    const wanted = workstation?.kind === 'browser' ? workstation : undefined;
    const running = this.#ua !== undefined || this.#credentialsRequest !== undefined;
    if (wanted !== undefined && wanted.id === this.#workstation?.id && running) return;
    this.#shutDown();
    this.#workstation = wanted;
    if (wanted === undefined) {
      this.#setRegistration({ status: 'off' });
      return;
    }
    this.#setRegistration({ status: 'registering', workstation: wanted });
    void this.#start(this.#generation);
  }

  /** Unregisters, hangs up and disconnects from the phone server (logout). */
  stop(): void {
    this.use(undefined);
  }

  answer(): void {
    const session = this.#session;
    const call = this.#call;
    if (session === undefined || call?.state !== 'ringing') return;
    this.ringtone.stop();
    this.#setCall({ ...call, state: 'connecting' });
    try {
      session.answer(answerOptions(this.#credentials?.iceServers));
    } catch (error) {
      debug('answer failed', error);
      this.#endCall(session, 'The call could not be answered.');
    }
  }

  /**
   * Calls `target` (a callback's `sip:cb-<token>@<domain>` from POST /api/tasks/:id/callback), audio
   * only, with the same media settings as answering. `number` is what the call shows (the patient's
   * number; the target does not carry it). Does nothing while not registered or on another call; false then.
   */
  call(target: string, options: { number?: string } = {}): boolean {
    const ua = this.#ua;
    if (ua === undefined || this.#registration.status !== 'registered' || this.busy) return false;
    clearTimeout(this.#clearCallTimer);
    this.tones?.stopTone();
    let session: RTCSession | undefined;
    try {
      session = ua.call(target, {
        ...answerOptions(this.#credentials?.iceServers),
        eventHandlers: {
          // Fired inside ua.call(), before it returns the session.
          peerconnection: ({ peerconnection }) => this.#takeRemoteAudio(() => session, peerconnection),
        },
      });
    } catch (error) {
      debug('call failed', error);
      return false;
    }
    this.#session = session;
    this.#muted = false;
    this.#remoteStream = undefined;
    debug('calling', target);
    const callSession = session;
    session.on('progress', () => {
      const call = this.#call;
      if (this.#session === callSession && call !== undefined && call.state === 'connecting' && !call.remoteRinging) {
        this.#setCall({ ...call, remoteRinging: true });
        // The sip app relays no early media: the ringback is made here, until the answer or the end.
        this.tones?.startRingback();
      }
    });
    // The 200 came: silence at once (confirmed follows when the ACK is sent).
    session.on('accepted', () => {
      if (this.#session === callSession) this.tones?.stopTone();
    });
    this.#watch(session);
    session.on('failed', (event: EndEvent) => {
      // After #watch's handler has ended the call (and silenced the ringback): say how it failed, as a phone does.
      if (this.#call?.id !== callSession.id || this.#call.state !== 'ended' || event.originator === 'local') return;
      if (event.cause === JsSIP.C.causes.BUSY) this.tones?.playBusy();
      else if (event.cause !== JsSIP.C.causes.CANCELED) this.tones?.playError();
    });
    this.#setCall({
      id: session.id,
      direction: 'outgoing',
      number: options.number ?? targetUser(target),
      state: 'connecting',
      ringStartedAt: Date.now(),
    });
    return true;
  }

  hangUp(): void {
    const session = this.#session;
    if (session === undefined || session.isEnded()) return;
    try {
      session.terminate();
    } catch (error) {
      debug('terminate failed', error);
      this.#endCall(session, END_REASONS['Terminated']);
    }
  }

  setMuted(muted: boolean): void {
    const session = this.#session;
    if (session === undefined || !session.isEstablished()) return;
    if (muted) session.mute({ audio: true });
    else session.unmute({ audio: true });
  }

  async #start(generation: number): Promise<void> {
    const credentials = await this.#fetchCredentials(generation, () => void this.#start(generation));
    const workstation = this.#workstation;
    if (credentials === undefined || generation !== this.#generation || workstation === undefined) return;
    this.#credentials = credentials;
    let ua: UA;
    try {
      ua = new JsSIP.UA({
        sockets: [new JsSIP.WebSocketInterface(credentials.wsUrl)],
        uri: credentials.uri,
        authorization_user: credentials.username,
        password: credentials.password,
        register: true,
        register_expires: REGISTER_EXPIRES,
        session_timers: false,
        user_agent: 'Deskline',
      });
    } catch (error) {
      debug('user agent not created', error);
      this.#setRegistration({ status: 'failed', workstation, reason: 'The phone settings from the server are not usable.' });
      return;
    }
    this.#ua = ua;
    const current = (): boolean => this.#ua === ua;
    ua.on('connected', () => {
      if (current() && this.#registration.status !== 'registered') this.#setRegistration({ status: 'registering', workstation });
    });
    ua.on('disconnected', () => {
      // JsSIP reconnects by itself, and registers again once connected.
      if (current()) this.#setRegistration({ status: 'failed', workstation, reason: registrationFailure('Connection Error', undefined) });
    });
    ua.on('registered', () => {
      if (!current()) return;
      debug('registered', credentials.uri);
      this.#retries = 0;
      this.#setRegistration({ status: 'registered', workstation });
    });
    ua.on('unregistered', () => {
      if (current()) this.#setRegistration({ status: 'registering', workstation });
    });
    ua.on('registrationFailed', ((event) => {
      if (current()) this.#onRegistrationFailed(ua, workstation, event.cause, event.response?.status_code);
    }) satisfies RegistrationFailedListener);
    ua.on('newRTCSession', (event: RTCSessionEvent) => {
      if (current() && event.originator === 'remote') this.#onIncoming(event);
    });
    this.#scheduleRefresh(generation, credentials.expiresAt);
    debug('starting as', credentials.uri, 'via', credentials.wsUrl);
    ua.start();
  }

  /**
   * The credentials; or undefined, after showing why not (unless the registration still stands) and,
   * when asking again may help (signaling unreachable or failing), arranging `retry` with backoff.
   */
  async #fetchCredentials(generation: number, retry: () => void): Promise<SipCredentials | undefined> {
    this.#credentialsRequest?.abort();
    const request = new AbortController();
    this.#credentialsRequest = request;
    try {
      return await this.api.sipCredentials({ signal: request.signal });
    } catch (error) {
      const workstation = this.#workstation;
      if (request.signal.aborted || generation !== this.#generation || workstation === undefined) return undefined;
      debug('no credentials', error);
      const status = error instanceof ApiRequestError ? error.status : 0;
      // 401: the session is over and the app leaves this page.
      if (status === 401) return undefined;
      if (this.#registration.status !== 'registered') {
        this.#setRegistration({ status: 'failed', workstation, reason: error instanceof ApiRequestError ? error.message : String(error) });
      }
      // 4xx (no workstation, a desk phone) and 503 (SIP not configured) stay so until someone acts.
      if (status === 0 || (status >= 500 && status !== 503)) this.#retry(retry);
      return undefined;
    } finally {
      if (this.#credentialsRequest === request) this.#credentialsRequest = undefined;
    }
  }

  #onRegistrationFailed(ua: UA, workstation: Workstation, cause: string | undefined, status: number | undefined): void {
    debug('registration failed', cause, status);
    this.#setRegistration({ status: 'failed', workstation, reason: registrationFailure(cause, status) });
    // JsSIP registers again by itself when the connection comes back.
    if (cause === 'Connection Error') return;
    if (status === 403 || status === 401) {
      // Most likely the credentials expired (a laptop that slept through the renewal): new ones.
      this.#retry(() => void this.#refreshCredentials(this.#generation));
      return;
    }
    this.#retry(() => {
      if (this.#ua === ua) ua.register();
    });
  }

  #retry(action: () => void): void {
    clearTimeout(this.#retryTimer);
    const delay = retryDelay(this.#retries);
    this.#retries += 1;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      action();
    }, delay);
  }

  #scheduleRefresh(generation: number, expiresAt: number): void {
    clearTimeout(this.#refreshTimer);
    const left = expiresAt - Date.now();
    const delay = Math.max(MIN_REFRESH_MS, left - Math.max(CREDENTIALS_MARGIN_MS, left * 0.1));
    this.#refreshTimer = setTimeout(() => void this.#refreshCredentials(generation), delay);
  }

  /** New credentials for the running user agent, then a REGISTER with them. */
  async #refreshCredentials(generation: number): Promise<void> {
    const ua = this.#ua;
    const credentials = await this.#fetchCredentials(generation, () => void this.#refreshCredentials(generation));
    if (credentials === undefined || generation !== this.#generation || ua === undefined || this.#ua !== ua) return;
    const before = this.#credentials;
    if (before === undefined || before.uri !== credentials.uri || before.wsUrl !== credentials.wsUrl) {
      // Another address or server: a new user agent. Not while a call is on, that would cut it.
      if (this.busy) {
        this.#scheduleRefresh(generation, Date.now() + MIN_REFRESH_MS * 2);
        return;
      }
      const workstation = this.#workstation;
      this.#workstation = undefined;
      this.use(workstation);
      return;
    }
    debug('credentials renewed until', new Date(credentials.expiresAt).toISOString());
    this.#credentials = credentials;
    ua.set('authorization_user', credentials.username);
    ua.set('password', credentials.password);
    // JsSIP answers every challenge with the credentials it holds at that moment. If a REGISTER is
    // under way (its own refresh), it ignores this call, and its next refresh, within half the
    // granted expiry (a minute with Kamailio's cap for browsers), uses the new ones: well inside
    // the margin before the old ones expire.
    ua.register();
    this.#scheduleRefresh(generation, credentials.expiresAt);
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
    this.#session = session;
    this.#muted = false;
    this.#remoteStream = undefined;
    debug('incoming call from', number, queueCallId ?? '');

    session.on('peerconnection', ({ peerconnection }) => this.#takeRemoteAudio(() => session, peerconnection));
    this.#watch(session);

    this.#setCall({
      id: session.id,
      direction: 'incoming',
      number,
      ...(name ? { name } : {}),
      ...(queueCallId ? { queueCallId } : {}),
      state: 'ringing',
      ringStartedAt: Date.now(),
    });
    this.ringtone.start();
  }

  /** The far end's audio becomes `remoteStream` while `session()` is the current call. */
  #takeRemoteAudio(session: () => RTCSession | undefined, peerconnection: RTCPeerConnection): void {
    peerconnection.addEventListener('track', (event) => {
      if (this.#session === undefined || this.#session !== session() || event.track.kind !== 'audio') return;
      this.#remoteStream = event.streams[0] ?? new MediaStream([event.track]);
      this.#changed();
    });
  }

  /** What every call, either way, follows of its session: connected, muted, ended. */
  #watch(session: RTCSession): void {
    session.on('confirmed', () => {
      const call = this.#call;
      if (this.#session === session && call !== undefined) this.#setCall({ ...call, state: 'in-call', startedAt: Date.now() });
    });
    session.on('muted', () => {
      if (this.#session !== session) return;
      this.#muted = true;
      this.#changed();
    });
    session.on('unmuted', () => {
      if (this.#session !== session) return;
      this.#muted = false;
      this.#changed();
    });
    session.on('ended', (event: EndEvent) => this.#endCall(session, this.#endReason(event)));
    session.on('failed', (event: EndEvent) => {
      // The caller gave up before anyone answered: nothing to show, the call is simply gone.
      const missed = event.originator === 'remote' && event.cause === 'Canceled' && this.#call?.state === 'ringing';
      this.#endCall(session, this.#endReason(event), !missed);
    });
  }

  #endReason(event: EndEvent): string {
    const outgoing = this.#call?.direction === 'outgoing';
    // The clinic's callback policy (docs/security.md): the sip app says so in the reason phrase of
    // its refusal, and in the Reason header of the BYEs at the longest callback.
    const message = event.message as { reason_phrase?: string; method?: string; getHeader?(name: string): string | undefined } | undefined;
    if (outgoing && event.originator === 'remote' && message) {
      if (message.reason_phrase === OUTSIDE_POLICY_REASON_PHRASE) return "The clinic's callback policy does not allow calling this number.";
      if (message.method === 'BYE' && message.getHeader?.('Reason') === MAX_DURATION_BYE_REASON) {
        return "The call reached the longest callback the clinic's policy allows.";
      }
    }
    if (event.cause === 'Terminated') {
      if (event.originator === 'local') return 'You ended the call.';
      return outgoing ? 'The patient hung up.' : 'The caller hung up.';
    }
    if (outgoing && event.cause === 'Canceled') return 'You hung up before anyone answered.';
    return (outgoing ? OUTGOING_END_REASONS[event.cause] : undefined) ?? END_REASONS[event.cause] ?? `The call ended (${event.cause}).`;
  }

  /** Forgets `session`; with `show`, its call stays on screen as ended for a moment. */
  #endCall(session: RTCSession, reason: string | undefined, show = true): void {
    if (this.#session !== session) return;
    debug('call ended:', reason);
    this.ringtone.stop();
    this.tones?.stopTone();
    this.#session = undefined;
    this.#remoteStream = undefined;
    this.#muted = false;
    const call = this.#call;
    if (!show || call === undefined) {
      this.#setCall(undefined);
      return;
    }
    this.#setCall({ ...call, state: 'ended', endedAt: Date.now(), ...(reason ? { endReason: reason } : {}) });
    clearTimeout(this.#clearCallTimer);
    this.#clearCallTimer = setTimeout(() => {
      if (this.#call?.id === call.id && this.#call.state === 'ended') this.#setCall(undefined);
    }, ENDED_CALL_VISIBLE_MS);
  }

  /** Stops the user agent (unregister, hang up, close) and every timer of it. */
  #shutDown(): void {
    this.#generation += 1;
    this.#credentialsRequest?.abort();
    this.#credentialsRequest = undefined;
    clearTimeout(this.#refreshTimer);
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#clearCallTimer);
    this.#retries = 0;
    this.#credentials = undefined;
    const session = this.#session;
    if (session !== undefined) this.#endCall(session, undefined, false);
    this.#call = undefined;
    this.ringtone.stop();
    this.tones?.stopTone();
    const ua = this.#ua;
    this.#ua = undefined;
    if (ua !== undefined) {
      debug('stopping the user agent');
      // Sends the un-REGISTER (and BYE for a call) and closes the WebSocket once they are answered.
      ua.stop();
    }
  }

  #setRegistration(registration: RegistrationState): void {
    this.#registration = registration;
    this.#changed();
  }

  #setCall(call: PhoneCall | undefined): void {
    this.#call = call;
    this.#changed();
  }

  #changed(): void {
    this.dispatchEvent(new Event('change'));
  }
}
