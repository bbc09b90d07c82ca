import {
  DEFAULT_OUTCOME_SETTINGS,
  TASK_TABS,
  type OutcomeSettings,
  type Subject,
  type TaskTab,
  type TaskView,
  type Contact,
  type TeamMember,
  type Workstation,
} from '@deskline/protocol';
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { ClockController } from '../controllers/clock-controller.js';
import { apiClient, type ApiClient } from '../services/api-client.js';
import { errorMessage } from '../services/error-message.js';
import { log } from '../services/log.js';
import { cardStyles, controlStyles, secondaryButtonStyles, visuallyHiddenStyles } from '../styles/shared-styles.js';
import { ALL_QUEUES, inQueue, type QueueSummary } from '../queue-filter.js';
import { mergeTasks, tabTasks, type BoardViewer } from '../task-board.js';
import './dl-queue-filter.js';
import './dl-task-card.js';

const debug = log('dl:board');

const TAB_LABELS: Record<TaskTab, string> = {
  pending: 'Pending',
  'on-the-line': 'On the line',
  closed: 'Closed',
  unanswered: 'Unanswered',
  abandoned: 'Abandoned',
};

const EMPTY: Record<TaskTab, string> = {
  pending: 'No patients waiting and nothing to wrap up',
  'on-the-line': 'Nobody is on the line',
  closed: 'No closed tasks',
  unanswered: 'No unanswered calls',
  abandoned: 'No calls abandoned during the intro',
};

/** How many closed tasks the Closed tab asks for. */
const CLOSED_LIMIT = 100;

type ClosedList =
  | { state: 'idle' | 'loading' }
  | { state: 'loaded'; tasks: readonly TaskView[] }
  | { state: 'failed'; message: string };

/**
 * The call board: the clinic's tasks in five tabs, each with its count. Pending: the calls coming in
 * (intro, waiting, ringing) and the wrap-ups; On the line: calls in progress and callbacks; Closed;
 * Unanswered: patients nobody answered, to call back; Abandoned: patients who hung up during the
 * intro, with Call back only when managers turned that on (GET /api/settings/outcomes, read when the
 * board is shown, when the push socket is back and whenever a missed-calls tab is opened). Tasks come live from the push socket, filed with
 * `taskTab` and `taskVisibleTo`; the Closed tab also reads GET /api/tasks?tab=closed whenever it is
 * opened, and again when the push socket is back while it is open. The shell says what to announce
 * to screen readers (`announcement`, "New call from …"): it watches for new calls in every view, and
 * hands the text to the board while the board is shown. With more than one queue in the call plan,
 * a queue filter above the tabs shows one queue's tasks in every tab (`queueFilter`, chosen by the
 * shell); a task goes by its call's queue.
 *
 * @fires queue-filter-change - (from the filter) `CustomEvent<string>`: a queue id, or '' for all.
 * @fires task-change - (from a card) `CustomEvent<TaskView>`: the server answered a change.
 * @fires call-back - (from a card) `CustomEvent<CallBackDetail>`: a callback was granted; call its target.
 */
@customElement('dl-task-board')
export class DlTaskBoard extends LitElement {
  static override styles = [
    controlStyles,
    cardStyles,
    secondaryButtonStyles,
    visuallyHiddenStyles,
    css`
      :host {
        display: block;
      }

      header {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        justify-content: space-between;
        gap: 0.5rem 1rem;
        margin: 0 0 0.75rem;
      }

      h2 {
        margin: 0;
        font-size: 1.125rem;
      }

      [role='tablist'] {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem;
        margin-bottom: 1rem;
        border-bottom: 1px solid var(--dl-color-border);
      }

      [role='tab'] {
        display: inline-flex;
        align-items: center;
        gap: 0.5rem;
        min-height: var(--dl-target-size);
        margin-bottom: -1px;
        padding: 0.5rem 0.875rem;
        border: 0;
        border-bottom: 3px solid transparent;
        background: none;
        color: var(--dl-color-text-muted);
        font-weight: 600;
        cursor: pointer;
      }

      [role='tab']:hover {
        background: var(--dl-color-surface-hover);
      }

      [role='tab'][aria-selected='true'] {
        border-bottom-color: var(--dl-color-primary);
        color: var(--dl-color-text);
      }

      .count {
        min-width: 1.5rem;
        padding: 0 0.375rem;
        border-radius: 999px;
        background: var(--dl-color-paused-surface);
        color: var(--dl-color-text);
        font-size: 0.875rem;
        font-variant-numeric: tabular-nums;
        text-align: center;
      }

      ul {
        display: grid;
        gap: 0.75rem;
        margin: 0;
        padding: 0;
        list-style: none;
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

      .note button {
        margin-left: 0.5rem;
      }
    `,
  ];

  /** The open tasks, from the push socket. */
  @property({ attribute: false }) tasks: readonly TaskView[] = [];

  /** Tasks pushed as closed since the page opened. */
  @property({ attribute: false }) closedTasks: readonly TaskView[] = [];

  @property({ attribute: false }) subjects: ReadonlyMap<string, Subject> = new Map();

  @property({ attribute: false }) team: readonly TeamMember[] = [];

  @property({ attribute: false }) workstations: readonly Workstation[] = [];

  @property({ attribute: false }) viewer: BoardViewer = { userId: '', role: 'employee' };

  /** Why this viewer cannot call patients back ('' when they can). */
  @property({ attribute: false }) callbackBlocked = '';

  /** Whether the push socket is connected: the board is live. */
  @property({ type: Boolean }) connected = false;

  @property({ attribute: false }) api: ApiClient = apiClient;

  /** The call plan's queues: with more than one, the board offers the queue filter. */
  @property({ attribute: false }) queues: readonly QueueSummary[] = [];

  /** The queue whose tasks are shown, or '' for every queue. */
  @property() queueFilter = ALL_QUEUES;

  /** What the board's live region says to screen readers: the shell's "New call from …". */
  @property({ attribute: false }) announcement = '';

  /** The patients' contacts, by number as the tasks spell it (ContactNamesController). */
  @property({ attribute: false }) contacts: ReadonlyMap<string, Contact> = new Map();

  @state() private tab: TaskTab = 'pending';
  @state() private closed: ClosedList = { state: 'idle' };
  @state() private outcomeSettings: OutcomeSettings = DEFAULT_OUTCOME_SETTINGS;

  #clock = new ClockController(this);
  #teamById = new Map<string, TeamMember>();
  #closedRequest: AbortController | undefined;
  #settingsRequest: AbortController | undefined;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#loadOutcomeSettings();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#closedRequest?.abort();
    this.#settingsRequest?.abort();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('team')) this.#teamById = new Map(this.team.map((member) => [member.userId, member]));
    // Back after the push socket was down (a server restart): a task closed meanwhile was never
    // pushed, so the open Closed tab reads its list again.
    const reconnected = changed.has('connected') && changed.get('connected') === false && this.connected;
    if (reconnected && this.tab === 'closed') void this.#loadClosed();
    if (reconnected) void this.#loadOutcomeSettings();
  }

  #tasksOf(tab: TaskTab): TaskView[] {
    const loaded = this.closed.state === 'loaded' ? this.closed.tasks : [];
    const tasks = tab === 'closed' ? mergeTasks(loaded, this.closedTasks) : this.tasks;
    return tabTasks(
      tasks.filter((task) => inQueue(task.call, this.queueFilter)),
      tab,
      this.viewer,
    );
  }

  protected override render() {
    const shown = this.#tasksOf(this.tab);
    return html`
      <section class="card" aria-labelledby="board-title">
        <header>
          <h2 id="board-title">Call board</h2>
          <dl-queue-filter .queues=${this.queues} .value=${this.queueFilter}></dl-queue-filter>
        </header>
        <div role="tablist" aria-label="Call board" @keydown=${this.#onTabKeydown}>
          ${TASK_TABS.map((tab) => this.#renderTab(tab))}
        </div>
        <div role="tabpanel" id="board-panel" aria-labelledby="tab-${this.tab}">
          ${shown.length === 0 ? this.#renderEmpty() : this.#renderList(shown)}
          ${this.tab === 'closed' ? this.#renderClosedState() : nothing}
        </div>
        ${this.connected ? nothing : html`<p class="note">Connecting to the live board…</p>`}
        <p class="visually-hidden" role="status" aria-live="polite">${this.announcement}</p>
      </section>
    `;
  }

  #renderTab(tab: TaskTab) {
    const selected = tab === this.tab;
    const count = tab === 'closed' && this.closed.state !== 'loaded' ? undefined : this.#tasksOf(tab).length;
    return html`<button
      role="tab"
      type="button"
      id="tab-${tab}"
      aria-selected=${String(selected)}
      aria-controls="board-panel"
      tabindex=${selected ? '0' : '-1'}
      @click=${() => this.#select(tab)}
    >
      ${TAB_LABELS[tab]} ${count === undefined ? nothing : html`<span class="count">${count}</span>`}
    </button>`;
  }

  #renderEmpty() {
    if (this.tab === 'closed' && this.closed.state !== 'loaded') return nothing;
    return html`<p class="empty">${EMPTY[this.tab]}</p>`;
  }

  #renderList(tasks: readonly TaskView[]) {
    // Closed, unanswered and abandoned tasks show no running time: their cards need not re-render every second.
    const now = this.tab === 'pending' || this.tab === 'on-the-line' ? this.#clock.now : 0;
    return html`<ul aria-label=${TAB_LABELS[this.tab]}>
      ${repeat(
        tasks,
        (task) => task.id,
        (task) => html`<li>
          <dl-task-card
            .task=${task}
            .subjects=${this.subjects}
            .team=${this.#teamById}
            .workstations=${this.workstations}
            .viewer=${this.viewer}
            .callbackBlocked=${this.callbackBlocked}
            .outcomeSettings=${this.outcomeSettings}
            .queueName=${this.#queueNameOf(task)}
            .contact=${this.contacts.get(task.patient)}
            .now=${now}
            .api=${this.api}
          ></dl-task-card>
        </li>`,
      )}
    </ul>`;
  }

  /** Under All queues (with several), each card names its call's queue. */
  #queueNameOf(task: TaskView): string {
    if (this.queueFilter !== ALL_QUEUES || this.queues.length < 2) return '';
    return this.queues.find((queue) => queue.id === task.call?.queueId)?.name ?? '';
  }

  #renderClosedState() {
    switch (this.closed.state) {
      case 'loading':
        return html`<p class="note" role="status">Loading the closed tasks…</p>`;
      case 'failed':
        return html`<p class="note" role="alert">
          ${this.closed.message}<button class="secondary" type="button" @click=${() => void this.#loadClosed()}>Try again</button>
        </p>`;
      default:
        return nothing;
    }
  }

  #select(tab: TaskTab): void {
    this.tab = tab;
    if (tab === 'closed') void this.#loadClosed();
    if (tab === 'unanswered' || tab === 'abandoned') void this.#loadOutcomeSettings();
  }

  /** Whether Abandoned tasks get Call back; on a failure the last known answer stays (the server checks anyway). */
  async #loadOutcomeSettings(): Promise<void> {
    this.#settingsRequest?.abort();
    const request = new AbortController();
    this.#settingsRequest = request;
    try {
      this.outcomeSettings = await this.api.outcomeSettings({ signal: request.signal });
    } catch (err) {
      if (!request.signal.aborted) debug('outcome settings not read', err);
    }
  }

  // The tabs pattern of WAI-ARIA: arrows move between tabs (and select them), Home and End too.
  #onTabKeydown(event: KeyboardEvent): void {
    const index = TASK_TABS.indexOf(this.tab);
    let next: number;
    switch (event.key) {
      case 'ArrowRight':
        next = (index + 1) % TASK_TABS.length;
        break;
      case 'ArrowLeft':
        next = (index - 1 + TASK_TABS.length) % TASK_TABS.length;
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = TASK_TABS.length - 1;
        break;
      default:
        return;
    }
    event.preventDefault();
    const tab = TASK_TABS[next]!;
    this.#select(tab);
    void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLButtonElement>(`#tab-${tab}`)?.focus());
  }

  async #loadClosed(): Promise<void> {
    this.#closedRequest?.abort();
    const request = new AbortController();
    this.#closedRequest = request;
    // What was loaded before stays on screen while the list is read again.
    if (this.closed.state !== 'loaded') this.closed = { state: 'loading' };
    try {
      const tasks = (
        await this.api.listTasks({ query: { tab: 'closed', limit: CLOSED_LIMIT } }, { signal: request.signal })
      ).tasks;
      this.closed = { state: 'loaded', tasks };
    } catch (error) {
      if (request.signal.aborted) return;
      debug('closed tasks not loaded', error);
      this.closed = { state: 'failed', message: errorMessage(error) };
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-task-board': DlTaskBoard;
  }
}
