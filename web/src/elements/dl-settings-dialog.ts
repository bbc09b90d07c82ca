import type { PublicUser } from '@deskline/protocol';
import { LitElement, css, html } from 'lit';
import { customElement, property, query } from 'lit/decorators.js';
import { apiClient, type ApiClient } from '../services/api-client.js';
import { controlStyles, secondaryButtonStyles } from '../styles/shared-styles.js';
import { dialogStyles } from '../styles/dialog-styles.js';
import type { DlPasswordSettings } from './dl-password-settings.js';
import './dl-password-settings.js';
import type { DlProfileSettings } from './dl-profile-settings.js';
import './dl-profile-settings.js';

/**
 * "Settings", opened from the user menu: the profile (picture and name) and security (password)
 * sections in a modal <dialog>. Escape or Close shuts it; the work area stays as it was behind it.
 * A modal dialog makes the page behind it inert, so the shell closes it when a call rings (what was
 * typed stays until the dialog is opened again).
 *
 * The sections' events (`user-change`, `session-renew`) bubble out of it unchanged.
 */
@customElement('dl-settings-dialog')
export class DlSettingsDialog extends LitElement {
  static override styles = [
    controlStyles,
    secondaryButtonStyles,
    dialogStyles,
    css`
      dialog {
        width: min(calc(100vw - 2rem), 36rem);
        max-height: calc(100vh - 2rem);
        padding: 0;
      }

      dialog::backdrop {
        background: rgb(16 24 40 / 35%);
      }

      header {
        position: sticky;
        top: 0;
        display: flex;
        align-items: center;
        justify-content: space-between;
        padding: 1rem 1.5rem;
        border-bottom: 1px solid var(--dl-color-border);
        background: var(--dl-color-surface);
      }

      h2 {
        margin: 0;
        font-size: 1.375rem;
      }

      section {
        display: grid;
        padding: 1.25rem 1.5rem 1.5rem;
      }

      section + section {
        border-top: 1px solid var(--dl-color-border);
      }
    `,
  ];

  @property({ attribute: false }) user: PublicUser | undefined;

  @property({ attribute: false }) api: ApiClient = apiClient;

  @query('dialog') private dialog!: HTMLDialogElement;
  @query('dl-profile-settings') private profile!: DlProfileSettings;
  @query('dl-password-settings') private password!: DlPasswordSettings;

  get open(): boolean {
    return this.dialog?.open ?? false;
  }

  async show(): Promise<void> {
    await this.updateComplete;
    this.profile.reset();
    this.password.reset();
    if (!this.dialog.open) this.dialog.showModal();
  }

  close(): void {
    if (this.dialog?.open) this.dialog.close();
  }

  protected override render() {
    return html`
      <dialog aria-labelledby="title">
        <header>
          <h2 id="title">Settings</h2>
          <button class="secondary" type="button" @click=${() => this.close()}>Close</button>
        </header>
        <section aria-label="Profile">
          <dl-profile-settings .user=${this.user} .api=${this.api}></dl-profile-settings>
        </section>
        <section aria-label="Security">
          <dl-password-settings .api=${this.api}></dl-password-settings>
        </section>
      </dialog>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-settings-dialog': DlSettingsDialog;
  }
}
