import { SETUP_LINK_FRAGMENT, type PublicUser, type SessionInfo } from '@deskline/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { ApiRequestError, SESSION_ENDED_EVENT, apiClient, type ApiClient } from '../services/api-client.js';
import { errorMessage } from '../services/error-message.js';
import { log } from '../services/log.js';
import './dl-app-shell.js';
import './dl-login-page.js';

const debug = log('dl:app');

const SESSION_ENDED_NOTICE = 'Your session has ended. Please log in again.';

type View =
  { name: 'starting' } | { name: 'login'; notice: string; setupToken?: string } | { name: 'shell'; user: PublicUser };

/**
 * The token of a setup link the page was opened with (`/#setup=…`), taken out of the address at once,
 * so that it stays in neither the history nor the address bar.
 */
function takeSetupToken(): string | undefined {
  const prefix = `#${SETUP_LINK_FRAGMENT}`;
  const { hash } = location;
  if (!hash.startsWith(prefix)) return undefined;
  history.replaceState(null, '', `${location.pathname}${location.search}`);
  return decodeURIComponent(hash.slice(prefix.length)) || undefined;
}

/**
 * The root of the app. On start it asks GET /api/me who is logged in and shows the app shell, or the
 * login page when nobody is. It switches views on `login` (from dl-login-page), on `logout` (from
 * dl-app-shell), and when the API client reports that the session has ended; it keeps the shown
 * user and the CSRF token current on `user-change` and `session-renew` (from the settings).
 *
 * Opened with a setup link (docs/managers.md, "Staff"), it shows the login page's form for a new
 * password instead, which logs in.
 *
 * Set `api` before the element is connected; the session check starts on connect.
 */
@customElement('dl-app')
export class DlApp extends LitElement {
  static override styles = css`
    :host {
      display: block;
      min-height: 100vh;
    }
  `;

  /** The client every view uses; it carries the session's CSRF token. */
  @property({ attribute: false }) api: ApiClient = apiClient;

  @state() private view: View = { name: 'starting' };

  #sessionCheck: AbortController | undefined;

  override connectedCallback(): void {
    super.connectedCallback();
    this.api.addEventListener(SESSION_ENDED_EVENT, this.#onSessionEnded);
    const setupToken = takeSetupToken();
    if (setupToken === undefined) void this.#checkSession();
    else this.view = { name: 'login', notice: '', setupToken };
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.api.removeEventListener(SESSION_ENDED_EVENT, this.#onSessionEnded);
    this.#sessionCheck?.abort();
  }

  protected override render() {
    switch (this.view.name) {
      case 'starting':
        // Usually a few milliseconds; a loading text would only flash.
        return nothing;
      case 'login':
        return html`
          <dl-login-page
            .api=${this.api}
            .notice=${this.view.notice}
            .setupToken=${this.view.setupToken}
            @login=${this.#onLogin}
          ></dl-login-page>
        `;
      case 'shell':
        return html`
          <dl-app-shell
            .api=${this.api}
            .user=${this.view.user}
            @logout=${this.#onLogout}
            @user-change=${this.#onUserChange}
            @session-renew=${this.#onSessionRenew}
          ></dl-app-shell>
        `;
    }
  }

  async #checkSession(): Promise<void> {
    this.#sessionCheck?.abort();
    const controller = new AbortController();
    this.#sessionCheck = controller;
    try {
      const session = await this.api.me({
        signal: controller.signal,
        reportSessionEnd: false,
      });
      this.#enter(session);
    } catch (error) {
      if (controller.signal.aborted) return;
      if (error instanceof ApiRequestError && error.status === 401) {
        this.#showLogin('');
        return;
      }
      debug('session check failed', error);
      // The login page doubles as the retry: its next submit reaches the server again.
      this.#showLogin(errorMessage(error));
    }
  }

  #enter(session: SessionInfo): void {
    debug('session of', session.user.email);
    this.api.csrfToken = session.csrfToken;
    this.view = { name: 'shell', user: session.user };
  }

  #showLogin(notice: string): void {
    this.api.csrfToken = undefined;
    this.view = { name: 'login', notice };
  }

  #onLogin(event: CustomEvent<SessionInfo>): void {
    this.#enter(event.detail);
  }

  /** The user renamed themselves or changed their picture: the shell shows it at once. */
  #onUserChange(event: CustomEvent<PublicUser>): void {
    if (this.view.name === 'shell' && this.view.user.id === event.detail.id)
      this.view = { name: 'shell', user: event.detail };
  }

  /** The password was changed: the session was renewed, with a new CSRF token. */
  #onSessionRenew(event: CustomEvent<SessionInfo>): void {
    if (this.view.name !== 'shell') return;
    this.api.csrfToken = event.detail.csrfToken;
    this.view = { name: 'shell', user: event.detail.user };
  }

  #onLogout(): void {
    debug('logged out');
    this.#showLogin('');
  }

  #onSessionEnded = (): void => {
    if (this.view.name !== 'shell') return;
    debug('session ended');
    this.#showLogin(SESSION_ENDED_NOTICE);
  };
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-app': DlApp;
  }
}
