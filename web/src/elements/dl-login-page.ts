import type { SessionInfo } from '@deskline/protocol';
import { LitElement, css, html } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { logoMark } from '../icons.js';
import { apiClient, type ApiClient } from '../services/api-client.js';
import { errorMessage } from '../services/error-message.js';
import { log } from '../services/log.js';
import { alertStyles, controlStyles, primaryButtonStyles } from '../styles/shared-styles.js';

const debug = log('dl:login');

/**
 * The login form. Posts the credentials to POST /api/auth/login and shows the server's message when
 * it refuses them (wrong password, lockout with the time to retry, …). With `setupToken` (a one-time
 * setup link was opened: docs/managers.md, "Staff"), it asks for a new password twice instead, and
 * POST /api/auth/setup sets it and logs in.
 *
 * @fires login - `CustomEvent<SessionInfo>`, bubbles and composed: the server accepted the credentials
 *   (or the new password) and `detail` is the new session.
 */
@customElement('dl-login-page')
export class DlLoginPage extends LitElement {
  static override styles = [
    controlStyles,
    primaryButtonStyles,
    alertStyles,
    css`
      :host {
        display: flex;
        min-height: 100vh;
        box-sizing: border-box;
        align-items: center;
        justify-content: center;
        padding: 1.5rem 1rem;
      }

      main {
        width: min(100%, 25rem);
        box-sizing: border-box;
        padding: 2rem;
        border: 1px solid var(--dl-color-border);
        border-radius: calc(var(--dl-radius) * 1.5);
        background: var(--dl-color-surface);
        box-shadow: var(--dl-shadow-raised);
      }

      h1 {
        display: flex;
        align-items: center;
        gap: 0.625rem;
        margin: 0;
        font-size: 1.75rem;
        line-height: 1.2;
      }

      h1 svg {
        width: 2rem;
        height: 2rem;
        flex: none;
      }

      .intro {
        margin: 0.5rem 0 1.5rem;
        color: var(--dl-color-text-muted);
      }

      form {
        display: grid;
        gap: 1.25rem;
      }

      .alert:empty {
        display: none;
      }

      .field {
        display: grid;
        gap: 0.375rem;
      }

      label {
        font-weight: 600;
      }

      input {
        min-height: var(--dl-target-size);
        box-sizing: border-box;
        padding: 0.5rem 0.75rem;
        border: 1px solid var(--dl-color-field-border);
        border-radius: var(--dl-radius);
        background: var(--dl-color-surface);
      }

      input:focus-visible {
        outline-offset: 0;
        border-color: var(--dl-color-focus);
      }

      .primary {
        margin-top: 0.25rem;
        width: 100%;
      }
    `,
  ];

  /** The client used to log in. */
  @property({ attribute: false }) api: ApiClient = apiClient;

  /** The token of the setup link the page was opened with; the form then sets a password. */
  @property({ attribute: false }) setupToken: string | undefined;

  /** Shown in the alert until the next attempt, e.g. why the previous session ended. */
  @property() notice = '';

  /** Message of the last failed attempt; '' while an attempt runs, undefined before the first one. */
  @state() private error: string | undefined;

  @state() private submitting = false;

  @query('#email') private emailInput!: HTMLInputElement | null;
  @query('#password') private passwordInput!: HTMLInputElement;
  @query('#repeat') private repeatInput!: HTMLInputElement | null;

  protected override firstUpdated(): void {
    (this.emailInput ?? this.passwordInput).focus();
  }

  protected override render() {
    if (this.setupToken !== undefined) return this.#renderSetup();
    return html`
      <main>
        <h1>${logoMark}Deskline</h1>
        <p class="intro">Log in to the clinic phone system.</p>
        <form @submit=${this.#onSubmit}>
          <p class="alert" role="alert">${this.error ?? this.notice}</p>
          <div class="field">
            <label for="email">Email</label>
            <input
              id="email"
              name="email"
              type="email"
              autocomplete="username"
              autocapitalize="none"
              spellcheck="false"
              required
            />
          </div>
          <div class="field">
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required />
          </div>
          <button class="primary" type="submit" ?disabled=${this.submitting}>Log in</button>
        </form>
      </main>
    `;
  }

  #renderSetup() {
    return html`
      <main>
        <h1>${logoMark}Deskline</h1>
        <p class="intro">Choose your password: 12 to 128 characters. Then you are logged in.</p>
        <form @submit=${this.#onSubmit}>
          <p class="alert" role="alert">${this.error ?? this.notice}</p>
          <div class="field">
            <label for="password">New password</label>
            <input id="password" name="password" type="password" autocomplete="new-password" required />
          </div>
          <div class="field">
            <label for="repeat">Repeat the new password</label>
            <input id="repeat" name="repeat" type="password" autocomplete="new-password" required />
          </div>
          <button class="primary" type="submit" ?disabled=${this.submitting}>Set password and log in</button>
        </form>
      </main>
    `;
  }

  /** The login, or with a setup link the new password; both answer a session. */
  #ask(): Promise<SessionInfo> {
    const password = this.passwordInput.value;
    if (this.setupToken === undefined)
      return this.api.login({ body: { email: this.emailInput?.value ?? '', password } }, { reportSessionEnd: false });
    return this.api.setupAccount({ body: { token: this.setupToken, password } }, { reportSessionEnd: false });
  }

  async #onSubmit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    if (this.submitting) return;
    if (this.repeatInput && this.repeatInput.value !== this.passwordInput.value) {
      this.error = 'The two passwords are not the same.';
      this.repeatInput.focus();
      return;
    }
    this.submitting = true;
    this.error = '';
    try {
      const session = await this.#ask();
      debug('logged in as', session.user.email);
      this.dispatchEvent(new CustomEvent<SessionInfo>('login', { detail: session, bubbles: true, composed: true }));
    } catch (error) {
      debug('login failed', error);
      this.error = errorMessage(error);
      this.passwordInput.value = '';
      if (this.repeatInput) this.repeatInput.value = '';
      this.passwordInput.focus();
    } finally {
      this.submitting = false;
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-login-page': DlLoginPage;
  }
}
