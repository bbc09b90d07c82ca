import type { CallView } from '@deskline/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { ClockController } from '../controllers/clock-controller.js';
import { formatDuration, isoDuration } from '../format.js';
import { micIcon, micOffIcon, phoneIcon } from '../icons.js';
import type { PhoneCall } from '../services/phone-call-session.js';
import { cardStyles, controlStyles, visuallyHiddenStyles } from '../styles/shared-styles.js';

/**
 * The call in this browser. Ringing: the caller's number, how long they have waited, and Answer. In
 * a call: the number, a running mm:ss timer, Mute (a toggle, aria-pressed) and Hang up. After the
 * call: how it ended, briefly. With no call it shows nothing, but it always keeps the <audio> element
 * that plays the caller's voice, so playback never waits for an element to appear.
 *
 * @fires answer - `Event`, bubbles and composed: Answer was pressed.
 * @fires hang-up - `Event`, bubbles and composed: Hang up was pressed.
 * @fires mute-change - `CustomEvent<{ muted: boolean }>`, bubbles and composed: Mute was toggled;
 *   `muted` is the state asked for.
 * @csspart panel - The card around the call.
 */
@customElement('dl-call-panel')
export class DlCallPanel extends LitElement {
  static override styles = [
    controlStyles,
    cardStyles,
    visuallyHiddenStyles,
    css`
      /* No box of its own: idle, it adds no gap to the column it sits in; the card is the box. */
      :host {
        display: contents;
      }

      .card {
        display: grid;
        grid-template-columns: auto 1fr;
        gap: 0.25rem 1.25rem;
        align-items: center;
        border-width: 2px;
      }

      .card.ringing {
        border-color: var(--dl-color-success);
        background: var(--dl-color-success-surface);
      }

      .card.ended {
        box-shadow: none;
      }

      .badge {
        display: grid;
        place-items: center;
        width: 3.5rem;
        height: 3.5rem;
        border-radius: 50%;
        background: var(--dl-color-avatar);
        color: var(--dl-color-on-avatar);
      }

      .ringing .badge {
        background: var(--dl-color-success);
        color: var(--dl-color-on-success);
        animation: pulse 1.5s ease-out infinite;
      }

      .badge svg {
        width: 1.75rem;
        height: 1.75rem;
      }

      .who {
        display: grid;
        gap: 0.125rem;
        min-width: 0;
      }

      .who p {
        margin: 0;
      }

      .name {
        font-size: 1.0625rem;
        font-weight: 600;
      }

      .label {
        margin: 0;
        color: var(--dl-color-text-muted);
        font-weight: 600;
      }

      .ringing .label {
        color: var(--dl-color-success-hover);
      }

      .number {
        margin: 0;
        font-size: clamp(1.375rem, 5vw, 1.75rem);
        font-weight: 700;
        line-height: 1.2;
        font-variant-numeric: tabular-nums;
        overflow-wrap: anywhere;
      }

      .detail {
        margin: 0;
        color: var(--dl-color-text-muted);
        font-variant-numeric: tabular-nums;
      }

      .detail time {
        color: var(--dl-color-text);
        font-weight: 600;
      }

      .timer {
        font-size: 1.25rem;
      }

      .actions {
        display: flex;
        flex-wrap: wrap;
        grid-column: 1 / -1;
        gap: 0.75rem;
        margin-top: 1rem;
      }

      .actions button {
        display: inline-flex;
        align-items: center;
        justify-content: center;
        gap: 0.5rem;
        min-width: 9rem;
        min-height: 3rem;
        padding: 0.625rem 1.25rem;
        border: 1px solid transparent;
        border-radius: var(--dl-radius);
        font-weight: 700;
        cursor: pointer;
      }

      .actions svg {
        width: 1.25rem;
        height: 1.25rem;
      }

      .answer {
        background: var(--dl-color-success);
        color: var(--dl-color-on-success);
      }

      .answer:hover {
        background: var(--dl-color-success-hover);
      }

      .hang-up {
        background: var(--dl-color-danger);
        color: var(--dl-color-on-danger);
      }

      .hang-up:hover {
        background: var(--dl-color-danger-hover);
      }

      .hang-up svg {
        transform: rotate(135deg);
      }

      .mute {
        border-color: var(--dl-color-field-border) !important;
        background: var(--dl-color-surface);
      }

      .mute:hover {
        background: var(--dl-color-surface-hover);
      }

      .mute[aria-pressed='true'] {
        border-color: var(--dl-color-danger-text) !important;
        background: var(--dl-color-danger-surface);
        color: var(--dl-color-danger-text);
      }

      @keyframes pulse {
        0% {
          box-shadow: 0 0 0 0 rgb(26 127 55 / 45%);
        }
        100% {
          box-shadow: 0 0 0 0.875rem rgb(26 127 55 / 0%);
        }
      }

      @media (max-width: 30rem) {
        .card {
          gap: 0.25rem 0.875rem;
          padding: 1rem;
        }

        .badge {
          width: 2.75rem;
          height: 2.75rem;
        }

        .badge svg {
          width: 1.375rem;
          height: 1.375rem;
        }
      }

      @media (prefers-reduced-motion: reduce) {
        .ringing .badge {
          animation: none;
        }
      }
    `,
  ];

  /** The call in this browser: ringing, connected, or just ended. */
  @property({ attribute: false }) call: PhoneCall | undefined;

  /** The same call as the queue sees it, when known: its waiting time counts from `queuedAt`. */
  @property({ attribute: false }) queueCall: CallView | undefined;

  @property({ type: Boolean }) muted = false;

  /** The caller's audio. */
  @property({ attribute: false }) remoteStream: MediaStream | undefined;

  #clock = new ClockController(this);

  protected override render() {
    return html`
      <audio autoplay .srcObject=${this.remoteStream ?? null}></audio>
      <p class="visually-hidden" role="status">${this.#announcement()}</p>
      ${this.call === undefined ? nothing : this.#renderCall(this.call)}
    `;
  }

  #renderCall(call: PhoneCall) {
    const now = this.#clock.now;
    switch (call.state) {
      case 'ringing': {
        const since = this.queueCall ? (this.queueCall.queuedAt ?? this.queueCall.startedAt) : call.ringStartedAt;
        return html`
          <section class="card ringing" part="panel" aria-label="Incoming call">
            <span class="badge">${phoneIcon}</span>
            <div class="who">
              <p class="label">Incoming call</p>
              ${this.#caller(call)}
              <p class="detail">Waiting <time datetime=${isoDuration(now - since)}>${formatDuration(now - since)}</time></p>
            </div>
            <div class="actions">
              <button class="answer" type="button" @click=${this.#onAnswer}>${phoneIcon}Answer</button>
            </div>
          </section>
        `;
      }
      case 'connecting':
      case 'in-call': {
        const elapsed = call.startedAt === undefined ? undefined : now - call.startedAt;
        return html`
          <section class="card" part="panel" aria-label="Call">
            <span class="badge">${this.muted ? micOffIcon : phoneIcon}</span>
            <div class="who">
              <p class="label">${call.state === 'in-call' ? (this.muted ? 'In call · your microphone is off' : 'In call') : call.remoteRinging ? 'Ringing…' : 'Connecting…'}</p>
              ${this.#caller(call)}
              <p class="detail timer">
                ${
                  elapsed === undefined
                    ? html`<time>00:00</time>`
                    : html`<time datetime=${isoDuration(elapsed)}>${formatDuration(elapsed)}</time>`
                }
              </p>
            </div>
            <div class="actions">
              <button
                class="mute"
                type="button"
                aria-pressed=${String(this.muted)}
                ?disabled=${call.state !== 'in-call'}
                @click=${this.#onMute}
              >
                ${this.muted ? micOffIcon : micIcon}Mute
              </button>
              <button class="hang-up" type="button" @click=${this.#onHangUp}>${phoneIcon}Hang up</button>
            </div>
          </section>
        `;
      }
      case 'ended': {
        const talked =
          call.startedAt !== undefined && call.endedAt !== undefined ? call.endedAt - call.startedAt : undefined;
        return html`
          <section class="card ended" part="panel" aria-label="Call ended">
            <span class="badge">${phoneIcon}</span>
            <div class="who">
              <p class="label">Call ended${talked === undefined ? '' : ` after ${formatDuration(talked)}`}</p>
              ${this.#caller(call)}
              <p class="detail">${call.endReason ?? ''}</p>
            </div>
          </section>
        `;
      }
    }
  }

  #caller(call: PhoneCall) {
    return html`<p class="number">${call.number}</p>
      ${call.name ? html`<p class="name">${call.name}</p>` : nothing}`;
  }

  #announcement(): string {
    const call = this.call;
    switch (call?.state) {
      case 'ringing':
        return `Incoming call from ${call.number}`;
      case 'in-call':
        return `In call with ${call.number}`;
      case 'ended':
        return call.endReason ?? 'Call ended';
      default:
        return '';
    }
  }

  #onAnswer(): void {
    this.dispatchEvent(new Event('answer', { bubbles: true, composed: true }));
  }

  #onHangUp(): void {
    this.dispatchEvent(new Event('hang-up', { bubbles: true, composed: true }));
  }

  #onMute(): void {
    this.dispatchEvent(
      new CustomEvent<{ muted: boolean }>('mute-change', {
        detail: { muted: !this.muted },
        bubbles: true,
        composed: true,
      }),
    );
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-call-panel': DlCallPanel;
  }
}
