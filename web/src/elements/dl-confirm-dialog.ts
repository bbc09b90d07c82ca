import { LitElement, css, html } from 'lit';
import { customElement, query, state } from 'lit/decorators.js';
import { controlStyles, secondaryButtonStyles } from '../styles/shared-styles.js';
import { dialogStyles } from '../styles/dialog-styles.js';

export interface ConfirmOptions {
  /** The question, e.g. "You are on a call with +48…; log out and hang up?" */
  message: string;
  /** The button that goes ahead, e.g. "Log out and hang up". */
  confirmLabel: string;
  /** The button that keeps everything as it is. Default "Cancel". */
  cancelLabel?: string;
}

/**
 * A modal question with two answers, for an action that cannot be undone (logging out during a
 * call). `ask()` opens it and resolves with true for the confirm button, false for Cancel or Escape.
 * It is a native modal <dialog>, so focus stays inside it and the page behind is inert; Cancel has
 * the focus first, so a stray Enter keeps things as they are.
 */
@customElement('dl-confirm-dialog')
export class DlConfirmDialog extends LitElement {
  static override styles = [
    controlStyles,
    secondaryButtonStyles,
    dialogStyles,
    css`
      dialog {
        width: min(calc(100vw - 2rem), 28rem);
        padding: 1.5rem;
      }

      dialog::backdrop {
        background: rgb(16 24 40 / 45%);
      }

      p {
        margin: 0 0 1.5rem;
        font-size: 1.0625rem;
      }

      .actions {
        display: flex;
        flex-wrap: wrap;
        justify-content: flex-end;
        gap: 0.75rem;
      }

      .danger {
        min-height: var(--dl-target-size);
        padding: 0.5rem 1rem;
        border: 0;
        border-radius: var(--dl-radius);
        background: var(--dl-color-danger);
        color: var(--dl-color-on-danger);
        font-weight: 600;
        cursor: pointer;
      }

      .danger:hover {
        background: var(--dl-color-danger-hover);
      }
    `,
  ];

  @state() private options: ConfirmOptions = { message: '', confirmLabel: 'OK' };

  @query('dialog') private dialog!: HTMLDialogElement;

  #answer: ((confirmed: boolean) => void) | undefined;

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#finish(false);
  }

  /** Shows the question; resolves when it is answered. A second question replaces an open one (as Cancel). */
  async ask(options: ConfirmOptions): Promise<boolean> {
    this.#finish(false);
    this.options = options;
    await this.updateComplete;
    this.dialog.showModal();
    this.shadowRoot?.querySelector<HTMLButtonElement>('.cancel')?.focus();
    return new Promise((resolve) => {
      this.#answer = resolve;
    });
  }

  protected override render() {
    return html`
      <dialog role="alertdialog" aria-labelledby="message" @close=${() => this.#finish(false)}>
        <p id="message">${this.options.message}</p>
        <div class="actions">
          <button class="secondary cancel" type="button" @click=${() => this.#finish(false)}>
            ${this.options.cancelLabel ?? 'Cancel'}
          </button>
          <button class="danger" type="button" @click=${() => this.#finish(true)}>${this.options.confirmLabel}</button>
        </div>
      </dialog>
    `;
  }

  #finish(confirmed: boolean): void {
    const answer = this.#answer;
    this.#answer = undefined;
    if (this.dialog?.open) this.dialog.close();
    answer?.(confirmed);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-confirm-dialog': DlConfirmDialog;
  }
}
