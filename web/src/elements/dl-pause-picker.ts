import { PAUSE_MINUTES_CHOICES } from '@deskline/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { alertStyles, controlStyles, secondaryButtonStyles } from '../styles/shared-styles.js';
import { panelStyles } from '../styles/panel-styles.js';

export interface PauseSelectDetail {
  minutes: number;
}

/**
 * "Pause incoming calls": one button per duration. It only shows and asks; the host talks to the
 * server and passes back `pending` and `error`.
 *
 * @fires pause-select - `CustomEvent<PauseSelectDetail>`, bubbles and composed: a duration was chosen.
 * @fires picker-close - `Event`, bubbles and composed: Cancel.
 */
@customElement('dl-pause-picker')
export class DlPausePicker extends LitElement {
  static override styles = [
    controlStyles,
    alertStyles,
    panelStyles,
    secondaryButtonStyles,
    css`
      h2 {
        font-size: 1.375rem;
        line-height: 1.3;
      }

      .intro {
        margin: -0.5rem 0 0;
        color: var(--dl-color-text-muted);
      }

      ul {
        display: flex;
        flex-wrap: wrap;
        gap: 0.75rem;
        margin: 0;
        padding: 0;
        list-style: none;
      }

      .choice {
        min-width: 7rem;
      }
    `,
  ];

  /** A choice is being sent: the buttons wait for the answer. */
  @property({ type: Boolean }) pending = false;

  /** Why the last choice failed, e.g. "Choose a workstation before pausing incoming calls.". */
  @property() error = '';

  protected override render() {
    return html`
      <section class="card" aria-labelledby="pause-title">
        <h2 id="pause-title">Pause incoming calls</h2>
        <p class="intro">Your workstation will not ring until the time is up or you say you are back. Patients keep waiting in the queue.</p>
        ${this.error === '' ? nothing : html`<p class="alert" role="alert">${this.error}</p>`}
        <ul>
          ${PAUSE_MINUTES_CHOICES.map(
            (minutes) => html`<li>
              <button class="secondary choice" type="button" ?disabled=${this.pending} @click=${() => this.#select(minutes)}>
                ${minutes} minutes
              </button>
            </li>`,
          )}
        </ul>
        <div><button class="secondary" type="button" @click=${this.#onCancel}>Cancel</button></div>
      </section>
    `;
  }

  #select(minutes: number): void {
    this.dispatchEvent(
      new CustomEvent<PauseSelectDetail>('pause-select', { detail: { minutes }, bubbles: true, composed: true }),
    );
  }

  #onCancel(): void {
    this.dispatchEvent(new Event('picker-close', { bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-pause-picker': DlPausePicker;
  }
}
