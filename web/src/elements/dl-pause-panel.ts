import { PAUSE_EXTEND_MINUTES, type PauseReason } from '@deskline/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { formatClockTime, formatCountdown, isoDuration } from '../format.js';
import { alertStyles, controlStyles, secondaryButtonStyles } from '../styles/shared-styles.js';

/**
 * The grey band at the top of the app while incoming calls are paused: the time left (a countdown
 * that the host's pause controller turns over every second), when the pause ends, "+5 minutes" and
 * "I'm back". A wrap-up after a call (the distribution settings) shows "Wrap-up" and "Ready now"
 * instead; a pause after unanswered rings says so.
 *
 * @fires pause-extend - `Event`, bubbles and composed: "+5 minutes".
 * @fires pause-end - `Event`, bubbles and composed: "I'm back".
 */
@customElement('dl-pause-panel')
export class DlPausePanel extends LitElement {
  static override styles = [
    controlStyles,
    alertStyles,
    secondaryButtonStyles,
    css`
      :host {
        display: block;
      }

      section {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.75rem 1.5rem;
        padding: 0.875rem 1.5rem;
        border-bottom: 1px solid var(--dl-color-paused-border);
        background: var(--dl-color-paused-surface);
      }

      .what {
        display: grid;
        flex: 1 1 16rem;
      }

      h2 {
        margin: 0;
        font-size: 1.0625rem;
      }

      .until {
        color: var(--dl-color-text-muted);
      }

      time {
        font-size: 1.75rem;
        font-weight: 700;
        font-variant-numeric: tabular-nums;
      }

      .actions {
        display: flex;
        flex-wrap: wrap;
        gap: 0.75rem;
      }

      .alert {
        flex-basis: 100%;
      }
    `,
  ];

  /** Epoch ms at which the pause ends. */
  @property({ type: Number }) until = 0;

  /** Milliseconds left, as of this render. */
  @property({ type: Number }) remaining = 0;

  /** "+5 minutes" would not pass the longest pause allowed. */
  @property({ type: Boolean, attribute: 'can-extend' }) canExtend = true;

  /** A request is under way. */
  @property({ type: Boolean }) pending = false;

  @property() error = '';

  /** Why the distribution settings paused the user; undefined for a pause they chose. */
  @property() reason: PauseReason | undefined;

  protected override render() {
    const wrapUp = this.reason === 'wrap-up';
    const title = wrapUp
      ? 'Wrap-up after the call'
      : this.reason === 'no-answer'
        ? 'Incoming calls paused: calls rang unanswered'
        : 'Incoming calls paused';
    return html`
      <section aria-labelledby="paused-title">
        <div class="what">
          <h2 id="paused-title">${title}</h2>
          ${
            this.reason === 'no-answer'
              ? html`<span class="why">Your workstation did not answer several calls in a row, so Deskline paused it.
                  Press "I'm back" when you are at your desk.</span>`
              : nothing
          }
          <span class="until">Your workstation rings again at ${formatClockTime(this.until)}.</span>
        </div>
        <time role="timer" aria-label="Time left" datetime=${isoDuration(this.remaining)}>${formatCountdown(this.remaining)}</time>
        <div class="actions">
          ${
            wrapUp
              ? nothing
              : html`<button class="secondary" type="button" ?disabled=${this.pending || !this.canExtend} @click=${this.#onExtend}>
                  +${PAUSE_EXTEND_MINUTES} minutes
                </button>`
          }
          <button class="secondary" type="button" ?disabled=${this.pending} @click=${this.#onEnd}>
            ${wrapUp ? 'Ready now' : "I'm back"}
          </button>
        </div>
        ${this.error === '' ? nothing : html`<p class="alert" role="alert">${this.error}</p>`}
      </section>
    `;
  }

  #onExtend(): void {
    this.dispatchEvent(new Event('pause-extend', { bubbles: true, composed: true }));
  }

  #onEnd(): void {
    this.dispatchEvent(new Event('pause-end', { bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-pause-panel': DlPausePanel;
  }
}
