import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, type SessionInfo } from '@deskline/protocol';
import { LitElement, css, html } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { ApiRequestError, apiClient, type ApiClient } from '../services/api-client.js';
import { errorMessage } from '../services/error-message.js';
import { log } from '../services/log.js';
import {
  alertStyles,
  controlStyles,
  fieldStyles,
  primaryButtonStyles,
  successStyles,
} from '../styles/shared-styles.js';

const debug = log('dl:settings');

/**
 * "Security" in the settings: a reminder of when to change the password, and the form that changes
 * it (PUT /api/me/password). The server checks the current password and the rules for the new one
 * and says what is wrong. On success it ends the user's other sessions and renews this one; the new
 * session's CSRF token is passed on with `session-renew`.
 *
 * @fires session-renew - `CustomEvent<SessionInfo>`, bubbles and composed: the password was changed
 *   and this browser now holds a new session; use its CSRF token from now on.
 */
@customElement('dl-password-settings')
export class DlPasswordSettings extends LitElement {
  static override styles = [
    controlStyles,
    alertStyles,
    successStyles,
    fieldStyles,
    primaryButtonStyles,
    css`
      :host {
        display: grid;
        gap: 1rem;
      }

      h3 {
        margin: 0;
        font-size: 1.125rem;
      }

      .reminder {
        margin: 0;
      }

      form {
        display: grid;
        gap: 1rem;
      }

      .primary {
        justify-self: start;
      }

      [role='alert']:empty,
      [role='status']:empty {
        display: none;
      }
    `,
  ];

  @property({ attribute: false }) api: ApiClient = apiClient;

  @state() private busy = false;
  @state() private error = '';
  @state() private done = '';

  @query('form') private form!: HTMLFormElement;
  @query('#current-password') private currentInput!: HTMLInputElement;
  @query('#new-password') private newInput!: HTMLInputElement;
  @query('#repeat-password') private repeatInput!: HTMLInputElement;

  /** Empties the form and its messages (the dialog was opened again). */
  reset(): void {
    this.form?.reset();
    this.error = this.done = '';
  }

  protected override render() {
    return html`
      <h3>Security</h3>
      <p class="reminder">
        Change your password now and then, and at once if someone else may know it: if you typed it
        on a page that only looked like Deskline, told it to anyone, or wrote it where others can see
        it. Changing it logs you out on every other computer, so a login that leaked stops working.
      </p>
      <form @submit=${this.#onSubmit}>
        <div class="field">
          <label for="current-password">Current password</label>
          <input id="current-password" type="password" autocomplete="current-password" required />
        </div>
        <div class="field">
          <label for="new-password">New password</label>
          <input
            id="new-password"
            type="password"
            autocomplete="new-password"
            required
            aria-describedby="new-password-hint"
          />
          <p class="hint" id="new-password-hint">
            ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters. A few unrelated words make a
            strong password that is easy to remember; common passwords are refused.
          </p>
        </div>
        <div class="field">
          <label for="repeat-password">Repeat the new password</label>
          <input id="repeat-password" type="password" autocomplete="new-password" required />
        </div>
        <p class="alert" role="alert">${this.error}</p>
        <p class="success" role="status">${this.done}</p>
        <button class="primary" type="submit" ?disabled=${this.busy}>Change password</button>
      </form>
    `;
  }

  async #onSubmit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    if (this.busy) return;
    this.error = this.done = '';
    if (this.newInput.value !== this.repeatInput.value) {
      this.error = 'The two new passwords are not the same. Type the new password twice.';
      this.repeatInput.focus();
      return;
    }
    this.busy = true;
    const body = { currentPassword: this.currentInput.value, newPassword: this.newInput.value };
    try {
      const session = await this.api.changePassword({ body });
      this.api.csrfToken = session.csrfToken;
      this.form.reset();
      this.done = 'Your password was changed. You were logged out on every other computer.';
      this.dispatchEvent(
        new CustomEvent<SessionInfo>('session-renew', { detail: session, bubbles: true, composed: true }),
      );
    } catch (error) {
      debug('password not changed', error);
      this.error = errorMessage(error);
      if (error instanceof ApiRequestError && error.status === 403) {
        this.currentInput.value = '';
        this.currentInput.focus();
      }
    } finally {
      this.busy = false;
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-password-settings': DlPasswordSettings;
  }
}
