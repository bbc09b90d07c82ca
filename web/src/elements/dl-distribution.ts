import {
  AUTO_PAUSE_MAX_RINGS,
  RING_TIMEOUT_MAX_SECONDS,
  RING_TIMEOUT_MIN_SECONDS,
  WRAP_UP_MAX_SECONDS,
  type DistributionSettings,
  type RingStrategy,
  type TeamMember,
} from '@deskline/protocol';
import { css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { errorMessage } from '../services/error-message.js';
import { SettingsForm } from '../settings-form.js';

const STRATEGY_LABELS: Record<RingStrategy, string> = {
  'longest-idle': 'Longest idle first',
  'fixed-order': 'Fixed order',
};

/** A whole number typed in a field, or undefined when it is not one within [min, max]. */
function wholeNumber(text: string, min: number, max: number): number | undefined {
  if (!/^\s*\d+\s*$/.test(text)) return undefined;
  const value = Number(text);
  return value >= min && value <= max ? value : undefined;
}

/**
 * The managers' Distribution settings (docs/managers.md, "Distribution"): the ring strategy and its
 * fixed order, the ring timeout, the wrap-up time after a call and the auto-pause after unanswered
 * rings. Loads and saves /api/settings/distribution itself through `api`; the next call follows them.
 */
@customElement('dl-distribution')
export class DlDistribution extends SettingsForm {
  static override styles = [
    ...SettingsForm.styles,
    css`
      .numbers {
        display: flex;
        flex-wrap: wrap;
        gap: 1rem;
      }

      ol {
        display: grid;
        gap: 0.25rem;
        margin: 0;
        padding-left: 1.5rem;
      }

      li {
        display: flex;
        align-items: center;
        gap: 0.5rem;
      }

      li span {
        flex: 1;
      }

      .actions {
        display: flex;
        gap: 0.5rem;
      }
    `,
  ];

  /** The team, for the fixed order's names. */
  @property({ attribute: false }) team: TeamMember[] = [];

  @state() private loaded: DistributionSettings | undefined;
  @state() private strategy: RingStrategy = 'longest-idle';
  @state() private order: string[] = [];
  @state() private ringTimeout = '';
  @state() private wrapUp = '';
  @state() private autoPause = '';

  protected override async load(): Promise<void> {
    this.#show(await this.api.distribution());
  }

  #show(settings: DistributionSettings): void {
    this.loaded = settings;
    this.strategy = settings.strategy;
    this.order = [...settings.fixedOrder];
    this.ringTimeout = settings.ringTimeoutSeconds === undefined ? '' : String(settings.ringTimeoutSeconds);
    this.wrapUp = String(settings.wrapUpSeconds);
    this.autoPause = String(settings.autoPauseAfter);
  }

  /** The fixed order with every team member in it: the saved order first, then the others by name. */
  #orderedTeam(): string[] {
    const known = new Set(this.team.map((member) => member.userId));
    const listed = this.order.filter((userId) => known.has(userId));
    const rest = this.team.filter((member) => !listed.includes(member.userId)).map((member) => member.userId);
    return [...listed, ...rest];
  }

  #settings(): DistributionSettings | string {
    const wrapUpSeconds = wholeNumber(this.wrapUp, 0, WRAP_UP_MAX_SECONDS);
    if (wrapUpSeconds === undefined) return `Wrap-up time: a whole number of seconds from 0 to ${WRAP_UP_MAX_SECONDS}.`;
    const autoPauseAfter = wholeNumber(this.autoPause, 0, AUTO_PAUSE_MAX_RINGS);
    if (autoPauseAfter === undefined) return `Auto-pause: a whole number of rings from 0 to ${AUTO_PAUSE_MAX_RINGS}.`;
    const settings: DistributionSettings = {
      strategy: this.strategy,
      fixedOrder: this.strategy === 'fixed-order' ? this.#orderedTeam() : this.order,
      wrapUpSeconds,
      autoPauseAfter,
    };
    if (this.ringTimeout.trim() !== '') {
      const ringTimeoutSeconds = wholeNumber(this.ringTimeout, RING_TIMEOUT_MIN_SECONDS, RING_TIMEOUT_MAX_SECONDS);
      if (ringTimeoutSeconds === undefined)
        return `Ring timeout: a whole number of seconds from ${RING_TIMEOUT_MIN_SECONDS} to ${RING_TIMEOUT_MAX_SECONDS}, or empty for the default.`;
      settings.ringTimeoutSeconds = ringTimeoutSeconds;
    }
    return settings;
  }

  async #onSave(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    this.done = '';
    const settings = this.#settings();
    if (typeof settings === 'string') {
      this.error = settings;
      return;
    }
    this.error = '';
    this.busy = true;
    try {
      this.#show(await this.api.setDistribution({ body: settings }));
      this.done = 'Saved. The next call follows these settings.';
    } catch (error) {
      this.error = errorMessage(error);
    } finally {
      this.busy = false;
    }
  }

  #move(userId: string, by: -1 | 1): void {
    const order = this.#orderedTeam();
    const from = order.indexOf(userId);
    const to = from + by;
    if (from < 0 || to < 0 || to >= order.length) return;
    order.splice(from, 1);
    order.splice(to, 0, userId);
    this.order = order;
  }

  #numberField(field: {
    id: string;
    label: string;
    hint: string;
    min: number;
    max: number;
    value: string;
    set: (value: string) => void;
  }) {
    const id = `distribution-${field.id}`;
    return html`<div class="field">
      <label for=${id}>${field.label}</label>
      <input
        id=${id}
        type="number"
        inputmode="numeric"
        min=${field.min}
        max=${field.max}
        step="1"
        aria-describedby="${id}-hint"
        .value=${field.value}
        @input=${(e: InputEvent) => field.set((e.target as HTMLInputElement).value)}
      />
      <p class="hint" id="${id}-hint">${field.hint}</p>
    </div>`;
  }

  protected override render() {
    return html`
      <section class="card" aria-labelledby="distribution-title">
        <h2 id="distribution-title">Distribution</h2>
        <p>How waiting calls are given to the receptionists. The next call follows a change.</p>
        ${this.error === '' ? nothing : html`<p class="alert" role="alert">${this.error}</p>`}
        ${this.loaded ? this.#renderForm() : nothing}
        <p class="success" role="status" ?hidden=${this.done === ''}>${this.done}</p>
      </section>
    `;
  }

  #renderForm() {
    const names = new Map(this.team.map((member) => [member.userId, member.displayName]));
    const order = this.#orderedTeam();
    return html`
      <form @submit=${this.#onSave} novalidate>
        <div class="field">
          <label for="distribution-strategy">Ring strategy</label>
          <select
            id="distribution-strategy"
            .value=${this.strategy}
            @change=${(e: Event) => (this.strategy = (e.target as HTMLSelectElement).value as RingStrategy)}
          >
            ${Object.entries(STRATEGY_LABELS).map(
              ([value, label]) => html`<option value=${value} ?selected=${value === this.strategy}>${label}</option>`,
            )}
          </select>
        </div>
        ${
          this.strategy === 'fixed-order'
            ? html`<fieldset>
              <legend>Fixed order</legend>
              <p class="hint">The first one available rings; one who does not answer a call is tried again after the others.</p>
              <ol aria-label="Fixed order">
                ${order.map(
                  (userId, index) => html`<li>
                    <span>${names.get(userId) ?? userId}</span>
                    <button class="secondary" type="button" aria-label="Move ${names.get(userId) ?? userId} up" ?disabled=${index === 0} @click=${() => this.#move(userId, -1)}>Up</button>
                    <button class="secondary" type="button" aria-label="Move ${names.get(userId) ?? userId} down" ?disabled=${index === order.length - 1} @click=${() => this.#move(userId, 1)}>Down</button>
                  </li>`,
                )}
              </ol>
            </fieldset>`
            : nothing
        }
        <div class="numbers">
          ${this.#numberField({
            id: 'ring-timeout',
            label: 'Ring timeout, in seconds',
            hint: "Empty: the installation's default (25 s unless set otherwise).",
            min: RING_TIMEOUT_MIN_SECONDS,
            max: RING_TIMEOUT_MAX_SECONDS,
            value: this.ringTimeout,
            set: (value) => (this.ringTimeout = value),
          })}
          ${this.#numberField({
            id: 'wrap-up',
            label: 'Wrap-up time, in seconds',
            hint: 'After a call the receptionist is not rung for this long; 0: at once.',
            min: 0,
            max: WRAP_UP_MAX_SECONDS,
            value: this.wrapUp,
            set: (value) => (this.wrapUp = value),
          })}
          ${this.#numberField({
            id: 'auto-pause',
            label: 'Auto-pause after unanswered rings',
            hint: 'This many unanswered rings in a row pause the receptionist; 0: never.',
            min: 0,
            max: AUTO_PAUSE_MAX_RINGS,
            value: this.autoPause,
            set: (value) => (this.autoPause = value),
          })}
        </div>
        <div class="actions">
          <button class="primary" type="submit" ?disabled=${this.busy}>Save distribution</button>
          <button class="secondary" type="button" ?disabled=${this.busy} @click=${() => this.loaded && this.#show(this.loaded)}>Undo changes</button>
        </div>
      </form>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-distribution': DlDistribution;
  }
}
