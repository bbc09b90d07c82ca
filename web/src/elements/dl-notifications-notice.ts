import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { NotifierState } from '../services/notifier.js';
import { alertStyles, controlStyles, secondaryButtonStyles } from '../styles/shared-styles.js';

/** How to undo a refusal, in the words of Chrome's, Edge's and Firefox's site settings. */
const NOTIFICATIONS_BLOCKED =
  'Notifications are blocked for Deskline in this browser. To allow them, click the icon to the left of the address (site settings), set Notifications to Allow, and reload the page.';
export const NOTIFICATIONS_UNSUPPORTED = 'This browser cannot show notifications.';

/**
 * What keeps call notifications from working, and how to fix it: a failed save of the choice, a
 * browser that blocks or cannot show them, or one that still has to be asked ("Allow
 * notifications"). Nothing while they work or are off.
 *
 * @fires allow-notifications - `Event`: the person pressed "Allow notifications" (a user gesture:
 *   the moment to ask the browser).
 */
@customElement('dl-notifications-notice')
export class DlNotificationsNotice extends LitElement {
  static override styles = [
    controlStyles,
    alertStyles,
    secondaryButtonStyles,
    css`
      :host {
        display: contents;
      }

      .alert,
      .notice {
        margin: 1rem 1.5rem 0;
      }

      .notice {
        padding: 0.75rem 1rem;
        border: 1px solid var(--dl-color-border);
        border-radius: var(--dl-radius);
        background: var(--dl-color-surface);
      }

      .notice button {
        margin-left: 0.5rem;
      }
    `,
  ];

  @property({ attribute: false }) notifications: NotifierState = { enabled: false, access: 'default', error: '' };

  protected override render() {
    const { enabled, access, error } = this.notifications;
    if (error !== '') return html`<p class="alert" role="alert">${error}</p>`;
    if (!enabled) return nothing;
    if (access === 'denied') return html`<p class="notice" role="status">${NOTIFICATIONS_BLOCKED}</p>`;
    if (access === 'unsupported') return html`<p class="notice" role="status">${NOTIFICATIONS_UNSUPPORTED}</p>`;
    if (access === 'default') {
      return html`<p class="notice" role="status">
        Call notifications are on for your account; this browser still has to allow them.
        <button class="secondary" type="button" @click=${() => this.dispatchEvent(new Event('allow-notifications'))}>
          Allow notifications
        </button>
      </p>`;
    }
    return nothing;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-notifications-notice': DlNotificationsNotice;
  }
}
