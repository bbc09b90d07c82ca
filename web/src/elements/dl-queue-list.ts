import type { CallView, Workstation } from '@deskline/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { ClockController } from '../controllers/clock-controller.js';
import { formatDuration, isoDuration } from '../format.js';
import { isLive, waitingSince } from '../queue-call.js';
import { ALL_QUEUES, inQueue, type QueueSummary } from '../queue-filter.js';
import { cardStyles } from '../styles/shared-styles.js';

const ORDER: Record<string, number> = { ringing: 0, waiting: 0, bridged: 1 };

/**
 * The clinic's calls right now, from the push socket: patients waiting (first come first), being
 * rung at a workstation, or talking to someone, each with a running time. Empty, it says
 * "No patients waiting". Under the board's queue filter (`queueFilter`), only that queue's calls, and
 * the queue named in the heading.
 *
 * @csspart list - The list of calls.
 */
@customElement('dl-queue-list')
export class DlQueueList extends LitElement {
  static override styles = [
    cardStyles,
    css`
      :host {
        display: block;
      }

      h2 {
        display: flex;
        align-items: baseline;
        justify-content: space-between;
        gap: 1rem;
        margin: 0 0 0.75rem;
        font-size: 1.125rem;
      }

      .count {
        color: var(--dl-color-text-muted);
        font-size: 0.9375rem;
        font-weight: 600;
      }

      ul {
        display: grid;
        margin: 0;
        padding: 0;
        list-style: none;
      }

      li {
        display: grid;
        grid-template-columns: 1fr auto;
        gap: 0 1rem;
        padding: 0.625rem 0;
        border-top: 1px solid var(--dl-color-border);
      }

      .number {
        overflow: hidden;
        font-weight: 700;
        font-variant-numeric: tabular-nums;
        text-overflow: ellipsis;
        white-space: nowrap;
      }

      .state {
        grid-column: 1;
        color: var(--dl-color-text-muted);
        font-size: 0.9375rem;
      }

      .state.ringing {
        color: var(--dl-color-success-hover);
        font-weight: 600;
      }

      time {
        grid-column: 2;
        grid-row: 1 / span 2;
        align-self: center;
        font-size: 1.125rem;
        font-variant-numeric: tabular-nums;
      }

      .empty,
      .note {
        margin: 0;
        color: var(--dl-color-text-muted);
      }

      .note {
        margin-top: 0.75rem;
        font-size: 0.9375rem;
      }
    `,
  ];

  /** Calls as the push socket reports them; finished ones are left out here. */
  @property({ attribute: false }) calls: readonly CallView[] = [];

  /** The clinic's workstations, to name the one a call rings or is connected to. */
  @property({ attribute: false }) workstations: readonly Workstation[] = [];

  /** The board's queue filter: a queue id, or '' for every queue. */
  @property() queueFilter = ALL_QUEUES;

  /** The call plan's queues, to name the one shown. */
  @property({ attribute: false }) queues: readonly QueueSummary[] = [];

  /** False while the push socket reconnects after a drop: the list may be out of date. */
  @property({ type: Boolean }) live = true;

  #clock = new ClockController(this);

  protected override render() {
    const calls = this.calls
      .filter((call) => isLive(call) && inQueue(call, this.queueFilter))
      .sort((a, b) => (ORDER[a.state] ?? 0) - (ORDER[b.state] ?? 0) || waitingSince(a) - waitingSince(b));
    const waiting = calls.filter((call) => call.state !== 'bridged').length;
    const queueName = this.queues.find((queue) => queue.id === this.queueFilter)?.name;
    return html`
      <section class="card" aria-labelledby="title">
        <h2 id="title">
          ${queueName === undefined ? 'Queue' : `Queue: ${queueName}`}
          ${waiting === 0 ? nothing : html`<span class="count">${waiting} waiting</span>`}
        </h2>
        ${
          calls.length === 0
            ? html`<p class="empty">No patients waiting</p>`
            : html`<ul part="list" aria-labelledby="title">${calls.map((call) => this.#row(call))}</ul>`
        }
        ${this.live ? nothing : html`<p class="note">Reconnecting to the live queue…</p>`}
      </section>
    `;
  }

  #row(call: CallView) {
    const since = call.state === 'bridged' ? (call.answeredAt ?? waitingSince(call)) : waitingSince(call);
    const elapsed = this.#clock.now - since;
    const where = this.workstations.find((workstation) => workstation.id === call.workstationId)?.name;
    // Under every queue (with several), each call names its queue.
    const queue =
      this.queueFilter === ALL_QUEUES
        ? this.queues.find((candidate) => candidate.id === call.queueId)?.name
        : undefined;
    const state = call.state === 'waiting' ? 'Waiting' : call.state === 'ringing' ? 'Ringing' : 'In call';
    return html`
      <li>
        <span class="number">${call.from}</span>
        <span class="state ${call.state}">${[state, where, queue].filter(Boolean).join(' · ')}</span>
        <time datetime=${isoDuration(elapsed)}>${formatDuration(elapsed)}</time>
      </li>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-queue-list': DlQueueList;
  }
}
