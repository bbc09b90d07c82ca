import type { PublicUser } from '@deskline/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { logoMark } from '../icons.js';
import { ApiRequestError, UNREACHABLE_MESSAGE, apiClient, type ApiClient } from '../services/api-client.js';
import { log } from '../services/log.js';
import { alertStyles, controlStyles } from '../styles/shared-styles.js';
import type { MenuEntry, MenuSelectDetail } from './dl-user-menu.js';
import './dl-user-menu.js';

const debug = log('dl:shell');

/** Entries of the user menu, in order. Add an entry here and handle its id in #onMenuSelect. */
const USER_MENU: readonly MenuEntry[] = [{ id: 'log-out', label: 'Log out' }];

/** "Anna Maria Berg" → "AB"; a single word gives one letter. */
function initials(displayName: string): string {
  const words = displayName.trim().split(/\s+/).filter((word) => word !== '');
  const picked = words.length > 1 ? [words[0], words.at(-1)] : words;
  const letters = picked.map((word) => [...(word ?? '')][0] ?? '').join('');
  return letters === '' ? '?' : letters.toLocaleUpperCase();
}

/**
 * The app after login: a header with the product name and the user panel, and the work area below.
 *
 * @fires logout - `Event`, bubbles and composed: the server ended the session (or it had already
 *   ended), so the login page should be shown.
 */
@customElement('dl-app-shell')
export class DlAppShell extends LitElement {
  static override styles = [
    controlStyles,
    alertStyles,
    css`
      :host {
        display: flex;
        min-height: 100vh;
        flex-direction: column;
      }

      header {
        display: flex;
        align-items: center;
        justify-content: space-between;
        gap: 1rem;
        min-height: 4rem;
        box-sizing: border-box;
        padding: 0.5rem 1rem 0.5rem 1.5rem;
        border-bottom: 1px solid var(--dl-color-border);
        background: var(--dl-color-surface);
      }

      .brand {
        display: flex;
        align-items: center;
        gap: 0.5rem;
        font-size: 1.25rem;
        font-weight: 700;
      }

      .brand svg {
        width: 1.75rem;
        height: 1.75rem;
      }

      dl-user-menu {
        min-width: 0;
      }

      .avatar {
        display: grid;
        flex: none;
        place-items: center;
        width: 2.25rem;
        height: 2.25rem;
        border-radius: 50%;
        background: var(--dl-color-avatar);
        color: var(--dl-color-on-avatar);
        font-size: 0.875rem;
        font-weight: 700;
        letter-spacing: 0.02em;
      }

      .name {
        overflow: hidden;
        max-width: 16rem;
        font-weight: 600;
        text-overflow: ellipsis;
        white-space: nowrap;
      }

      .alert {
        margin: 1rem 1.5rem 0;
      }

      main {
        padding: 2rem 1.5rem;
      }

      h1 {
        margin: 0 0 0.5rem;
        font-size: 1.5rem;
        line-height: 1.25;
      }

      main p {
        margin: 0;
        color: var(--dl-color-text-muted);
      }

      @media (max-width: 30rem) {
        .name {
          display: none;
        }
      }
    `,
  ];

  /** The logged-in user. Nothing is rendered without one. */
  @property({ attribute: false }) user: PublicUser | undefined;

  /** The client used to log out; it already holds the session's CSRF token. */
  @property({ attribute: false }) api: ApiClient = apiClient;

  @state() private error = '';

  #loggingOut = false;

  protected override render() {
    const user = this.user;
    if (user === undefined) return nothing;
    return html`
      <header>
        <span class="brand">${logoMark}Deskline</span>
        <dl-user-menu .entries=${USER_MENU} @menu-select=${this.#onMenuSelect}>
          <span class="avatar" aria-hidden="true">${initials(user.displayName)}</span>
          <span class="name">${user.displayName}</span>
        </dl-user-menu>
      </header>
      ${this.error === '' ? nothing : html`<p class="alert" role="alert">${this.error}</p>`}
      <main>
        <h1>Welcome</h1>
        <p>Signed in as ${user.displayName} (${user.role})</p>
      </main>
    `;
  }

  #onMenuSelect(event: CustomEvent<MenuSelectDetail>): void {
    switch (event.detail.id) {
      case 'log-out':
        void this.#logOut();
        break;
    }
  }

  async #logOut(): Promise<void> {
    if (this.#loggingOut) return;
    this.#loggingOut = true;
    this.error = '';
    try {
      await this.api.post<unknown>('/api/auth/logout', undefined, { reportSessionEnd: false });
    } catch (error) {
      // 401: the session had already ended, which is what the user asked for. Any other failure means
      // the session may still be valid, and the HttpOnly cookie cannot be dropped from here: showing
      // the login page would let the next person at this desk reload into this account.
      if (!(error instanceof ApiRequestError && error.status === 401)) {
        debug('logout failed', error);
        const reason = error instanceof ApiRequestError ? error.message : UNREACHABLE_MESSAGE;
        this.error = `You are still logged in. ${reason}`;
        this.#loggingOut = false;
        return;
      }
    }
    this.#loggingOut = false;
    this.dispatchEvent(new Event('logout', { bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-app-shell': DlAppShell;
  }
}
