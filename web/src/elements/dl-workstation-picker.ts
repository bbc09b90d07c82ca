import type { WorkstationListItem } from '@deskline/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { alertStyles, controlStyles, secondaryButtonStyles } from '../styles/shared-styles.js';
import { panelStyles } from '../styles/panel-styles.js';

export interface WorkstationSelectDetail {
  workstationId: string;
}

/** Where calls ring on this workstation, and for a desk phone whether it is registered now. */
function kindLabel(workstation: WorkstationListItem): string {
  if (workstation.kind === 'browser') return 'Calls ring in this browser';
  return `Calls ring on ${workstation.sipUser ? `desk phone ${workstation.sipUser}` : 'a desk phone'} · ${workstation.registered ? 'registered' : 'not registered'}`;
}

/**
 * "Choose your workstation to receive calls": one button per workstation of the clinic, saying where
 * calls ring (this browser, or a desk phone and whether it is registered) and who is on it. One that
 * someone else is on cannot be chosen. It only shows and asks; the host talks to the server and
 * passes back `pending` and `error`.
 *
 * @fires workstation-select - `CustomEvent<WorkstationSelectDetail>`, bubbles and composed: a
 *   workstation was chosen.
 * @fires work-without-workstation - `Event`, bubbles and composed: the person (a manager) chose to
 *   work without one, so no calls ring for them.
 * @fires picker-close - `Event`, bubbles and composed: Cancel; keep the current workstation.
 */
@customElement('dl-workstation-picker')
export class DlWorkstationPicker extends LitElement {
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

      .intro,
      .empty {
        margin: -0.5rem 0 0;
        color: var(--dl-color-text-muted);
      }

      ul {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(13rem, 1fr));
        gap: 0.75rem;
        margin: 0;
        padding: 0;
        list-style: none;
      }

      .choice {
        position: relative;
        display: grid;
        gap: 0.125rem;
        width: 100%;
        min-height: 4.5rem;
        box-sizing: border-box;
        padding: 0.75rem 1rem;
        border: 1px solid var(--dl-color-field-border);
        border-radius: var(--dl-radius);
        background: var(--dl-color-surface);
        text-align: start;
        cursor: pointer;
      }

      .choice:hover:not(:disabled) {
        border-color: var(--dl-color-primary);
        background: var(--dl-color-surface-hover);
      }

      .choice:disabled {
        cursor: not-allowed;
        opacity: 0.6;
      }

      .choice[aria-current='true'] {
        border: 2px solid var(--dl-color-primary);
        padding: calc(0.75rem - 1px) calc(1rem - 1px);
      }

      .name {
        font-size: 1.0625rem;
        font-weight: 700;
      }

      [aria-current='true'] .name {
        padding-right: 4.5rem;
      }

      .current {
        position: absolute;
        top: 0.5rem;
        right: 0.5rem;
        padding: 0 0.5rem;
        border-radius: 999px;
        background: var(--dl-color-primary);
        color: var(--dl-color-on-primary);
        font-size: 0.8125rem;
        font-weight: 600;
      }

      .kind,
      .holder {
        color: var(--dl-color-text-muted);
        font-size: 0.9375rem;
      }

      .holder {
        font-weight: 600;
      }

      .footer {
        display: flex;
        flex-wrap: wrap;
        gap: 0.75rem;
      }
    `,
  ];

  @property({ attribute: false }) workstations: readonly WorkstationListItem[] = [];

  /** The id of the user's workstation, if they have one. */
  @property() current: string | undefined;

  /** The id being chosen right now ('' while leaving): every choice waits for the answer. */
  @property() pending: string | undefined;

  /** Why the last choice failed, e.g. "Reception 2 is in use by Ben Reception.". */
  @property() error = '';

  /** Why no choice is possible right now (a call in progress); the choices are disabled. */
  @property() locked = '';

  /** Offer "Work without a workstation" (managers). */
  @property({ type: Boolean, attribute: 'can-skip' }) canSkip = false;

  /** Offer Cancel (the person already has a workstation). */
  @property({ type: Boolean, attribute: 'can-cancel' }) canCancel = false;

  protected override render() {
    const message = this.locked || this.error;
    const disabled = this.locked !== '' || this.pending !== undefined;
    return html`
      <section class="card" aria-labelledby="title">
        <h2 id="title">Choose your workstation to receive calls</h2>
        <p class="intro">Pick a workstation to receive calls and to call patients back.</p>
        ${message === '' ? nothing : html`<p class="alert" role="alert">${message}</p>`}
        ${
          this.workstations.length === 0
            ? html`<p class="empty">There are no workstations yet. A manager can add them.</p>`
            : html`<ul>
              ${this.workstations.map((workstation) => this.#choice(workstation, disabled))}
            </ul>`
        }
        ${this.canCancel || this.canSkip ? html`<div class="footer">${this.#footer(disabled)}</div>` : nothing}
      </section>
    `;
  }

  #choice(workstation: WorkstationListItem, disabled: boolean) {
    const id = `ws-${workstation.id}`;
    const isCurrent = workstation.id === this.current;
    // The user's own workstation lists them as its holder; only someone else's holding counts.
    const heldBy = isCurrent ? undefined : workstation.holder?.displayName;
    const kind = this.pending === workstation.id ? 'Connecting…' : kindLabel(workstation);
    return html`
      <li>
        <button
          class="choice"
          type="button"
          aria-labelledby="${id}-name"
          aria-describedby="${id}-kind${heldBy === undefined ? '' : ` ${id}-holder`}"
          aria-current=${isCurrent ? 'true' : 'false'}
          ?disabled=${disabled || heldBy !== undefined}
          @click=${() => this.#select(workstation)}
        >
          <span class="name" id="${id}-name">${workstation.name}</span>
          <span class="kind" id="${id}-kind">${kind}</span>
          ${heldBy === undefined ? nothing : html`<span class="holder" id="${id}-holder">In use by ${heldBy}</span>`}
          ${isCurrent ? html`<span class="current" aria-hidden="true">Current</span>` : nothing}
        </button>
      </li>
    `;
  }

  #footer(disabled: boolean) {
    return html`
      ${this.canCancel ? html`<button class="secondary" type="button" @click=${this.#onCancel}>Cancel</button>` : nothing}
      ${
        this.canSkip
          ? html`<button class="secondary" type="button" ?disabled=${disabled} @click=${this.#onSkip}>
            Work without a workstation
          </button>`
          : nothing
      }
    `;
  }

  #select(workstation: WorkstationListItem): void {
    this.dispatchEvent(
      new CustomEvent<WorkstationSelectDetail>('workstation-select', {
        detail: { workstationId: workstation.id },
        bubbles: true,
        composed: true,
      }),
    );
  }

  #onSkip(): void {
    this.dispatchEvent(new Event('work-without-workstation', { bubbles: true, composed: true }));
  }

  #onCancel(): void {
    this.dispatchEvent(new Event('picker-close', { bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-workstation-picker': DlWorkstationPicker;
  }
}
