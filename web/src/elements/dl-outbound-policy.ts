import {
  CALLBACKS_PER_DAY_MAX,
  CALLBACK_DURATION_MAX_SECONDS,
  CALLBACK_DURATION_MIN_SECONDS,
  E164_PREFIX_PATTERN,
  NUMBER_TYPES,
  NUMBER_TYPE_NAMES,
  type NumberType,
  type OutboundPolicy,
  type OutboundPolicyResponse,
} from '@deskline/protocol';
import { css, html, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { errorMessage } from '../services/error-message.js';
import { SettingsForm } from '../settings-form.js';

/** "+48, +420" or "+48 +420" as a list; nothing typed is an empty list. */
function prefixesOf(text: string): string[] {
  return text.split(/[\s,;]+/).filter((prefix) => prefix !== '');
}

/** Minutes as typed, up to two decimals, for the policy's seconds. */
function minutesOf(seconds: number): string {
  return String(Math.round((seconds / 60) * 100) / 100);
}

/**
 * The managers' callback policy (docs/security.md, "Callbacks: the outbound policy"): which numbers
 * Call back may dial (E.164 prefixes allowed and denied, and the kinds of number), how many callbacks
 * an employee may start a day, and how long an answered callback may last. Loads and saves
 * /api/settings/outbound-policy itself through `api`; the server's refusal is shown as it says it.
 */
@customElement('dl-outbound-policy')
export class DlOutboundPolicy extends SettingsForm {
  static override styles = [
    ...SettingsForm.styles,
    css`
      .types {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr));
        gap: 0.5rem 1rem;
      }

      .types label {
        font-weight: 400;
      }

      .numbers {
        display: flex;
        flex-wrap: wrap;
        gap: 1rem;
      }

      .actions {
        display: flex;
        gap: 0.5rem;
      }
    `,
  ];

  @state() private loaded: OutboundPolicyResponse | undefined;
  @state() private allowed = '';
  @state() private denied = '';
  @state() private types = new Set<NumberType>();
  @state() private perDay = '';
  @state() private minutes = '';

  protected override async load(): Promise<void> {
    this.#show(await this.api.outboundPolicy());
  }

  #show(response: OutboundPolicyResponse): void {
    const { policy } = response;
    this.loaded = response;
    this.allowed = policy.allowedPrefixes.join(', ');
    this.denied = policy.deniedPrefixes.join(', ');
    this.types = new Set(policy.allowedTypes);
    this.perDay = String(policy.maxCallbacksPerDay);
    this.minutes = minutesOf(policy.maxDurationSeconds);
  }

  /** The policy as typed, or what is wrong with it in words. */
  #policy(): OutboundPolicy | string {
    const allowedPrefixes = prefixesOf(this.allowed);
    const deniedPrefixes = prefixesOf(this.denied);
    const bad = [...allowedPrefixes, ...deniedPrefixes].find((prefix) => !E164_PREFIX_PATTERN.test(prefix));
    if (bad !== undefined)
      return `"${bad}" is not a prefix: write + and the country code, e.g. +48, then more digits if needed (+4822).`;
    const perDay = Number(this.perDay);
    if (this.perDay.trim() === '' || !Number.isInteger(perDay) || perDay < 0 || perDay > CALLBACKS_PER_DAY_MAX) {
      return `Callbacks per employee per day: a whole number from 0 to ${CALLBACKS_PER_DAY_MAX}.`;
    }
    const seconds = Math.round(Number(this.minutes) * 60);
    if (
      this.minutes.trim() === '' ||
      !Number.isFinite(seconds) ||
      seconds < CALLBACK_DURATION_MIN_SECONDS ||
      seconds > CALLBACK_DURATION_MAX_SECONDS
    ) {
      return `Longest callback: from ${minutesOf(CALLBACK_DURATION_MIN_SECONDS)} to ${CALLBACK_DURATION_MAX_SECONDS / 60} minutes.`;
    }
    return {
      allowedPrefixes,
      deniedPrefixes,
      allowedTypes: NUMBER_TYPES.filter((type) => this.types.has(type)),
      maxCallbacksPerDay: perDay,
      maxDurationSeconds: seconds,
    };
  }

  async #onSave(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    this.done = '';
    const policy = this.#policy();
    if (typeof policy === 'string') {
      this.error = policy;
      return;
    }
    this.error = '';
    this.busy = true;
    try {
      this.#show(await this.api.setOutboundPolicy({ body: policy }));
      this.done = 'Saved. Callbacks follow the new policy from now on.';
    } catch (error) {
      this.error = errorMessage(error);
    } finally {
      this.busy = false;
    }
  }

  #toggle(type: NumberType, on: boolean): void {
    const types = new Set(this.types);
    if (on) types.add(type);
    else types.delete(type);
    this.types = types;
  }

  protected override render() {
    const loaded = this.loaded;
    return html`
      <section class="card" aria-labelledby="policy-title">
        <h2 id="policy-title">Callback policy</h2>
        <p>
          Which numbers Call back may dial through the clinic's trunk, and how much. A number the policy refuses is
          not called: the employee is told why.
          ${
            loaded
              ? html`Numbers without a country code are read as ${loaded.country} numbers (${loaded.countryPrefix}); the
                trunk is sent every number with its country code.`
              : nothing
          }
        </p>
        ${this.error === '' ? nothing : html`<p class="alert" role="alert">${this.error}</p>`}
        ${loaded ? this.#renderForm() : nothing}
        <p class="success" role="status" ?hidden=${this.done === ''}>${this.done}</p>
      </section>
    `;
  }

  #renderForm() {
    return html`
      <form @submit=${this.#onSave} novalidate>
        <div class="field">
          <label for="policy-allowed">Allowed prefixes</label>
          <input
            id="policy-allowed"
            aria-describedby="policy-allowed-hint"
            .value=${this.allowed}
            @input=${(e: InputEvent) => (this.allowed = (e.target as HTMLInputElement).value)}
          />
          <p class="hint" id="policy-allowed-hint">
            A number must start with one of these, e.g. +48 (a country) or +4822 (an area); separate them with commas.
          </p>
        </div>
        <div class="field">
          <label for="policy-denied">Denied prefixes</label>
          <input
            id="policy-denied"
            aria-describedby="policy-denied-hint"
            .value=${this.denied}
            @input=${(e: InputEvent) => (this.denied = (e.target as HTMLInputElement).value)}
          />
          <p class="hint" id="policy-denied-hint">Numbers starting with one of these are refused, even inside an allowed prefix.</p>
        </div>
        <fieldset>
          <legend>Kinds of number allowed</legend>
          <div class="types">
            ${NUMBER_TYPES.map(
              (type) => html`<label>
                <input type="checkbox" .checked=${this.types.has(type)} @change=${(e: Event) => this.#toggle(type, (e.target as HTMLInputElement).checked)} />
                ${NUMBER_TYPE_NAMES[type]}
              </label>`,
            )}
          </div>
        </fieldset>
        <div class="numbers">
          <div class="field">
            <label for="policy-per-day">Callbacks per employee per day</label>
            <input
              id="policy-per-day"
              type="number"
              inputmode="numeric"
              min="0"
              max=${CALLBACKS_PER_DAY_MAX}
              step="1"
              .value=${this.perDay}
              @input=${(e: InputEvent) => (this.perDay = (e.target as HTMLInputElement).value)}
            />
          </div>
          <div class="field">
            <label for="policy-minutes">Longest callback, in minutes</label>
            <input
              id="policy-minutes"
              type="number"
              inputmode="decimal"
              min="0.1"
              max=${CALLBACK_DURATION_MAX_SECONDS / 60}
              step="any"
              .value=${this.minutes}
              @input=${(e: InputEvent) => (this.minutes = (e.target as HTMLInputElement).value)}
            />
          </div>
        </div>
        <div class="actions">
          <button class="primary" type="submit" ?disabled=${this.busy}>Save policy</button>
          <button class="secondary" type="button" ?disabled=${this.busy} @click=${() => this.loaded && this.#show(this.loaded)}>Undo changes</button>
        </div>
      </form>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-outbound-policy': DlOutboundPolicy;
  }
}
