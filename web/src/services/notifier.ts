import { formatDuration } from '../format.js';
import type { ApiClient } from './api-client.js';
import { errorMessage } from './error-message.js';
import { log } from './log.js';
import type { PhoneCall } from './phone-call-session.js';
import type { SoftphoneState } from './softphone.js';

const debug = log('dl:notifier');

/** The browser's answer for this site, or 'unsupported' where there are no web notifications. */
export type NotificationAccess = NotificationPermission | 'unsupported';

export interface NotifierState {
  /** The user's choice, kept on the server (it follows them to another computer). */
  enabled: boolean;
  /** Whether this browser lets the site show notifications. */
  access: NotificationAccess;
  /** Why the last change could not be saved; '' when it was. */
  error: string;
}

/** What the notifier watches: the softphone (its `change` events and `state`). */
export interface PhoneSource extends EventTarget {
  readonly state: SoftphoneState;
}

export interface NotifierOptions {
  /** Since when the caller of `call` has been waiting (epoch ms), when the queue knows it. */
  waitingSince?: (call: PhoneCall) => number | undefined;
}

const TAG_PREFIX = 'deskline-call-';

function currentAccess(): NotificationAccess {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}

/**
 * Browser notifications for incoming calls. While the user has them on and the browser allows them,
 * every call that starts ringing in the softphone also shows a notification with the caller's number
 * (and how long they have waited, when known), so a call is noticed with the tab in the background.
 * Clicking it brings the tab forward; it closes when the ringing stops (answered, hung up, taken by
 * someone else) or on `dispose()`.
 *
 * The choice is a preference on the server (GET/PUT /api/me/preferences), loaded by `start()`. The
 * browser's permission is asked when the user turns notifications on, and again on a computer where
 * they are on but the browser was never asked (browsers may insist on a click for that: then
 * `access` stays 'default' and `askPermission()` is for an "Allow" button).
 *
 * @fires change - `Event`: `state` changed.
 */
export class Notifier extends EventTarget {
  #enabled = false;
  #access: NotificationAccess = currentAccess();
  #error = '';
  #shown: { callId: string; notification: Notification } | undefined;
  #permissionStatus: PermissionStatus | undefined;
  #disposed = false;
  #load: AbortController | undefined;

  constructor(
    private readonly api: ApiClient,
    private readonly phone: PhoneSource,
    private readonly options: NotifierOptions = {},
  ) {
    super();
  }

  get state(): NotifierState {
    return { enabled: this.#enabled, access: this.#access, error: this.#error };
  }

  /** Loads the user's choice and starts watching the phone and the browser's permission. */
  start(): void {
    this.phone.addEventListener('change', this.#onPhoneChange);
    void this.#watchPermission();
    void this.#loadPreference();
  }

  /** Stops watching and closes a notification still showing (logout). */
  dispose(): void {
    this.#disposed = true;
    this.#load?.abort();
    this.phone.removeEventListener('change', this.#onPhoneChange);
    if (this.#permissionStatus) this.#permissionStatus.onchange = null;
    this.#close();
  }

  /**
   * Turns notifications on or off for this user. Turning them on asks the browser's permission, so
   * call it from a click. The choice is saved whatever the browser answers: where the browser
   * refuses, the user is told how to allow it, and calls are announced as soon as it is allowed.
   */
  async setEnabled(enabled: boolean): Promise<void> {
    this.#error = '';
    if (enabled) await this.askPermission();
    const before = this.#enabled;
    this.#enabled = enabled;
    this.#changed();
    try {
      const saved = await this.api.setPreferences({ body: { notifications: enabled } });
      this.#enabled = saved.notifications;
    } catch (error) {
      debug('saving the preference failed', error);
      this.#enabled = before;
      this.#error = `Your choice was not saved. ${errorMessage(error)}`;
    }
    if (!this.#enabled) this.#close();
    this.#changed();
  }

  /** Asks the browser for permission, if it has not answered yet. */
  async askPermission(): Promise<void> {
    if (typeof Notification === 'undefined' || Notification.permission !== 'default') return;
    try {
      this.#access = await Notification.requestPermission();
    } catch (error) {
      debug('permission request failed', error);
      this.#access = currentAccess();
    }
    debug('permission', this.#access);
    this.#changed();
  }

  async #loadPreference(): Promise<void> {
    this.#load = new AbortController();
    try {
      const preferences = await this.api.preferences({ signal: this.#load.signal });
      if (this.#disposed) return;
      this.#enabled = preferences.notifications;
      this.#changed();
      // On a computer where the browser was never asked: ask now. Browsers that require a click for
      // it leave the answer 'default', and the page offers an "Allow notifications" button instead.
      if (this.#enabled) await this.askPermission();
      this.#onPhoneChange();
    } catch (error) {
      if (!this.#disposed) debug('loading the preference failed', error);
    }
  }

  /** Follows a change of the permission made in the browser's site settings while the page is open. */
  async #watchPermission(): Promise<void> {
    try {
      const status = await navigator.permissions.query({ name: 'notifications' });
      if (this.#disposed) return;
      this.#permissionStatus = status;
      status.onchange = () => {
        this.#access = currentAccess();
        this.#changed();
      };
    } catch {
      // No Permissions API for notifications here: the state is read again at each change.
    }
  }

  #onPhoneChange = (): void => {
    const call = this.phone.state.call;
    if (call?.state === 'ringing') {
      if (this.#shown?.callId !== call.id) this.#show(call);
    } else {
      this.#close();
    }
  };

  #show(call: PhoneCall): void {
    this.#close();
    this.#access = currentAccess();
    if (!this.#enabled || this.#access !== 'granted') return;
    const since = this.options.waitingSince?.(call);
    const lines = [call.name ? `${call.number} (${call.name})` : call.number];
    if (since !== undefined) lines.push(`Waiting ${formatDuration(Date.now() - since)}`);
    let notification: Notification;
    try {
      notification = new Notification('Incoming call', {
        body: lines.join('\n'),
        tag: `${TAG_PREFIX}${call.id}`,
        icon: '/favicon.svg',
        // Stays until the ringing stops, instead of fading away after a few seconds.
        requireInteraction: true,
      });
    } catch (error) {
      // Some browsers (Chrome on Android) only show notifications through a service worker.
      debug('notification not shown', error);
      return;
    }
    notification.addEventListener('click', () => {
      window.focus();
      notification.close();
    });
    debug('notified of', call.number);
    this.#shown = { callId: call.id, notification };
  }

  #close(): void {
    const shown = this.#shown;
    this.#shown = undefined;
    shown?.notification.close();
  }

  #changed(): void {
    this.dispatchEvent(new Event('change'));
  }
}
