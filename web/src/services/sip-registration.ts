import type { SipCredentials, Workstation } from '@deskline/protocol';
import JsSIP from 'jssip';
import type { IncomingRTCSessionEvent, RTCSessionEvent, RegistrationFailedListener, UA } from 'jssip/lib/UA.js';
import { ApiRequestError, type ApiClient } from './api-client.js';
import { errorMessage } from './error-message.js';
import { log } from './log.js';

const debug = log('dl:softphone');

/** The registration of this browser as its workstation's SIP user. */
export type RegistrationState =
  | { status: 'off' }
  | { status: 'registering'; workstation: Workstation }
  | { status: 'registered'; workstation: Workstation }
  | { status: 'failed'; workstation: Workstation; reason: string };

/** Asked of Kamailio; it grants browsers less (WS_MAX_EXPIRES), so a closed tab does not linger. */
const REGISTER_EXPIRES = 300;
/** Credentials are renewed this long before they expire, or after 90% of their life if shorter. */
const CREDENTIALS_MARGIN_MS = 15 * 60_000;
const MIN_REFRESH_MS = 10_000;
/** Retries of a failed credentials request or registration: doubling from 2 s up to a minute. */
const FIRST_RETRY_MS = 2_000;
const MAX_RETRY_MS = 60_000;

function registrationFailure(cause: string | undefined, status: number | undefined): string {
  if (status === 401 || status === 403) return "The phone server refused this workstation's credentials.";
  if (cause === 'Connection Error') return 'Cannot reach the phone server. Trying again…';
  if (cause === 'Request Timeout') return 'The phone server did not answer. Trying again…';
  return `The phone server refused the registration${status ? ` (${status})` : ''}. Trying again…`;
}

function retryDelay(attempt: number): number {
  return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** attempt);
}

/** What the registration asks of, and tells, the phone that holds it. */
export interface SipRegistrationHooks {
  /** `state` changed. */
  changed(): void;
  /** An INVITE came in through the running user agent. */
  incoming(event: IncomingRTCSessionEvent): void;
  /** The user agent is about to stop (and with it any call): the phone lets its call go first. */
  stopping(): void;
  /** Whether a call is on: a new user agent would cut it. */
  busy(): boolean;
}

/**
 * This browser as its workstation's SIP user: fetches SIP credentials from signaling and registers
 * a JsSIP user agent with Kamailio as the workstation (`sip:ws-<id>@<domain>`), renews the
 * credentials before they expire, and retries a failed request or registration with backoff (JsSIP
 * itself reconnects a lost WebSocket and registers again).
 */
export class SipRegistration {
  #state: RegistrationState = { status: 'off' };
  #workstation: Workstation | undefined;
  #ua: UA | undefined;
  /** Bumped whenever the user agent is replaced, so late answers of an old one are ignored. */
  #generation = 0;
  #credentials: SipCredentials | undefined;
  #credentialsRequest: AbortController | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retries = 0;

  constructor(
    private readonly api: ApiClient,
    private readonly hooks: SipRegistrationHooks,
  ) {}

  get state(): RegistrationState {
    return this.#state;
  }

  /** The registered user agent, to place calls with; undefined while not registered. */
  get ua(): UA | undefined {
    return this.#state.status === 'registered' ? this.#ua : undefined;
  }

  /** The server's TURN servers from the current credentials. */
  get iceServers(): SipCredentials['iceServers'] | undefined {
    return this.#credentials?.iceServers;
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
      this.#set({ status: 'off' });
      return;
    }
    this.#set({ status: 'registering', workstation: wanted });
    void this.#start(this.#generation);
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
      this.#set({ status: 'failed', workstation, reason: 'The phone settings from the server are not usable.' });
      return;
    }
    this.#ua = ua;
    const current = (): boolean => this.#ua === ua;
    ua.on('connected', () => {
      if (current() && this.#state.status !== 'registered') this.#set({ status: 'registering', workstation });
    });
    ua.on('disconnected', () => {
      // JsSIP reconnects by itself, and registers again once connected.
      if (current())
        this.#set({ status: 'failed', workstation, reason: registrationFailure('Connection Error', undefined) });
    });
    ua.on('registered', () => {
      if (!current()) return;
      debug('registered', credentials.uri);
      this.#retries = 0;
      this.#set({ status: 'registered', workstation });
    });
    ua.on('unregistered', () => {
      if (current()) this.#set({ status: 'registering', workstation });
    });
    ua.on('registrationFailed', ((event) => {
      if (current()) this.#onRegistrationFailed(ua, workstation, event.cause, event.response?.status_code);
    }) satisfies RegistrationFailedListener);
    ua.on('newRTCSession', (event: RTCSessionEvent) => {
      if (current() && event.originator === 'remote') this.hooks.incoming(event);
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
      if (this.#state.status !== 'registered') {
        this.#set({ status: 'failed', workstation, reason: errorMessage(error) });
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
    this.#set({ status: 'failed', workstation, reason: registrationFailure(cause, status) });
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
      if (this.hooks.busy()) {
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

  /** Stops the user agent (unregister, hang up, close) and every timer of it. */
  #shutDown(): void {
    this.#generation += 1;
    this.#credentialsRequest?.abort();
    this.#credentialsRequest = undefined;
    clearTimeout(this.#refreshTimer);
    clearTimeout(this.#retryTimer);
    this.#retries = 0;
    this.#credentials = undefined;
    this.hooks.stopping();
    const ua = this.#ua;
    this.#ua = undefined;
    if (ua !== undefined) {
      debug('stopping the user agent');
      // Sends the un-REGISTER (and BYE for a call) and closes the WebSocket once they are answered.
      ua.stop();
    }
  }

  #set(state: RegistrationState): void {
    this.#state = state;
    this.hooks.changed();
  }
}
