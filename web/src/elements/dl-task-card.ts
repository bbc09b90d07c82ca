import {
  SUBJECT_CATEGORIES,
  SUBJECT_CATEGORY_NAMES,
  DEFAULT_OUTCOME_SETTINGS,
  TASK_COMMENT_MAX_LENGTH,
  isCallable,
  isWithheld,
  statusMayBeCalledBack,
  type OutcomeSettings,
  voicemailAudioPath,
  type Contact,
  type ReportProblemRequest,
  type Subject,
  type TaskView,
  type TeamMember,
  type Workstation,
} from '@deskline/protocol';
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { AutosaveController, type SaveState } from '../controllers/autosave-controller.js';
import { formatDuration, isoDuration } from '../format.js';
import { ApiRequestError, apiClient, type ApiClient } from '../services/api-client.js';
import { errorMessage } from '../services/error-message.js';
import {
  canChangeTask,
  subjectChoices,
  subjectLabel,
  voicemailRemovedText,
  waitingSinceOf,
  type BoardViewer,
} from '../task-board.js';
import { alertStyles, controlStyles, primaryButtonStyles, secondaryButtonStyles } from '../styles/shared-styles.js';
import { taskFormStyles } from '../styles/task-form-styles.js';
import type { SaveCallerDetail } from './dl-save-caller.js';
import './dl-problem-report.js';
import './dl-save-caller.js';
import './dl-task-stage.js';

/** A comment is saved this long after the last keystroke (and at once when the field is left). */
const COMMENT_SAVE_DELAY_MS = 800;

/** A contact saved from a task: the contact, and the number as the task spells it. */
export interface ContactChangeDetail {
  contact: Contact;
  number: string;
}

export const CHOOSE_SUBJECT_TO_CLOSE = 'Choose a subject to close this task';

export interface CallBackDetail {
  taskId: string;
  /** The one-time SIP URI the browser's phone calls (sip:cb-<token>@<domain>). */
  target: string;
  /** The patient's number, for the call panel to show. */
  number: string;
}

const PHONE_NOT_READY =
  'Your phone could not place the call (not connected, or on another call). Try again in a moment.';

/**
 * One task of the call board: the patient's number (or "Number withheld"), the stage of the call
 * (intro, waiting with a running time, ringing at whom, on the line with whom and for how long, wrap-up,
 * closed, or the missed calls and callback attempts of an unanswered or abandoned task) and, when the viewer may act
 * on it, the subject, the comment (saved as it is typed), "Report a problem", "Close" (only with a
 * subject) and "Call back". Each action asks the server through `api` and reports its outcome on the
 * card; the three editors (subject, comment, problem report) save through one AutosaveController each.
 *
 * @fires task-change - `CustomEvent<TaskView>`, bubbles and composed: the server answered a change
 *   with the task's new version (before its push arrives).
 * @fires contact-change - `CustomEvent<ContactChangeDetail>`, bubbles and composed: "Save this caller"
 *   saved the patient's number as a contact.
 * @fires call-back - `CustomEvent<CallBackDetail>`, bubbles, composed and cancelable: the server
 *   granted a callback; the browser's phone should call `target` now. Cancel it when the phone cannot:
 *   the card says so.
 * @csspart card - The task's box.
 */
@customElement('dl-task-card')
export class DlTaskCard extends LitElement {
  static override styles = [
    controlStyles,
    alertStyles,
    primaryButtonStyles,
    secondaryButtonStyles,
    taskFormStyles,
    css`
      :host {
        display: block;
      }

      section.voicemail audio {
        width: 100%;
        max-width: 22rem;
      }

      article {
        display: grid;
        gap: 0.5rem;
        padding: 0.875rem 1rem;
        border: 1px solid var(--dl-color-border);
        border-left-width: 4px;
        border-radius: var(--dl-radius);
        background: var(--dl-color-surface);
      }

      article.incoming {
        border-left-color: var(--dl-color-pending);
      }

      article.ringing,
      article.on-the-line,
      article.calling-back {
        border-left-color: var(--dl-color-success);
      }

      article.wrap-up {
        border-left-color: var(--dl-color-primary);
      }

      article.unanswered {
        border-left-color: var(--dl-color-danger);
      }

      article.abandoned {
        border-left-color: var(--dl-color-paused);
      }

      article.closed {
        border-left-color: var(--dl-color-paused);
      }

      .head {
        display: flex;
        flex-wrap: wrap;
        align-items: baseline;
        justify-content: space-between;
        gap: 0.25rem 1rem;
      }

      h3 {
        margin: 0;
        font-size: 1.125rem;
        font-variant-numeric: tabular-nums;
        overflow-wrap: anywhere;
      }

      h3 .contact-number {
        font-weight: normal;
        font-size: 0.875rem;
        color: var(--dl-muted, #555);
      }

      .withheld {
        color: var(--dl-color-text-muted);
        font-style: italic;
      }

      .queue {
        margin-right: auto;
        padding: 0 0.5rem;
        border-radius: 999px;
        background: var(--dl-color-paused-surface);
        font-size: 0.875rem;
        font-weight: 600;
      }

      .running {
        font-variant-numeric: tabular-nums;
        font-size: 1.125rem;
        font-weight: 700;
      }

      .detail,
      .hint {
        margin: 0;
        color: var(--dl-color-text-muted);
        font-size: 0.9375rem;
      }

      .fields {
        display: grid;
        grid-template-columns: minmax(10rem, 16rem) minmax(0, 1fr);
        gap: 0.75rem;
        align-items: start;
      }

      .state {
        margin: 0;
        min-height: 1.25rem;
        color: var(--dl-color-text-muted);
        font-size: 0.875rem;
      }

      .state.error {
        color: var(--dl-color-danger-text);
      }

      .hints {
        display: grid;
        gap: 0.25rem;
        margin-top: -0.125rem;
      }

      .call-back {
        background: var(--dl-color-success);
      }

      .call-back:hover:not(:disabled) {
        background: var(--dl-color-success-hover);
      }

      @media (max-width: 40rem) {
        .fields {
          grid-template-columns: minmax(0, 1fr);
        }
      }
    `,
  ];

  @property({ attribute: false }) task!: TaskView;

  /** Every subject the panel knows, by id (retired ones too, when known: a task may have one). */
  @property({ attribute: false }) subjects: ReadonlyMap<string, Subject> = new Map();

  /** The team by user id, for names. */
  @property({ attribute: false }) team: ReadonlyMap<string, TeamMember> = new Map();

  /** The clinic's workstations, to name where a call rings. */
  @property({ attribute: false }) workstations: readonly Workstation[] = [];

  @property({ attribute: false }) viewer: BoardViewer = { userId: '', role: 'employee' };

  /** Why this viewer cannot call patients back ('' when they can). */
  @property({ attribute: false }) callbackBlocked = '';

  /** Whether Abandoned tasks get Call back (managers' setting; Unanswered ones always do). */
  @property({ attribute: false }) outcomeSettings: OutcomeSettings = DEFAULT_OUTCOME_SETTINGS;

  /** The name of the call plan queue its call is in, while the board shows every queue ('' for none). */
  @property({ attribute: false }) queueName = '';

  /** The time to show running times at (the board's clock). */
  @property({ attribute: false }) now = Date.now();

  @property({ attribute: false }) api: ApiClient = apiClient;

  /** The patient's contact (a name for the number), when there is one. */
  @property({ attribute: false }) contact: Contact | undefined;

  @state() private reporting = false;
  @state() private savingCaller = false;
  @state() private saveCallerError = '';
  @state() private busy: 'closing' | 'calling' | undefined;
  @state() private actionError = '';

  /** The subject chosen, until the server has confirmed it (null: none). */
  #subject = new AutosaveController<string | null, TaskView>(this, {
    save: (subjectId) => this.api.updateTask({ params: { id: this.task.id }, body: { subjectId } }),
    saved: (task) => this.#announce(task),
  });

  /** The comment as typed, while it differs from what the server has. */
  #comment = new AutosaveController<string, TaskView>(this, {
    save: (comment) => this.api.updateTask({ params: { id: this.task.id }, body: { comment } }),
    saved: (task) => this.#announce(task),
    delayMs: COMMENT_SAVE_DELAY_MS,
    isSaved: (comment) => comment === (this.task.comment ?? ''),
    keepFailed: true,
  });

  #problem = new AutosaveController<ReportProblemRequest, TaskView>(this, {
    save: (report) => this.api.reportProblem({ params: { id: this.task.id }, body: report }),
    saved: (task) => {
      this.reporting = false;
      this.#announce(task);
    },
  });

  protected override willUpdate(changed: PropertyValues<this>): void {
    const chosen = this.#subject.draft;
    if (changed.has('task') && chosen !== undefined && chosen === (this.task.subjectId ?? null)) this.#subject.settle();
  }

  /** The subject chosen here and not yet confirmed, else the server's. */
  #shownSubject(): string | undefined {
    const chosen = this.#subject.draft;
    return chosen === undefined ? this.task.subjectId : (chosen ?? undefined);
  }

  // `selected` attributes stop moving a select once the person has used it: a subject chosen by someone
  // else, or a choice the server refused, is shown by setting the value.
  protected override updated(): void {
    const select = this.renderRoot.querySelector<HTMLSelectElement>('select.subject');
    const value = this.#shownSubject() ?? '';
    if (select !== null && select.value !== value) select.value = value;
  }

  protected override render() {
    const task = this.task;
    const withheld = isWithheld(task.patient);
    const ringing = task.status === 'incoming' && task.call?.state === 'ringing';
    return html`
      <article part="card" class="${task.status}${ringing ? ' ringing' : ''}" aria-labelledby="number">
        <div class="head">
          <h3 id="number">
            ${
              withheld
                ? html`<span class="withheld">Number withheld</span>`
                : this.contact
                  ? html`${this.contact.name} <span class="contact-number">${task.patient}</span>`
                  : task.patient
            }
          </h3>
          ${this.queueName === '' ? nothing : html`<span class="queue">${this.queueName}</span>`}
          ${this.#renderRunningTime()}
        </div>
        <dl-task-stage .task=${task} .subjects=${this.subjects} .team=${this.team} .workstations=${this.workstations}></dl-task-stage>
        ${this.#renderVoicemail()}
        ${
          withheld || this.contact
            ? nothing
            : html`<dl-save-caller
              .number=${task.patient}
              ?saving=${this.savingCaller}
              .error=${this.saveCallerError}
              @save-caller=${this.#onSaveCaller}
            ></dl-save-caller>`
        }
        ${this.#renderWork()}
      </article>
    `;
  }

  /**
   * A message the patient left: "Voicemail", its length, and a player fed by the authenticated
   * endpoint; once the message is gone, why instead of the player.
   */
  #renderVoicemail() {
    const message = this.task.voicemail;
    if (!message) return nothing;
    return html`<section class="voicemail" aria-label="Voicemail">
      <p class="detail"><strong>Voicemail</strong> · <time datetime=${isoDuration(message.durationMs)}>${formatDuration(message.durationMs)}</time></p>
      ${
        message.id === undefined
          ? html`<p class="detail removed">${voicemailRemovedText(message)}</p>`
          : html`<audio controls preload="metadata" src=${voicemailAudioPath(message.id)}></audio>`
      }
    </section>`;
  }

  #duration(since: number) {
    const elapsed = this.now - since;
    return html`<time class="running" datetime=${isoDuration(elapsed)}>${formatDuration(elapsed)}</time>`;
  }

  /** The big running time at the top right: how long the patient has waited, or talked. */
  #renderRunningTime() {
    const { task } = this;
    if (task.status === 'incoming' && task.call !== undefined && task.call.state !== 'intro')
      return this.#duration(waitingSinceOf(task));
    if (task.status === 'on-the-line') {
      const since = task.callback?.answeredAt ?? task.call?.answeredAt;
      if (since !== undefined) return this.#duration(since);
    }
    return nothing;
  }

  /** Subject, comment and the actions, for a task past the ringing. */
  #renderWork() {
    const { task } = this;
    if (task.status === 'incoming' || task.status === 'closed') return nothing;
    const editable = canChangeTask(task, this.viewer);
    if (!editable) {
      return html`${task.subjectId === undefined ? nothing : html`<p class="detail">Subject: ${subjectLabel(this.subjects, task.subjectId)}</p>`}
      ${task.comment ? html`<p class="detail">Comment: ${task.comment}</p>` : nothing}`;
    }
    const subjectId = this.#shownSubject();
    const closable = task.status === 'wrap-up' || task.status === 'unanswered' || task.status === 'abandoned';
    const callable = statusMayBeCalledBack(task.status, this.outcomeSettings) && isCallable(task.patient);
    const problem = this.#problem.state;
    return html`
      <div class="fields">
        <div class="field">
          <label for="subject">Subject</label>
          <select id="subject" class="subject" @change=${this.#onSubjectChange}>
            <option value="" ?selected=${subjectId === undefined}>Choose a subject</option>
            ${SUBJECT_CATEGORIES.map((category) => {
              const choices = subjectChoices(this.subjects, subjectId).filter((s) => s.category === category);
              return choices.length === 0
                ? nothing
                : html`<optgroup label=${SUBJECT_CATEGORY_NAMES[category]}>
                    ${choices.map(
                      (subject) =>
                        html`<option value=${subject.id} ?selected=${subject.id === subjectId}>
                          ${subject.retired ? `${subject.name} (retired)` : subject.name}
                        </option>`,
                    )}
                  </optgroup>`;
            })}
            ${
              subjectId !== undefined && !this.subjects.has(subjectId)
                ? html`<option value=${subjectId} selected>A retired subject</option>`
                : nothing
            }
          </select>
          ${this.#renderSaving(this.#subject.state, 'Subject saved')}
        </div>
        <div class="field">
          <label for="comment">Comment</label>
          <textarea
            id="comment"
            rows="2"
            maxlength=${TASK_COMMENT_MAX_LENGTH}
            .value=${this.#comment.draft ?? task.comment ?? ''}
            @input=${(event: Event) => this.#comment.edit((event.target as HTMLTextAreaElement).value)}
            @blur=${() => void this.#comment.flush()}
          ></textarea>
          ${this.#renderSaving(this.#comment.state, 'Comment saved')}
        </div>
      </div>
      ${
        this.reporting
          ? html`<dl-problem-report
            ?sending=${problem.state === 'saving'}
            .error=${problem.state === 'error' ? problem.message : ''}
            @problem-report=${(event: CustomEvent<ReportProblemRequest>) => this.#problem.edit(event.detail)}
            @problem-cancel=${() => (this.reporting = false)}
          ></dl-problem-report>`
          : nothing
      }
      <div class="actions">
        ${callable ? this.#renderCallBack() : nothing}
        ${
          closable
            ? html`<button
              class="primary"
              type="button"
              ?disabled=${subjectId === undefined || this.busy !== undefined}
              aria-describedby=${subjectId === undefined ? 'close-hint' : nothing}
              @click=${this.#onClose}
            >
              Close
            </button>`
            : nothing
        }
        ${
          this.reporting || task.callIds.length === 0
            ? nothing
            : html`<button class="secondary" type="button" @click=${this.#openProblemForm}>Report a problem</button>`
        }
      </div>
      ${this.#renderHints(closable && subjectId === undefined, callable && this.callbackBlocked !== '')}
      ${this.actionError === '' ? nothing : html`<p class="alert" role="alert">${this.actionError}</p>`}
    `;
  }

  /**
   * Why a button is disabled, and what became of a report: below the buttons, each on its own line, so
   * that a hint is not read as belonging to the button next to it.
   */
  #renderHints(needsSubject: boolean, callbackBlocked: boolean) {
    const reported = this.#problem.state.state === 'saved' && !this.reporting;
    if (!needsSubject && !callbackBlocked && !reported) return nothing;
    return html`<div class="hints">
      ${callbackBlocked ? html`<p class="hint" id="callback-hint">${this.callbackBlocked}</p>` : nothing}
      ${needsSubject ? html`<p class="hint" id="close-hint">${CHOOSE_SUBJECT_TO_CLOSE}</p>` : nothing}
      ${reported ? html`<p class="hint" role="status">Problem reported. Thank you.</p>` : nothing}
    </div>`;
  }

  #onSaveCaller = async (event: CustomEvent<SaveCallerDetail>): Promise<void> => {
    const number = this.task.patient;
    this.savingCaller = true;
    this.saveCallerError = '';
    try {
      const contact = await this.api.createContact({ body: { number, ...event.detail } });
      this.dispatchEvent(
        new CustomEvent<ContactChangeDetail>('contact-change', {
          detail: { contact, number },
          bubbles: true,
          composed: true,
        }),
      );
    } catch (error) {
      this.saveCallerError = errorMessage(error);
    } finally {
      this.savingCaller = false;
    }
  };

  #renderCallBack() {
    if (this.callbackBlocked !== '') {
      return html`<button class="primary call-back" type="button" disabled aria-describedby="callback-hint">Call back</button>`;
    }
    return html`<button class="primary call-back" type="button" ?disabled=${this.busy !== undefined} @click=${this.#onCallBack}>
      ${this.busy === 'calling' ? 'Calling back…' : 'Call back'}
    </button>`;
  }

  #renderSaving(saving: SaveState, saved: string) {
    switch (saving.state) {
      case 'idle':
        return html`<p class="state" role="status"></p>`;
      case 'saving':
        return html`<p class="state" role="status">Saving…</p>`;
      case 'saved':
        return html`<p class="state" role="status">${saved}</p>`;
      case 'error':
        return html`<p class="state error" role="alert">Not saved: ${saving.message}</p>`;
    }
  }

  #announce(task: TaskView): void {
    this.dispatchEvent(new CustomEvent<TaskView>('task-change', { detail: task, bubbles: true, composed: true }));
  }

  #onSubjectChange(event: Event): void {
    const value = (event.target as HTMLSelectElement).value;
    this.actionError = '';
    this.#subject.edit(value === '' ? null : value);
  }

  #openProblemForm(): void {
    this.#problem.reset();
    this.reporting = true;
  }

  async #onClose(): Promise<void> {
    this.busy = 'closing';
    this.actionError = '';
    // A comment still waiting for its timer goes first, so the closed task has it.
    await this.#comment.flush();
    try {
      this.#announce(await this.api.closeTask({ params: { id: this.task.id } }));
    } catch (error) {
      // Someone else cleared the subject meanwhile.
      this.actionError =
        error instanceof ApiRequestError && error.code === 'subject-required'
          ? `${CHOOSE_SUBJECT_TO_CLOSE}.`
          : errorMessage(error);
    } finally {
      this.busy = undefined;
    }
  }

  async #onCallBack(): Promise<void> {
    this.busy = 'calling';
    this.actionError = '';
    try {
      const { target } = await this.api.startCallback({ params: { id: this.task.id } });
      const placed = this.dispatchEvent(
        new CustomEvent<CallBackDetail>('call-back', {
          detail: { taskId: this.task.id, target, number: this.task.patient },
          bubbles: true,
          composed: true,
          cancelable: true,
        }),
      );
      if (!placed) this.actionError = PHONE_NOT_READY;
    } catch (error) {
      this.actionError = errorMessage(error);
    } finally {
      this.busy = undefined;
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-task-card': DlTaskCard;
  }
}
