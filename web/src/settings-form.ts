import { LitElement, css, type PropertyValues } from 'lit';
import { property, state } from 'lit/decorators.js';
import { apiClient, type ApiClient } from './services/api-client.js';
import { errorMessage } from './services/error-message.js';
import { formPanelStyles } from './styles/panel-styles.js';

/**
 * What the managers' settings forms (dl-call-plan, dl-outbound-policy) share: a panel with a form of
 * fieldsets, an alert and a "saved" status, the `api` they load and save through, and their loading
 * (`load()`, at the first update and whenever `api` changes; a failure is shown in `error`). An
 * element's own styles come after `SettingsForm.styles`.
 */
export abstract class SettingsForm extends LitElement {
  static override styles = [
    ...formPanelStyles,
    css`
      form {
        display: grid;
        gap: 1rem;
      }

      p {
        margin: 0;
      }

      fieldset {
        margin: 0;
        padding: 0.75rem 1rem;
        border: 1px solid var(--dl-color-border);
        border-radius: var(--dl-radius);
      }

      legend {
        font-weight: 600;
      }
    `,
  ];

  @property({ attribute: false }) api: ApiClient = apiClient;
  /** What went wrong with the last load or save, in words; '' when nothing did. */
  @state() protected error = '';
  /** What the last save did, for the status line; '' before one. */
  @state() protected done = '';
  /** A save is under way: its buttons are disabled. */
  @state() protected busy = false;

  /** Loads the settings through `api` and shows them; a rejection becomes `error`. */
  protected abstract load(): Promise<void>;

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (!this.hasUpdated || changed.has('api')) void this.#reload();
  }

  async #reload(): Promise<void> {
    this.error = '';
    try {
      await this.load();
    } catch (error) {
      this.error = errorMessage(error);
    }
  }
}
