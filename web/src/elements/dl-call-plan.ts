import {
  CLOSED_ACTIONS,
  CLOSURE_KINDS,
  KEYPAD_DIGITS,
  LANGUAGE_NAMES,
  OVERFLOW_TARGETS,
  PROMPT_LANGUAGES,
  TIME_OF_DAY_PATTERN,
  WEEKDAYS,
  WEEKDAY_NAMES,
  type CallPlan,
  type CallPlanPreview,
  type ClosedAction,
  type ClosureKind,
  type KeypadDigit,
  type OverflowTarget,
  type PublicUser,
  type Queue,
} from '@deskline/protocol';
import { css, html, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { ApiRequestError } from '../services/api-client.js';
import { errorMessage } from '../services/error-message.js';
import { SettingsForm } from '../settings-form.js';
import { visuallyHiddenStyles } from '../styles/shared-styles.js';

const KIND_NAMES: Record<ClosureKind, string> = { holiday: 'Holiday', closure: 'Closure' };
const OVERFLOW_NAMES: Record<OverflowTarget, string> = {
  voicemail: 'Voicemail: the patient leaves a message',
  'callback-offer': 'Offer a callback',
  'closed-message': 'The closed message, then hang up',
};
const CLOSED_NAMES: Record<ClosedAction, string> = {
  voicemail: 'The closed message, then voicemail',
  'hang-up': 'The closed message, then hang up',
};

/** A queue id from its name: "Test results" → "test-results". */
function idOf(name: string, taken: ReadonlySet<string>): string {
  const base =
    name
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 24) || 'queue';
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  return id;
}

const valueOf = (event: Event): string => (event.target as HTMLInputElement | HTMLSelectElement).value;
const checkedOf = (event: Event): boolean => (event.target as HTMLInputElement).checked;

/**
 * The managers' call plan (docs/call-plan.md): the weekly hours, closures and holidays, languages,
 * announcements, keypad, queues and their staff, the maximum wait and the overflows, and a preview of
 * what a caller would hear at a date and time. Loads and saves /api/settings/call-plan itself through
 * `api`. The form is a draft: a refused save shows the server's problems beside it and keeps every
 * change, so that the manager fixes them and saves again.
 */
@customElement('dl-call-plan')
export class DlCallPlan extends SettingsForm {
  static override styles = [
    ...SettingsForm.styles,
    visuallyHiddenStyles,
    css`
      ul {
        margin: 0;
      }

      fieldset {
        display: grid;
        gap: 0.75rem;
      }

      select {
        min-height: var(--dl-target-size);
        font: inherit;
      }

      .day {
        display: grid;
        grid-template-columns: 7rem 1fr;
        gap: 0.5rem;
        align-items: start;
      }

      .row {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem 1rem;
        align-items: end;
      }

      .intervals {
        display: grid;
        gap: 0.5rem;
      }

      .time {
        width: 6rem;
      }

      .check label {
        font-weight: 400;
      }

      .problems {
        padding-left: 1.25rem;
      }

      table {
        border-collapse: collapse;
      }

      th,
      td {
        padding: 0.25rem 0.75rem 0.25rem 0;
        text-align: left;
      }
    `,
  ];

  @state() private saved: CallPlan | undefined;
  @state() private draft: CallPlan | undefined;
  @state() private timeZone = '';
  @state() private staff: PublicUser[] = [];
  /** The server's (or the form's own) problems with the last save, one per line. */
  @state() private problems: string[] = [];
  @state() private closureFrom = '';
  @state() private closureTo = '';
  @state() private closureKind: ClosureKind = 'holiday';
  @state() private closureReason = '';
  @state() private closureError = '';
  @state() private previewAt = '';
  @state() private preview: CallPlanPreview | undefined;
  @state() private previewError = '';

  protected override async load(): Promise<void> {
    const [response, users] = await Promise.all([this.api.callPlan(), this.api.listUsers()]);
    this.timeZone = response.timeZone;
    this.staff = users;
    this.#show(response.plan);
  }

  #show(plan: CallPlan): void {
    this.saved = plan;
    this.draft = structuredClone(plan);
  }

  /** Changes the draft through `change`, on a copy, so that Lit sees a new plan. */
  #edit(change: (plan: CallPlan) => void): void {
    if (this.draft === undefined) return;
    const plan = structuredClone(this.draft);
    change(plan);
    this.draft = plan;
    this.done = '';
  }

  /** What the form itself can tell before asking the server: times that are not HH:MM. */
  #localProblems(plan: CallPlan): string[] {
    const problems: string[] = [];
    for (const day of WEEKDAYS)
      for (const interval of plan.hours[day])
        for (const time of [interval.start, interval.end])
          if (!TIME_OF_DAY_PATTERN.test(time))
            problems.push(
              `${WEEKDAY_NAMES[day]}: "${time}" is not a time: write HH:MM, e.g. 08:00 (24:00 for midnight).`,
            );
    for (const [what, value] of [
      ['The announcement interval', plan.announcements.intervalSeconds],
      ['The maximum wait', plan.maxWaitSeconds],
      ['The longest voicemail', plan.voicemail.maxSeconds],
    ] as const)
      if (!Number.isInteger(value) || value < 0) problems.push(`${what} is a whole number of seconds.`);
    return problems;
  }

  async #onSave(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const plan = this.draft;
    if (plan === undefined) return;
    this.done = '';
    this.error = '';
    this.problems = this.#localProblems(plan);
    if (this.problems.length > 0) return;
    this.busy = true;
    try {
      const response = await this.api.setCallPlan({ body: plan });
      this.#show(response.plan);
      this.done = 'Saved. The next call follows the new plan.';
      this.preview = undefined;
    } catch (error) {
      // The draft stays as typed: nothing is lost.
      if (error instanceof ApiRequestError && error.status === 400) this.problems = error.message.split('\n');
      else this.error = errorMessage(error);
      // Shown just above the Save button; brought into view in case the form scrolled.
      await this.updateComplete;
      this.renderRoot.querySelector('#call-plan-problems')?.scrollIntoView({ block: 'nearest' });
    } finally {
      this.busy = false;
    }
  }

  #addClosure(): void {
    const from = this.closureFrom;
    const to = this.closureTo === '' ? from : this.closureTo;
    const reason = this.closureReason.trim();
    if (from === '' || reason === '') {
      this.closureError = 'Give the first day and the reason (the last day is the first when left empty).';
      return;
    }
    this.closureError = '';
    this.#edit((plan) => {
      plan.closures.push({ from, to, kind: this.closureKind, reason });
      plan.closures.sort((a, b) => a.from.localeCompare(b.from));
    });
    this.closureFrom = '';
    this.closureTo = '';
    this.closureReason = '';
  }

  async #onPreview(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    this.previewError = '';
    try {
      this.preview = await this.api.previewCallPlan({ query: this.previewAt === '' ? {} : { at: this.previewAt } });
    } catch (error) {
      this.preview = undefined;
      this.previewError = errorMessage(error);
    }
  }

  protected override render() {
    return html`
      <section class="card" aria-labelledby="call-plan-title">
        <h2 id="call-plan-title">Call plan</h2>
        <p>
          When the clinic answers, what a caller hears while waiting, and where a call goes when nobody can take it.
          ${this.timeZone === '' ? nothing : html`Times are in the clinic's time zone, ${this.timeZone}.`} A saved
          change applies from the next call.
        </p>
        ${this.error === '' ? nothing : html`<p class="alert" role="alert">${this.error}</p>`}
        ${this.draft ? this.#renderForm(this.draft) : nothing} ${this.draft ? this.#renderPreview() : nothing}
      </section>
    `;
  }

  #renderProblems() {
    if (this.problems.length === 0) return nothing;
    return html`<div class="alert" role="alert" id="call-plan-problems">
      <p>The call plan was not saved:</p>
      <ul class="problems">
        ${this.problems.map((problem) => html`<li>${problem}</li>`)}
      </ul>
    </div>`;
  }

  #renderForm(plan: CallPlan) {
    return html`
      <form @submit=${this.#onSave} novalidate aria-describedby=${this.problems.length > 0 ? 'call-plan-problems' : nothing}>
        ${this.#renderHours(plan)} ${this.#renderClosures(plan)} ${this.#renderCaller(plan)} ${this.#renderQueues(plan)}
        ${this.#renderOverflow(plan)} ${this.#renderProblems()}
        <div class="row">
          <button class="primary" type="submit" ?disabled=${this.busy}>Save call plan</button>
          <button
            class="secondary"
            type="button"
            ?disabled=${this.busy}
            @click=${() => {
              if (this.saved) this.#show(this.saved);
              this.problems = [];
            }}
          >
            Undo changes
          </button>
        </div>
        <p class="success" role="status" ?hidden=${this.done === ''}>${this.done}</p>
      </form>
    `;
  }

  #renderHours(plan: CallPlan) {
    return html`
      <fieldset>
        <legend>Opening hours</legend>
        <p class="hint">
          Calls are answered inside these intervals (HH:MM; 24:00 is midnight at the end of the day). A day without
          intervals is closed.
        </p>
        ${WEEKDAYS.map(
          (day) => html`
            <div class="day" role="group" aria-label=${WEEKDAY_NAMES[day]}>
              <strong>${WEEKDAY_NAMES[day]}</strong>
              <div class="intervals">
                ${plan.hours[day].length === 0 ? html`<span>Closed</span>` : nothing}
                ${plan.hours[day].map(
                  (interval, index) => html`
                    <div class="row">
                      <div class="field">
                        <label for="hours-${day}-${index}-start">${WEEKDAY_NAMES[day]} ${index + 1}: from</label>
                        <input
                          id="hours-${day}-${index}-start"
                          class="time"
                          inputmode="numeric"
                          placeholder="08:00"
                          .value=${interval.start}
                          @input=${(e: Event) => this.#edit((p) => (p.hours[day][index]!.start = valueOf(e).trim()))}
                        />
                      </div>
                      <div class="field">
                        <label for="hours-${day}-${index}-end">${WEEKDAY_NAMES[day]} ${index + 1}: to</label>
                        <input
                          id="hours-${day}-${index}-end"
                          class="time"
                          inputmode="numeric"
                          placeholder="16:00"
                          .value=${interval.end}
                          @input=${(e: Event) => this.#edit((p) => (p.hours[day][index]!.end = valueOf(e).trim()))}
                        />
                      </div>
                      <button
                        class="secondary"
                        type="button"
                        aria-label="Remove ${WEEKDAY_NAMES[day]} ${interval.start}–${interval.end}"
                        @click=${() => this.#edit((p) => p.hours[day].splice(index, 1))}
                      >
                        Remove
                      </button>
                    </div>
                  `,
                )}
                <div>
                  <button
                    class="secondary"
                    type="button"
                    aria-label="Add an interval on ${WEEKDAY_NAMES[day]}"
                    @click=${() =>
                      this.#edit((p) => {
                        const last = p.hours[day][p.hours[day].length - 1];
                        p.hours[day].push(last ? { start: last.end, end: '24:00' } : { start: '08:00', end: '16:00' });
                      })}
                  >
                    Add interval
                  </button>
                </div>
              </div>
            </div>
          `,
        )}
        <div>
          <button
            class="secondary"
            type="button"
            @click=${() =>
              this.#edit((p) => {
                for (const day of WEEKDAYS.slice(1, 5)) p.hours[day] = structuredClone(p.hours.mon);
              })}
          >
            Copy Monday to Tuesday–Friday
          </button>
        </div>
      </fieldset>
    `;
  }

  #renderClosures(plan: CallPlan) {
    return html`
      <fieldset>
        <legend>Holidays and closures</legend>
        <p class="hint">Closed all day from the first to the last day, whatever the hours say.</p>
        ${
          plan.closures.length === 0
            ? html`<p>No closures.</p>`
            : html`<table>
              <thead>
                <tr>
                  <th scope="col">From</th>
                  <th scope="col">To</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Reason</th>
                  <th scope="col"><span class="visually-hidden">Remove</span></th>
                </tr>
              </thead>
              <tbody>
                ${plan.closures.map(
                  (closure, index) => html`<tr>
                    <td>${closure.from}</td>
                    <td>${closure.to}</td>
                    <td>${KIND_NAMES[closure.kind]}</td>
                    <td>${closure.reason}</td>
                    <td>
                      <button
                        class="secondary"
                        type="button"
                        aria-label="Remove ${closure.reason} (${closure.from})"
                        @click=${() => this.#edit((p) => p.closures.splice(index, 1))}
                      >
                        Remove
                      </button>
                    </td>
                  </tr>`,
                )}
              </tbody>
            </table>`
        }
        <div class="row" role="group" aria-label="New closure">
          <div class="field">
            <label for="closure-from">First day</label>
            <input id="closure-from" type="date" .value=${this.closureFrom} @input=${(e: Event) => (this.closureFrom = valueOf(e))} />
          </div>
          <div class="field">
            <label for="closure-to">Last day</label>
            <input id="closure-to" type="date" .value=${this.closureTo} @input=${(e: Event) => (this.closureTo = valueOf(e))} />
          </div>
          <div class="field">
            <label for="closure-kind">Kind</label>
            <select id="closure-kind" @change=${(e: Event) => (this.closureKind = valueOf(e) as ClosureKind)}>
              ${CLOSURE_KINDS.map((kind) => html`<option value=${kind} ?selected=${kind === this.closureKind}>${KIND_NAMES[kind]}</option>`)}
            </select>
          </div>
          <div class="field">
            <label for="closure-reason">Reason</label>
            <input
              id="closure-reason"
              maxlength="120"
              .value=${this.closureReason}
              @input=${(e: Event) => (this.closureReason = valueOf(e))}
            />
          </div>
          <button class="secondary" type="button" @click=${() => this.#addClosure()}>Add closure</button>
        </div>
        ${this.closureError === '' ? nothing : html`<p class="alert" role="alert">${this.closureError}</p>`}
      </fieldset>
    `;
  }

  #digitSelect(id: string, label: string, value: KeypadDigit | null, set: (digit: KeypadDigit | null) => void) {
    return html`<div class="field">
      <label for=${id}>${label}</label>
      <select id=${id} @change=${(e: Event) => set(valueOf(e) === '' ? null : (valueOf(e) as KeypadDigit))}>
        <option value="" ?selected=${value === null}>None</option>
        ${KEYPAD_DIGITS.map((digit) => html`<option value=${digit} ?selected=${digit === value}>${digit}</option>`)}
      </select>
    </div>`;
  }

  #numberField(id: string, label: string, value: number, set: (value: number) => void, hint: string) {
    return html`<div class="field">
      <label for=${id}>${label}</label>
      <input
        id=${id}
        type="number"
        inputmode="numeric"
        min="0"
        step="1"
        aria-describedby="${id}-hint"
        .value=${String(value)}
        @input=${(e: Event) => set(valueOf(e).trim() === '' ? Number.NaN : Number(valueOf(e)))}
      />
      <p class="hint" id="${id}-hint">${hint}</p>
    </div>`;
  }

  #renderCaller(plan: CallPlan) {
    return html`
      <fieldset>
        <legend>What a caller hears</legend>
        <div class="row check" role="group" aria-label="Languages">
          <span>Languages, in the order they play:</span>
          ${PROMPT_LANGUAGES.map(
            (language) => html`<label>
              <input
                type="checkbox"
                .checked=${plan.languages.includes(language)}
                @change=${(e: Event) =>
                  this.#edit((p) => {
                    p.languages = checkedOf(e) ? [...p.languages, language] : p.languages.filter((l) => l !== language);
                  })}
              />
              ${LANGUAGE_NAMES[language]}
            </label>`,
          )}
          <span>(${plan.languages.map((l) => LANGUAGE_NAMES[l]).join(', then ') || 'none chosen'})</span>
        </div>
        <div class="row">
          ${this.#numberField(
            'announce-interval',
            'Announcement interval, in seconds',
            plan.announcements.intervalSeconds,
            (value) => this.#edit((p) => (p.announcements.intervalSeconds = value)),
            'How often the music pauses for the caller\u2019s position; 0 = never, else 10 to 600.',
          )}
        </div>
        <div class="row check">
          <label>
            <input
              type="checkbox"
              .checked=${plan.announcements.expectedWait}
              @change=${(e: Event) => this.#edit((p) => (p.announcements.expectedWait = checkedOf(e)))}
            />
            Also announce the expected wait
          </label>
          <label>
            <input
              type="checkbox"
              .checked=${plan.announcements.offerCallback}
              @change=${(e: Event) => this.#edit((p) => (p.announcements.offerCallback = checkedOf(e)))}
            />
            Also offer a callback
          </label>
        </div>
        <div class="row">
          ${this.#digitSelect('key-callback', 'Key for a callback', plan.keypad.callbackDigit, (digit) =>
            this.#edit((p) => (p.keypad.callbackDigit = digit)),
          )}
          ${this.#digitSelect('key-voicemail', 'Key for a message', plan.keypad.voicemailDigit, (digit) =>
            this.#edit((p) => (p.keypad.voicemailDigit = digit)),
          )}
        </div>
      </fieldset>
    `;
  }

  #renderQueues(plan: CallPlan) {
    const active = this.staff.filter((user) => !user.disabled);
    return html`
      <fieldset>
        <legend>Queues</legend>
        <p class="hint">
          With more than one queue, callers choose with a key after the intro; the first queue takes calls with no
          choice. A queue with no members is taken by everyone.
        </p>
        ${plan.queues.map((queue, index) => this.#renderQueue(plan, queue, index, active))}
        <div>
          <button
            class="secondary"
            type="button"
            ?disabled=${plan.queues.length >= 9}
            @click=${() =>
              this.#edit((p) => {
                const used = new Set(p.queues.map((q) => q.digit));
                const digit = KEYPAD_DIGITS.find(
                  (d) => !used.has(d) && d !== p.keypad.callbackDigit && d !== p.keypad.voicemailDigit,
                );
                p.queues.push({
                  id: idOf('queue', new Set(p.queues.map((q) => q.id))),
                  name: `Queue ${p.queues.length + 1}`,
                  digit: digit ?? null,
                  memberIds: [],
                  musicId: null,
                });
              })}
          >
            Add queue
          </button>
        </div>
      </fieldset>
    `;
  }

  #renderQueue(plan: CallPlan, queue: Queue, index: number, active: PublicUser[]) {
    const people = [
      ...active,
      ...queue.memberIds
        .filter((id) => !active.some((user) => user.id === id))
        .map((id) => this.staff.find((user) => user.id === id) ?? { id, displayName: `unknown user ${id}`, email: '' }),
    ];
    return html`
      <fieldset>
        <legend>${queue.name || `Queue ${index + 1}`}</legend>
        <div class="row">
          <div class="field">
            <label for="queue-${index}-name">Name</label>
            <input
              id="queue-${index}-name"
              maxlength="60"
              .value=${queue.name}
              @input=${(e: Event) => this.#edit((p) => (p.queues[index]!.name = valueOf(e)))}
            />
          </div>
          ${this.#digitSelect(`queue-${index}-digit`, 'Key', queue.digit, (digit) =>
            this.#edit((p) => (p.queues[index]!.digit = digit)),
          )}
          ${
            plan.queues.length > 1
              ? html`<button
                class="secondary"
                type="button"
                aria-label="Remove the queue ${queue.name}"
                @click=${() => this.#edit((p) => p.queues.splice(index, 1))}
              >
                Remove queue
              </button>`
              : nothing
          }
        </div>
        <div class="row check" role="group" aria-label="Members of ${queue.name}">
          <span>Members:</span>
          ${people.map(
            (user) => html`<label>
              <input
                type="checkbox"
                .checked=${queue.memberIds.includes(user.id)}
                @change=${(e: Event) =>
                  this.#edit((p) => {
                    const q = p.queues[index]!;
                    q.memberIds = checkedOf(e) ? [...q.memberIds, user.id] : q.memberIds.filter((id) => id !== user.id);
                  })}
              />
              ${user.displayName}
            </label>`,
          )}
        </div>
      </fieldset>
    `;
  }

  #renderOverflow(plan: CallPlan) {
    return html`
      <fieldset>
        <legend>When nobody can answer</legend>
        <div class="row">
          <div class="field">
            <label for="closed-action">Outside the hours</label>
            <select id="closed-action" @change=${(e: Event) => this.#edit((p) => (p.closedAction = valueOf(e) as ClosedAction))}>
              ${CLOSED_ACTIONS.map((action) => html`<option value=${action} ?selected=${action === plan.closedAction}>${CLOSED_NAMES[action]}</option>`)}
            </select>
          </div>
          ${this.#numberField(
            'max-wait',
            'Maximum wait, in seconds',
            plan.maxWaitSeconds,
            (value) => this.#edit((p) => (p.maxWaitSeconds = value)),
            '0 = no maximum, else 30 to 7200.',
          )}
          <div class="field">
            <label for="overflow">After the maximum wait</label>
            <select id="overflow" @change=${(e: Event) => this.#edit((p) => (p.overflow = valueOf(e) as OverflowTarget))}>
              ${OVERFLOW_TARGETS.map((target) => html`<option value=${target} ?selected=${target === plan.overflow}>${OVERFLOW_NAMES[target]}</option>`)}
            </select>
          </div>
          <div class="field">
            <label for="nobody-available">When nobody who takes the queue is available</label>
            <select
              id="nobody-available"
              @change=${(e: Event) => this.#edit((p) => (p.nobodyAvailable = valueOf(e) === '' ? null : (valueOf(e) as OverflowTarget)))}
            >
              <option value="" ?selected=${plan.nobodyAvailable === null}>The call waits</option>
              ${OVERFLOW_TARGETS.map((target) => html`<option value=${target} ?selected=${target === plan.nobodyAvailable}>${OVERFLOW_NAMES[target]}</option>`)}
            </select>
          </div>
          ${this.#numberField(
            'voicemail-max',
            'Longest voicemail, in seconds',
            plan.voicemail.maxSeconds,
            (value) => this.#edit((p) => (p.voicemail.maxSeconds = value)),
            '10 to 300.',
          )}
        </div>
      </fieldset>
    `;
  }

  #renderPreview() {
    const preview = this.preview;
    return html`
      <form @submit=${this.#onPreview} aria-labelledby="preview-title">
        <fieldset>
          <legend id="preview-title">Preview: what would a caller hear?</legend>
          <p class="hint">By the saved plan.</p>
          <div class="row">
            <div class="field">
              <label for="preview-at">Date and time (clinic time)</label>
              <input id="preview-at" type="datetime-local" .value=${this.previewAt} @input=${(e: Event) => (this.previewAt = valueOf(e))} />
            </div>
            <button class="secondary" type="submit">Preview</button>
          </div>
          ${this.previewError === '' ? nothing : html`<p class="alert" role="alert">${this.previewError}</p>`}
          ${
            preview === undefined
              ? nothing
              : html`<div role="status" id="preview-result">
                <p><strong>${preview.open ? 'Open' : 'Closed'}</strong>${preview.closure ? html` (${preview.closure.reason})` : nothing}: the caller hears</p>
                <ol>
                  ${preview.steps.map((step) => html`<li>${step}</li>`)}
                </ol>
              </div>`
          }
        </fieldset>
      </form>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-call-plan': DlCallPlan;
  }
}
