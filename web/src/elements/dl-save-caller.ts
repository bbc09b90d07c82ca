import { CONTACT_NAME_MAX_LENGTH, CONTACT_NOTE_MAX_LENGTH } from '@deskline/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { alertStyles, controlStyles, primaryButtonStyles, secondaryButtonStyles } from '../styles/shared-styles.js';

export interface SaveCallerDetail {
  name: string;
  note: string;
}

/**
 * "Save this caller" on a task of a number that is not a contact (issue 16, item 5): a button that
 * opens a small form, the name (required) and a note, then Save or Cancel.
 *
 * @fires save-caller - `CustomEvent<SaveCallerDetail>`: the person asked to save the caller; the owner
 *   saves it and sets `saving`, then `error` or removes this element.
 */
@customElement('dl-save-caller')
export class DlSaveCaller extends LitElement {
  static override styles = [
    controlStyles,
    alertStyles,
    primaryButtonStyles,
    secondaryButtonStyles,
    css`
      :host {
        display: block;
        margin-top: 0.5rem;
      }
      form {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
        align-items: end;
      }
      label {
        display: flex;
        flex-direction: column;
        font-size: 0.875rem;
      }
    `,
  ];

  /** The number, for the form's accessible name. */
  @property() number = '';
  @property({ type: Boolean }) saving = false;
  /** Why the last save failed ('' when it did not). */
  @property() error = '';

  @state() private open = false;

  protected override render() {
    if (!this.open) {
      return html`<button class="secondary" type="button" @click=${this.#openForm}>Save this caller</button>`;
    }
    return html`<form aria-label=${`Save ${this.number} as a contact`} @submit=${this.#onSubmit}>
        <label
          >Name
          <input name="name" required maxlength=${CONTACT_NAME_MAX_LENGTH} autocomplete="off" />
        </label>
        <label
          >Note
          <input name="note" maxlength=${CONTACT_NOTE_MAX_LENGTH} autocomplete="off" />
        </label>
        <button class="primary" type="submit" ?disabled=${this.saving}>${this.saving ? 'Saving…' : 'Save contact'}</button>
        <button class="secondary" type="button" @click=${() => (this.open = false)}>Cancel</button>
      </form>
      ${this.error === '' ? nothing : html`<p class="alert" role="alert">${this.error}</p>`}`;
  }

  async #openForm(): Promise<void> {
    this.open = true;
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLInputElement>('input[name="name"]')?.focus();
  }

  #onSubmit(event: SubmitEvent): void {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const detail: SaveCallerDetail = { name: String(data.get('name') ?? ''), note: String(data.get('note') ?? '') };
    this.dispatchEvent(new CustomEvent<SaveCallerDetail>('save-caller', { detail }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-save-caller': DlSaveCaller;
  }
}
