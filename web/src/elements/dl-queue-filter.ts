import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { ALL_QUEUES, type QueueSummary } from '../queue-filter.js';
import { controlStyles } from '../styles/shared-styles.js';

/**
 * The board's queue filter: "All queues" or one of the call plan's queues, by name. Shows nothing
 * when the plan has a single queue.
 *
 * @fires queue-filter-change - `CustomEvent<string>`, bubbles and composed: the queue id chosen, or ''
 *   for all queues.
 */
@customElement('dl-queue-filter')
export class DlQueueFilter extends LitElement {
  static override styles = [
    controlStyles,
    css`
      :host {
        display: inline-flex;
      }

      :host([hidden]) {
        display: none;
      }

      label {
        display: inline-flex;
        align-items: center;
        gap: 0.5rem;
        font-weight: 600;
      }

      select {
        min-height: var(--dl-target-size);
        padding: 0.25rem 0.5rem;
        border: 1px solid var(--dl-color-field-border);
        border-radius: var(--dl-radius);
        background: var(--dl-color-surface);
        color: var(--dl-color-text);
        font: inherit;
      }
    `,
  ];

  /** The call plan's queues, in the plan's order. */
  @property({ attribute: false }) queues: readonly QueueSummary[] = [];

  /** The queue shown, or '' for all. */
  @property() value = ALL_QUEUES;

  protected override render() {
    if (this.queues.length < 2) return nothing;
    return html`<label>
      Queue
      <select @change=${this.#onChange}>
        <option value=${ALL_QUEUES} ?selected=${this.value === ALL_QUEUES}>All queues</option>
        ${this.queues.map((queue) => html`<option value=${queue.id} ?selected=${this.value === queue.id}>${queue.name}</option>`)}
      </select>
    </label>`;
  }

  #onChange(event: Event): void {
    const detail = (event.target as HTMLSelectElement).value;
    this.dispatchEvent(new CustomEvent('queue-filter-change', { detail, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-queue-filter': DlQueueFilter;
  }
}
