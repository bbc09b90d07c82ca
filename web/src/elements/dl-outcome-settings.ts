import type { OutcomeSettings } from '@deskline/protocol';
import { css, html, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { errorMessage } from '../services/error-message.js';
import { SettingsForm } from '../settings-form.js';

/**
 * The managers' call outcomes setting (docs/managers.md, "Call outcomes"), shown under the callback
 * policy: whether Abandoned tasks (the patient hung up during the intro) get Call back like Unanswered
 * ones. Loads and saves /api/settings/outcomes itself through `api`; boards pick the change up the
 * next time a missed-calls tab is opened.
 */
@customElement('dl-outcome-settings')
export class DlOutcomeSettings extends SettingsForm {
  static override styles = [
    ...SettingsForm.styles,
    css`
      :host {
        display: block;
        margin-top: 1rem;
      }

      label {
        font-weight: 400;
      }
    `,
  ];

  @state() private loaded: OutcomeSettings | undefined;
  @state() private abandonedCallbacks = false;

  protected override async load(): Promise<void> {
    this.#show(await this.api.outcomeSettings());
  }

  #show(settings: OutcomeSettings): void {
    this.loaded = settings;
    this.abandonedCallbacks = settings.abandonedCallbacks;
  }

  async #onSave(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    this.done = '';
    this.error = '';
    this.busy = true;
    try {
      this.#show(await this.api.setOutcomeSettings({ body: { abandonedCallbacks: this.abandonedCallbacks } }));
      this.done = this.abandonedCallbacks
        ? 'Saved. Abandoned calls can be called back.'
        : 'Saved. Only unanswered calls can be called back.';
    } catch (error) {
      this.error = errorMessage(error);
    } finally {
      this.busy = false;
    }
  }

  protected override render() {
    return html`
      <section class="card" aria-labelledby="outcomes-title">
        <h2 id="outcomes-title">Call outcomes</h2>
        <p>
          A patient who hangs up while waiting or ringing is Unanswered, with Call back. One who hangs up during the
          intro is Abandoned: they did not wait to be put through, so the board offers no Call back unless you turn it
          on here.
        </p>
        ${this.error === '' ? nothing : html`<p class="alert" role="alert">${this.error}</p>`}
        ${
          this.loaded
            ? html`<form @submit=${this.#onSave} novalidate>
                <label>
                  <input
                    type="checkbox"
                    .checked=${this.abandonedCallbacks}
                    @change=${(e: Event) => (this.abandonedCallbacks = (e.target as HTMLInputElement).checked)}
                  />
                  Offer Call back on abandoned calls too
                </label>
                <div>
                  <button class="primary" type="submit" ?disabled=${this.busy}>Save call outcomes</button>
                </div>
              </form>`
            : nothing
        }
        <p class="success" role="status" ?hidden=${this.done === ''}>${this.done}</p>
      </section>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-outcome-settings': DlOutcomeSettings;
  }
}
