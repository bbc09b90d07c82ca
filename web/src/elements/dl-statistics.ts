import {
  CALLBACK_OUTCOMES,
  SUBJECT_CATEGORY_NAMES,
  type DayStatistics,
  type StatisticsFigures,
} from '@deskline/protocol';
import { LitElement, css, html, nothing, svg, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { formatMinutesSeconds } from '../format.js';
import { apiClient, type ApiClient } from '../services/api-client.js';
import { errorMessage } from '../services/error-message.js';
import { log } from '../services/log.js';
import {
  alertStyles,
  controlStyles,
  fieldStyles,
  secondaryButtonStyles,
  visuallyHiddenStyles,
} from '../styles/shared-styles.js';
import { panelStyles } from '../styles/panel-styles.js';
import { CALLBACK_OUTCOME_LABELS } from '../task-board.js';

const debug = log('dl:statistics');

const SERIES = [
  { key: 'received', label: 'Received' },
  { key: 'answered', label: 'Answered' },
  { key: 'abandoned', label: 'Not answered' },
] as const;

/** The ways a call ends unanswered (StatisticsFigures): every call that was not answered has one of them. */
const NOT_ANSWERED = [
  { key: 'abandoned', label: 'Abandoned (hung up during the intro)' },
  { key: 'unanswered', label: 'Unanswered (hung up waiting or ringing)' },
  { key: 'closed', label: 'Heard the closed message' },
  { key: 'callbackRequested', label: 'Asked for a callback' },
  { key: 'voicemail', label: 'Left a voicemail message' },
] as const satisfies ReadonlyArray<{ key: keyof StatisticsFigures; label: string }>;

/** The chart's drawing units: 24 groups of three bars, and room for the hour labels below. */
const CHART = { groupWidth: 30, barWidth: 8, plotHeight: 120, labelHeight: 18 } as const;

/** YYYY-MM-DD plus `days` calendar days (a date, not an instant: no time zone involved). */
function addDays(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number);
  return new Date(Date.UTC(year ?? 0, (month ?? 1) - 1, (day ?? 1) + days)).toISOString().slice(0, 10);
}

const hourLabel = (hour: number): string => `${String(hour).padStart(2, '0')}:00`;

/**
 * A day's call statistics for managers (docs/call-board.md, "Statistics"): a day picker (today in
 * the clinic's time zone at first, and buttons for the day before and after), the calls per hour as a
 * bar chart, and a table of the day's figures for the clinic and for each person who answered a call
 * or called a patient back. Loads GET /api/statistics itself through `api`.
 */
@customElement('dl-statistics')
export class DlStatistics extends LitElement {
  static override styles = [
    controlStyles,
    panelStyles,
    fieldStyles,
    alertStyles,
    secondaryButtonStyles,
    visuallyHiddenStyles,
    css`
      .day {
        display: flex;
        flex-wrap: wrap;
        align-items: end;
        gap: 0.5rem;
      }

      .status {
        margin: 0;
        color: var(--dl-color-text-muted);
      }

      figure {
        margin: 0;
      }

      svg {
        display: block;
        width: 100%;
        height: auto;
        max-height: 14rem;
      }

      .received {
        fill: var(--dl-color-primary);
      }

      .answered {
        fill: var(--dl-color-success);
      }

      .abandoned {
        fill: var(--dl-color-danger);
      }

      .axis {
        stroke: var(--dl-color-border);
      }

      .hour {
        fill: var(--dl-color-text-muted);
        font-size: 10px;
      }

      .legend {
        display: flex;
        flex-wrap: wrap;
        gap: 1rem;
        margin: 0.5rem 0 0;
        padding: 0;
        list-style: none;
        font-size: 0.875rem;
      }

      .swatch {
        display: inline-block;
        width: 0.75rem;
        height: 0.75rem;
        margin-right: 0.375rem;
        border-radius: 2px;
        vertical-align: -0.05rem;
      }

      .swatch.received {
        background: var(--dl-color-primary);
      }

      .swatch.answered {
        background: var(--dl-color-success);
      }

      .swatch.abandoned {
        background: var(--dl-color-danger);
      }

      /* A fallback for narrow windows: at 1280 px the table fits the main column (beside the queue). */
      .table-wrap {
        overflow-x: auto;
      }

      table {
        width: 100%;
        border-collapse: collapse;
        font-variant-numeric: tabular-nums;
      }

      caption {
        text-align: left;
        font-weight: 600;
        padding-bottom: 0.5rem;
      }

      th,
      td {
        padding: 0.5rem 0.375rem;
        border-top: 1px solid var(--dl-color-border);
        text-align: right;
        white-space: nowrap;
      }

      th:first-child {
        padding-left: 0;
      }

      th:last-child,
      td:last-child {
        padding-right: 0;
      }

      /* Names wrap between words rather than widen the table. */
      th[scope='row'] {
        text-align: left;
        white-space: normal;
        min-width: 6rem;
      }

      thead th {
        border-top: 0;
        white-space: normal;
        font-size: 0.8125rem;
        line-height: 1.25;
        color: var(--dl-color-text-muted);
        vertical-align: bottom;
      }

      thead th:first-child,
      thead th.outcomes {
        text-align: left;
      }

      /* A group's heading spans its columns, with a rule under it. */
      thead th[scope='colgroup'] {
        padding-bottom: 0.25rem;
        text-align: center;
        box-shadow: inset 0 -1px 0 var(--dl-color-border);
        background-clip: content-box;
      }

      thead tr + tr th {
        padding-top: 0.25rem;
      }

      /* The outcomes wrap between outcomes, never inside one ("1 no answer" stays whole). */
      td.outcomes {
        text-align: left;
        white-space: normal;
        min-width: 6.5rem;
      }

      .outcome {
        white-space: nowrap;
      }

      tr.total {
        font-weight: 700;
      }

      th.subject {
        padding-left: 1.5rem;
        font-weight: 400;
      }

      .note {
        margin: 0;
        color: var(--dl-color-text-muted);
        font-size: 0.875rem;
      }
    `,
  ];

  @property({ attribute: false }) api: ApiClient = apiClient;

  /** The day shown, YYYY-MM-DD in the clinic's time zone; unset: today there. */
  @property() date: string | undefined;

  @state() private statistics: DayStatistics | undefined;
  @state() private loading = false;
  @state() private error = '';
  /** Today in the clinic's zone, as the server said when asked without a date. */
  @state() private today: string | undefined;

  #request: AbortController | undefined;

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#request?.abort();
    this.#request = undefined;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // Shown again after a disconnect: the figures may have changed meanwhile.
    if (this.hasUpdated) void this.#load();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (!this.hasUpdated || changed.has('date') || changed.has('api')) void this.#load();
  }

  protected override render() {
    const stats = this.statistics;
    return html`
      <section class="card" aria-labelledby="statistics-title">
        <h2 id="statistics-title">Statistics</h2>
        ${this.#renderDayPicker()}
        ${this.loading ? html`<p class="status" role="status">Loading statistics…</p>` : nothing}
        ${
          this.error
            ? html`<p class="alert" role="alert">${this.error}</p>
              <div><button class="secondary" type="button" @click=${() => void this.#load()}>Try again</button></div>`
            : nothing
        }
        ${stats && !this.error ? html`${this.#renderChart(stats)} ${this.#renderTable(stats)}` : nothing}
      </section>
    `;
  }

  #renderDayPicker() {
    const shown = this.date ?? this.statistics?.date ?? this.today;
    const atToday = shown !== undefined && this.today !== undefined && shown >= this.today;
    return html`
      <div class="day">
        <button class="secondary" type="button" ?disabled=${shown === undefined} @click=${() => this.#step(-1)}>Previous day</button>
        <div class="field">
          <label for="statistics-date">Day</label>
          <input id="statistics-date" type="date" required .value=${shown ?? ''} max=${this.today ?? nothing} @change=${this.#onDatePicked} />
        </div>
        <button class="secondary" type="button" ?disabled=${shown === undefined || atToday} @click=${() => this.#step(1)}>Next day</button>
      </div>
    `;
  }

  #renderChart(stats: DayStatistics) {
    const max = Math.max(1, ...stats.hours.map((h) => h.received));
    const width = CHART.groupWidth * stats.hours.length;
    const height = CHART.plotHeight + CHART.labelHeight;
    const busy = stats.hours.filter((h) => h.received > 0);
    const summary =
      busy.length === 0
        ? 'No calls.'
        : busy
            .map(
              (h) =>
                `${hourLabel(h.hour)}: ${h.received} received, ${h.answered} answered, ${h.abandoned} not answered`,
            )
            .join('; ') + '.';
    return html`
      <figure>
        <svg
          viewBox="0 0 ${width} ${height}"
          role="img"
          aria-label="Calls per hour on ${stats.date}. ${summary}"
        >
          ${stats.hours.map((hour, index) => {
            const x = index * CHART.groupWidth + (CHART.groupWidth - 3 * CHART.barWidth) / 2;
            return svg`<g>
              ${SERIES.map((series, i) => {
                const value = hour[series.key];
                const barHeight = (value / max) * (CHART.plotHeight - 4);
                return svg`<rect class=${series.key} x=${x + i * CHART.barWidth} y=${CHART.plotHeight - barHeight}
                  width=${CHART.barWidth - 1} height=${barHeight}><title>${hourLabel(hour.hour)}: ${value} ${series.label.toLowerCase()}</title></rect>`;
              })}
              ${
                hour.hour % 3 === 0
                  ? svg`<text class="hour" x=${index * CHART.groupWidth + CHART.groupWidth / 2} y=${height - 4} text-anchor="middle">${hourLabel(hour.hour)}</text>`
                  : nothing
              }
            </g>`;
          })}
          <line class="axis" x1="0" x2=${width} y1=${CHART.plotHeight} y2=${CHART.plotHeight}></line>
        </svg>
        <ul class="legend" aria-hidden="true">
          ${SERIES.map((series) => html`<li><span class="swatch ${series.key}"></span>${series.label}</li>`)}
        </ul>
      </figure>
    `;
  }

  #renderTable(stats: DayStatistics) {
    return html`
      <div class="table-wrap">
        <table>
          <caption>
            Calls on ${stats.date} (${stats.timeZone})
          </caption>
          <thead>
            <tr>
              <th scope="col" rowspan="2">Who</th>
              <th scope="col" rowspan="2">Received</th>
              <th scope="col" rowspan="2">Answered</th>
              <th scope="col" rowspan="2">Not answered</th>
              <th scope="col" rowspan="2">Callbacks</th>
              <th scope="col" rowspan="2" class="outcomes">Callback outcomes</th>
              <th scope="colgroup" colspan="2">Waiting time</th>
            </tr>
            <tr>
              <th scope="col"><span class="visually-hidden">Waiting time, </span>average</th>
              <th scope="col"><span class="visually-hidden">Waiting time, </span>90th percentile</th>
            </tr>
          </thead>
          <tbody>
            ${this.#renderRow('All calls', stats.total, true)}
            ${stats.users.map((user) => this.#renderRow(user.name, user.figures, false))}
          </tbody>
        </table>
      </div>
      <p class="note">
        Waiting time runs from the end of the intro to the answer, or to the hang-up of a patient nobody answered. A person's row
        counts the calls they answered, their waits, and their callbacks.
      </p>
      ${this.#renderNotAnswered(stats)} ${this.#renderCategories(stats)}
    `;
  }

  /** The tasks closed that day under each subject category, with its subjects below it. */
  #renderCategories(stats: DayStatistics) {
    return html`
      <table class="categories">
        <caption>
          Tasks closed on ${stats.date}, by subject category
        </caption>
        <thead>
          <tr>
            <th scope="col">Category and subject</th>
            <th scope="col">Tasks closed</th>
          </tr>
        </thead>
        ${stats.categories.map(
          (category) => html`<tbody>
            <tr class="total">
              <th scope="row">${SUBJECT_CATEGORY_NAMES[category.category]}</th>
              <td>${category.closed}</td>
            </tr>
            ${category.subjects.map(
              (subject) => html`<tr>
                <th scope="row" class="subject">
                  <span class="visually-hidden">${SUBJECT_CATEGORY_NAMES[category.category]}: </span>${subject.name}
                </th>
                <td>${subject.closed}</td>
              </tr>`,
            )}
          </tbody>`,
        )}
      </table>
    `;
  }

  /** Why the day's calls nobody answered ended as they did: each call counted once, under one reason. */
  #renderNotAnswered(stats: DayStatistics) {
    return html`
      <table>
        <caption>
          Calls not answered on ${stats.date}
        </caption>
        <thead>
          <tr>
            <th scope="col">How the call ended</th>
            <th scope="col">Calls</th>
          </tr>
        </thead>
        <tbody>
          ${NOT_ANSWERED.map(
            ({ key, label }) => html`<tr>
              <th scope="row">${label}</th>
              <td>${stats.total[key]}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    `;
  }

  #renderRow(who: string, figures: StatisticsFigures, total: boolean) {
    // Calls are received and left unanswered by the clinic, not by a person.
    const clinicOnly = (value: number) => (total ? String(value) : '—');
    const outcomes = CALLBACK_OUTCOMES.filter((outcome) => figures.callbackOutcomes[outcome] > 0).map(
      (outcome) => `${figures.callbackOutcomes[outcome]} ${CALLBACK_OUTCOME_LABELS[outcome]}`,
    );
    const wait = (ms: number | null) => (ms === null ? '—' : formatMinutesSeconds(ms));
    return html`
      <tr class=${total ? 'total' : ''}>
        <th scope="row">${who}</th>
        <td>${clinicOnly(figures.received)}</td>
        <td>${figures.answered}</td>
        <td>${clinicOnly(NOT_ANSWERED.reduce((sum, { key }) => sum + figures[key], 0))}</td>
        <td>${figures.callbacks}</td>
        <td class="outcomes">
          ${
            outcomes.length === 0
              ? '—'
              : outcomes.map(
                  (outcome, i) =>
                    html`<span class="outcome">${outcome}${i < outcomes.length - 1 ? ',' : ''}</span>${i < outcomes.length - 1 ? ' ' : ''}`,
                )
          }
        </td>
        <td>${wait(figures.waitAverageMs)}</td>
        <td>${wait(figures.waitP90Ms)}</td>
      </tr>
    `;
  }

  #step(days: number): void {
    const shown = this.date ?? this.statistics?.date ?? this.today;
    if (shown !== undefined) this.date = addDays(shown, days);
  }

  #onDatePicked(event: Event): void {
    const value = (event.target as HTMLInputElement).value;
    // A cleared field keeps the day shown.
    if (value !== '') this.date = value;
  }

  async #load(): Promise<void> {
    this.#request?.abort();
    const request = new AbortController();
    this.#request = request;
    this.loading = true;
    this.error = '';
    try {
      const stats = await this.api.statistics({ query: { date: this.date } }, { signal: request.signal });
      if (this.date === undefined) this.today = stats.date;
      this.statistics = stats;
    } catch (error) {
      if (request.signal.aborted) return;
      debug('statistics not loaded', error);
      this.error = errorMessage(error);
    } finally {
      if (this.#request === request) {
        this.loading = false;
        this.#request = undefined;
      }
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-statistics': DlStatistics;
  }
}
