import type { ReactiveControllerHost } from 'lit';
import { ApiRequestError, type ApiClient } from '../services/api-client.js';
import { errorMessage } from '../services/error-message.js';
import { log } from '../services/log.js';
import type { ConfirmOptions } from '../elements/dl-confirm-dialog.js';
import type { SoftphoneController } from './softphone-controller.js';

const debug = log('dl:shell');

/**
 * Logging out, from the user menu: on a call, or while one rings, it hangs the call up, so it asks
 * first (Cancel keeps everything). Then it ends the session on the server, and only once the server
 * agrees fires `logout` on the host; otherwise `error` says why the person is still logged in. It
 * holds nothing long-lived, so it needs none of the host's lifecycle.
 */
export class LogoutController {
  /** Why the last attempt left the person logged in ('' when there is nothing to say). */
  error = '';
  #loggingOut = false;

  constructor(
    private readonly host: ReactiveControllerHost & EventTarget,
    private readonly apiOf: () => ApiClient,
    private readonly phone: SoftphoneController,
    /** Asks the person a yes/no question (the shell's dl-confirm-dialog). */
    private readonly ask: (options: ConfirmOptions) => Promise<boolean>,
  ) {}

  private get api(): ApiClient {
    return this.apiOf();
  }

  async logOut(): Promise<void> {
    const call = this.phone.state.call;
    if (call !== undefined && call.state !== 'ended') {
      const message =
        call.state === 'ringing'
          ? `A call from ${call.number} is ringing; log out and hang up?`
          : `You are on a call with ${call.number}; log out and hang up?`;
      if (!(await this.ask({ message, confirmLabel: 'Log out and hang up' }))) return;
      this.phone.hangUp();
    }
    await this.#endSession();
  }

  async #endSession(): Promise<void> {
    if (this.#loggingOut) return;
    this.#loggingOut = true;
    this.#setError('');
    try {
      await this.api.logout({ reportSessionEnd: false });
    } catch (error) {
      // 401: the session had already ended, which is what the user asked for. Any other failure means
      // the session may still be valid, and the HttpOnly cookie cannot be dropped from here: showing
      // the login page would let the next person at this desk reload into this account.
      if (!(error instanceof ApiRequestError && error.status === 401)) {
        debug('logout failed', error);
        this.#setError(`You are still logged in. ${errorMessage(error)}`);
        this.#loggingOut = false;
        return;
      }
    }
    this.#loggingOut = false;
    this.host.dispatchEvent(new Event('logout', { bubbles: true, composed: true }));
  }

  #setError(error: string): void {
    this.error = error;
    this.host.requestUpdate();
  }
}
