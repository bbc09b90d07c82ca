import type { MissedCall } from '@deskline/protocol';
import { LitElement, css, html } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { formatClockTime } from '../format.js';
import { controlStyles, secondaryButtonStyles } from '../styles/shared-styles.js';
import { panelStyles } from '../styles/panel-styles.js';

/**
 * The patients who hung up while this user's calls were paused, to call back: number and time, oldest
 * first, until dismissed.
 *
 * @fires dismiss - `Event`, bubbles and composed: "Dismiss".
 */
@customElement('dl-missed-calls')
export class DlMissedCalls extends LitElement {
  static override styles = [
    controlStyles,
    panelStyles,
    secondaryButtonStyles,
    css`
      .card {
        gap: 0.75rem;
      }

      ul {
        display: grid;
        margin: 0;
        padding: 0;
        list-style: none;
      }

      li {
        display: flex;
        justify-content: space-between;
        gap: 1rem;
        padding: 0.5rem 0;
        border-top: 1px solid var(--dl-color-border);
      }

      .number {
        font-weight: 700;
        font-variant-numeric: tabular-nums;
      }

      time {
        color: var(--dl-color-text-muted);
        font-variant-numeric: tabular-nums;
      }
    `,
  ];

  @property({ attribute: false }) calls: readonly MissedCall[] = [];

  protected override render() {
    return html`
      <section class="card" aria-labelledby="missed-title">
        <h2 id="missed-title">Missed while you were paused</h2>
        <ul aria-labelledby="missed-title">
          ${this.calls.map(
            (call) => html`<li>
              <span class="number">${call.from}</span>
              <time datetime=${new Date(call.endedAt).toISOString()}>hung up at ${formatClockTime(call.endedAt)}</time>
            </li>`,
          )}
        </ul>
        <div><button class="secondary" type="button" @click=${this.#onDismiss}>Dismiss</button></div>
      </section>
    `;
  }

  #onDismiss(): void {
    this.dispatchEvent(new Event('dismiss', { bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-missed-calls': DlMissedCalls;
  }
}
