import type { Workstation } from '@deskline/protocol';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { ApiClient } from '../services/api-client.js';
import { Notifier, type NotifierOptions, type NotifierState } from '../services/notifier.js';
import { Ringtone } from '../services/ringtone.js';
import { Softphone, type SoftphoneState } from '../services/softphone.js';

const OFF: SoftphoneState = { registration: { status: 'off' }, muted: false };
const NO_NOTIFIER: NotifierState = { enabled: false, access: 'default', error: '' };

/**
 * The browser's phone for as long as the host is connected: a Softphone with its Ringtone and its
 * Notifier (browser notifications of ringing calls), created on connect; on disconnect (logout, or
 * the session ending) it unregisters, hangs up, closes a notification and releases the audio device.
 * The host re-renders on every change and calls the intents.
 */
export class SoftphoneController implements ReactiveController {
  #softphone: Softphone | undefined;
  #ringtone: Ringtone | undefined;
  #notifier: Notifier | undefined;
  /** What `use` was last given, in case it came before the host was connected. */
  #workstation: Workstation | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly api: () => ApiClient,
    private readonly notifierOptions: NotifierOptions = {},
  ) {
    host.addController(this);
  }

  /** Whether incoming calls are also announced as browser notifications, and whether the browser lets them. */
  get notifications(): NotifierState {
    return this.#notifier?.state ?? NO_NOTIFIER;
  }

  /** Turns call notifications on or off for this user; call it from a click (it may ask the browser). */
  setNotifications(enabled: boolean): Promise<void> {
    return this.#notifier?.setEnabled(enabled) ?? Promise.resolve();
  }

  /** Asks the browser's permission for notifications; call it from a click. */
  allowNotifications(): Promise<void> {
    return this.#notifier?.askPermission() ?? Promise.resolve();
  }

  get state(): SoftphoneState {
    return this.#softphone?.state ?? OFF;
  }

  /** Whether a call is ringing or connected. */
  get busy(): boolean {
    return this.#softphone?.busy ?? false;
  }

  /** True while the browser keeps the page silent until the person interacts with it. */
  get soundBlocked(): boolean {
    return this.#ringtone?.blocked ?? false;
  }

  /** Registers as this workstation (when it is a browser workstation), or as none. */
  use(workstation: Workstation | undefined): void {
    this.#workstation = workstation;
    if (workstation?.kind === 'browser') this.#ringtone?.prepare();
    this.#softphone?.use(workstation);
  }

  answer(): void {
    // The click on Answer is a user gesture: the moment to let the page make sound, if it may not yet.
    this.#ringtone?.unlock();
    this.#softphone?.answer();
  }

  /**
   * Calls `target` (a callback's SIP URI from POST /api/tasks/:id/callback), showing `number` as
   * the party called. False when the phone is not registered or already on a call. The click that
   * asks for it is a user gesture: the moment to let the page play the patient's audio.
   */
  call(target: string, options: { number?: string } = {}): boolean {
    this.#ringtone?.unlock();
    return this.#softphone?.call(target, options) ?? false;
  }

  hangUp(): void {
    this.#softphone?.hangUp();
  }

  setMuted(muted: boolean): void {
    this.#softphone?.setMuted(muted);
  }

  enableSound(): void {
    this.#ringtone?.unlock();
  }

  hostConnected(): void {
    const ringtone = new Ringtone();
    const softphone = new Softphone(this.api(), ringtone, ringtone);
    const notifier = new Notifier(this.api(), softphone, this.notifierOptions);
    ringtone.addEventListener('change', this.#onChange);
    softphone.addEventListener('change', this.#onChange);
    notifier.addEventListener('change', this.#onChange);
    this.#ringtone = ringtone;
    this.#softphone = softphone;
    this.#notifier = notifier;
    notifier.start();
    if (this.#workstation !== undefined) this.use(this.#workstation);
  }

  hostDisconnected(): void {
    const softphone = this.#softphone;
    const ringtone = this.#ringtone;
    const notifier = this.#notifier;
    this.#softphone = undefined;
    this.#ringtone = undefined;
    this.#notifier = undefined;
    softphone?.removeEventListener('change', this.#onChange);
    ringtone?.removeEventListener('change', this.#onChange);
    notifier?.removeEventListener('change', this.#onChange);
    notifier?.dispose();
    softphone?.stop();
    ringtone?.dispose();
  }

  #onChange = (): void => {
    this.host.requestUpdate();
  };
}
