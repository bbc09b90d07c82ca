import {
  PROBLEM_KINDS,
  PROBLEM_NOTE_MAX_LENGTH,
  TASK_COMMENT_MAX_LENGTH,
  isCallable,
  isWithheld,
  type CallbackOutcome,
  type ProblemKind,
  type Subject,
  type TaskView,
  type TeamMember,
  type Workstation,
} from '@deskline/protocol';
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { formatClockTime, formatDuration, formatElapsed, isoDuration } from '../format.js';
import { ApiRequestError, UNREACHABLE_MESSAGE, apiClient, type ApiClient } from '../services/api-client.js';
import { canChangeTask, subjectChoices, waitingSinceOf, type BoardViewer } from '../task-board.js';
import { alertStyles, controlStyles, primaryButtonStyles, secondaryButtonStyles } from '../styles/shared-styles.js';

/** A comment is saved this long after the last keystroke (and at once when the field is left). */
const COMMENT_SAVE_DELAY_MS = 800;

export const CHOOSE_SUBJECT_TO_CLOSE = 'Choose a subject to close this task';

const PROBLEM_LABELS: Record<ProblemKind, string> = {
  'bad-audio': 'Bad audio',
  echo: 'Echo',
  'call-dropped': 'Call dropped',
  other: 'Something else',
};

const OUTCOME_LABELS: Record<CallbackOutcome, string> = {
  answered: 'answered',
  'no-answer': 'no answer',
  busy: 'busy',
  rejected: 'rejected',
  failed: 'failed',
  cancelled: 'cancelled',
};

/** What the person at the screen reads about a request that failed. */
function messageOf(error: unknown): string {
  return error instanceof ApiRequestError ? error.message : UNREACHABLE_MESSAGE;
}

export interface CallBackDetail {
  taskId: string;
  /** The one-time SIP URI the browser's phone calls (sip:cb-<token>@<domain>). */
  target: string;
  /** The patient's number, for the call panel to show. */
  number: string;
}

const PHONE_NOT_READY = 'Your phone could not place the call (not connected, or on another call). Try again in a moment.';

type Saving = { state: 'idle' | 'saving' | 'saved' } | { state: 'error'; message: string };

/**
 * One task of the call board: the patient's number (or "Number withheld"), the stage of the call
 * (intro, waiting with a running time, ringing at whom, on the line with whom and for how long, wrap-up,
 * closed, or the missed calls and callback attempts of an abandoned task) and, when the viewer may act
 * on it, the subject, the comment (saved as it is typed), "Report a problem", "Close" (only with a
 * subject) and "Call back". Each action asks the server through `api` and reports its outcome on the
 * card.
 *
 * @fires task-change - `CustomEvent<TaskView>`, bubbles and composed: the server answered a change
 *   with the task's new version (before its push arrives).
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
    css`
      :host {
        display: block;
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

      article.abandoned {
        border-left-color: var(--dl-color-danger);
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

      .withheld {
        color: var(--dl-color-text-muted);
        font-style: italic;
      }

      .stage {
        margin: 0;
        font-weight: 600;
      }

      .stage time,
      .running {
        font-variant-numeric: tabular-nums;
      }

      .running {
        font-size: 1.125rem;
        font-weight: 700;
      }

      .detail,
      .hint {
        margin: 0;
        color: var(--dl-color-text-muted);
        font-size: 0.9375rem;
      }

      ul.attempts {
        margin: 0;
        padding-left: 1.25rem;
        color: var(--dl-color-text-muted);
        font-size: 0.9375rem;
      }

      .fields {
        display: grid;
        grid-template-columns: minmax(10rem, 16rem) minmax(0, 1fr);
        gap: 0.75rem;
        align-items: start;
      }

      .field {
        display: grid;
        gap: 0.25rem;
        min-width: 0;
      }

      label {
        font-weight: 600;
        font-size: 0.9375rem;
      }

      select,
      textarea {
        box-sizing: border-box;
        width: 100%;
        min-height: var(--dl-target-size);
        padding: 0.5rem 0.625rem;
        border: 1px solid var(--dl-color-field-border);
        border-radius: var(--dl-radius);
        background: var(--dl-color-surface);
        font: inherit;
        color: inherit;
      }

      textarea {
        resize: vertical;
        min-height: 2.75rem;
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

      .actions {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem 0.75rem;
      }

      .hints {
        display: grid;
        gap: 0.25rem;
        margin-top: -0.125rem;
      }

      .problem {
        display: grid;
        gap: 0.5rem;
        padding: 0.75rem;
        border: 1px solid var(--dl-color-border);
        border-radius: var(--dl-radius);
        background: var(--dl-color-page);
      }

      .problem .actions {
        justify-content: flex-start;
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

  /** The time to show running times at (the board's clock). */
  @property({ attribute: false }) now = Date.now();

  @property({ attribute: false }) api: ApiClient = apiClient;

  /** The comment as typed, while it differs from what the server has. */
  @state() private draft: string | undefined;
  @state() private commentSaving: Saving = { state: 'idle' };
  /** The subject chosen, until the server has confirmed it. */
  @state() private pendingSubject: string | null | undefined;
  @state() private subjectSaving: Saving = { state: 'idle' };
  @state() private reporting = false;
  @state() private problemKind: ProblemKind = 'bad-audio';
  @state() private problemSending: Saving = { state: 'idle' };
  @state() private busy: 'closing' | 'calling' | undefined;
  @state() private actionError = '';

  #commentTimer: ReturnType<typeof setTimeout> | undefined;
  #subjectRequests = 0;

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    // Leaving the board (or the task closing) must not lose what was typed.
    if (this.#commentTimer !== undefined) void this.#saveComment();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('task') && this.pendingSubject !== undefined && this.pendingSubject === (this.task.subjectId ?? null)) {
      this.pendingSubject = undefined;
    }
  }

  /** The subject chosen here and not yet confirmed, else the server's. */
  #shownSubject(): string | undefined {
    return this.pendingSubject === undefined ? this.task.subjectId : (this.pendingSubject ?? undefined);
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
            ${withheld ? html`<span class="withheld">Number withheld</span>` : task.patient}
          </h3>
          ${this.#renderRunningTime()}
        </div>
        ${this.#renderStage()} ${this.#renderWork()}
      </article>
    `;
  }

  #name(userId: string | undefined): string {
    if (userId === undefined) return 'someone';
    return this.team.get(userId)?.displayName ?? 'a former colleague';
  }

  #workstationName(workstationId: string | undefined, userId: string | undefined): string | undefined {
    const listed = this.workstations.find((workstation) => workstation.id === workstationId)?.name;
    return listed ?? (userId === undefined ? undefined : this.team.get(userId)?.workstation?.name);
  }

  #subjectName(subjectId: string): string {
    const subject = this.subjects.get(subjectId);
    if (subject === undefined) return 'a retired subject';
    return subject.retired ? `${subject.name} (retired)` : subject.name;
  }

  #duration(since: number) {
    const elapsed = this.now - since;
    return html`<time class="running" datetime=${isoDuration(elapsed)}>${formatDuration(elapsed)}</time>`;
  }

  /** The big running time at the top right: how long the patient has waited, or talked. */
  #renderRunningTime() {
    const { task } = this;
    if (task.status === 'incoming' && task.call !== undefined && task.call.state !== 'intro') return this.#duration(waitingSinceOf(task));
    if (task.status === 'on-the-line') {
      const since = task.callback?.answeredAt ?? task.call?.answeredAt;
      if (since !== undefined) return this.#duration(since);
    }
    return nothing;
  }

  #renderStage() {
    const { task } = this;
    switch (task.status) {
      case 'incoming':
        return this.#renderIncoming();
      case 'on-the-line': {
        const agent = this.#name(task.assigneeUserId);
        const since = task.callback?.answeredAt ?? task.call?.answeredAt;
        return html`
          <p class="stage">On the line: ${agent} ↔ patient</p>
          ${since === undefined ? nothing : html`<p class="detail">Since ${formatClockTime(since)}${task.callback?.state === 'answered' ? ' (called back)' : ''}</p>`}
          ${this.#renderLastTime()}
        `;
      }
      case 'calling-back': {
        const progress = task.callback?.state === 'ringing' ? 'the patient’s phone is ringing' : 'dialling';
        return html`<p class="stage">${this.#name(task.assigneeUserId)} is calling back: ${progress}</p>
          ${this.#renderLastTime()} ${this.#renderAttempts()}`;
      }
      case 'wrap-up': {
        const call = task.call;
        const talked = call?.answeredAt !== undefined && call.endedAt !== undefined ? call.endedAt - call.answeredAt : undefined;
        return html`<p class="stage">Wrap-up: ${this.#name(task.assigneeUserId)}</p>
          ${call?.endedAt === undefined
            ? nothing
            : html`<p class="detail">Call ended at ${formatClockTime(call.endedAt)}${talked === undefined ? '' : ` after ${formatElapsed(talked)}`}</p>`}`;
      }
      case 'closed':
        return html`<p class="stage">Closed${task.closedByUserId === undefined ? '' : ` by ${this.#name(task.closedByUserId)}`}${task.closedAt === undefined ? '' : ` at ${formatClockTime(task.closedAt)}`}</p>
          <p class="detail">Subject: ${task.subjectId === undefined ? 'none' : this.#subjectName(task.subjectId)}</p>
          ${task.comment ? html`<p class="detail">Comment: ${task.comment}</p>` : nothing}
          ${this.#renderAttempts()}`;
      case 'abandoned': {
        const call = task.call;
        const last = call?.endedAt ?? call?.startedAt ?? task.updatedAt;
        const how =
          call?.queuedAt === undefined
            ? 'hung up during the intro message'
            : `hung up after waiting ${formatElapsed((call.endedAt ?? call.queuedAt) - call.queuedAt)}`;
        return html`<p class="stage">Abandoned: ${task.attempts === 1 ? '1 missed call' : `${task.attempts} missed calls`}</p>
          <p class="detail">Last call at ${formatClockTime(last)}, ${how}</p>
          ${this.#renderLastTime()} ${this.#renderAttempts()}`;
      }
    }
  }

  /** What the patient's previous task was about: worth knowing before and while talking to them. */
  #renderLastTime() {
    const previous = this.task.previousSubjectId;
    return previous === undefined ? nothing : html`<p class="detail">Last time: ${this.#subjectName(previous)}</p>`;
  }

  #renderIncoming() {
    return html`${this.#renderCallStage()} ${this.#renderLastTime()}`;
  }

  #renderCallStage() {
    const call = this.task.call;
    switch (call?.state) {
      case 'intro':
        return html`<p class="stage">Intro message</p>
          <p class="detail">The patient hears the intro; the call cannot be answered yet.</p>`;
      case 'waiting':
        return html`<p class="stage">Waiting</p>`;
      case 'ringing': {
        const where = this.#workstationName(call.workstationId, call.agentUserId);
        const who = call.agentUserId === undefined ? '' : this.#name(call.agentUserId);
        const at = [where, who].filter((part) => part !== undefined && part !== '').join(', ');
        return html`<p class="stage">Ringing${at === '' ? '' : ` at ${at}`}</p>`;
      }
      default:
        return html`<p class="stage">Incoming call</p>`;
    }
  }

  #renderAttempts() {
    const attempts = this.task.callbacks;
    if (attempts.length === 0) return nothing;
    return html`<ul class="attempts" aria-label="Callback attempts">
      ${attempts.map((attempt) => {
        const outcome = attempt.outcome === undefined ? 'in progress' : OUTCOME_LABELS[attempt.outcome];
        return html`<li>${`Called back at ${formatClockTime(attempt.at)} by ${this.#name(attempt.userId)}: ${outcome}`}</li>`;
      })}
    </ul>`;
  }

  /** Subject, comment and the actions, for a task past the ringing. */
  #renderWork() {
    const { task } = this;
    if (task.status === 'incoming' || task.status === 'closed') return nothing;
    const editable = canChangeTask(task, this.viewer);
    if (!editable) {
      return html`${task.subjectId === undefined ? nothing : html`<p class="detail">Subject: ${this.#subjectName(task.subjectId)}</p>`}
      ${task.comment ? html`<p class="detail">Comment: ${task.comment}</p>` : nothing}`;
    }
    const subjectId = this.#shownSubject();
    const closable = task.status === 'wrap-up' || task.status === 'abandoned';
    const callable = task.status === 'abandoned' && isCallable(task.patient);
    return html`
      <div class="fields">
        <div class="field">
          <label for="subject">Subject</label>
          <select id="subject" class="subject" @change=${this.#onSubjectChange}>
            <option value="" ?selected=${subjectId === undefined}>Choose a subject</option>
            ${subjectChoices(this.subjects, subjectId).map(
              (subject) =>
                html`<option value=${subject.id} ?selected=${subject.id === subjectId}>
                  ${subject.retired ? `${subject.name} (retired)` : subject.name}
                </option>`,
            )}
            ${subjectId !== undefined && !this.subjects.has(subjectId)
              ? html`<option value=${subjectId} selected>A retired subject</option>`
              : nothing}
          </select>
          ${this.#renderSaving(this.subjectSaving, 'Subject saved')}
        </div>
        <div class="field">
          <label for="comment">Comment</label>
          <textarea
            id="comment"
            rows="2"
            maxlength=${TASK_COMMENT_MAX_LENGTH}
            .value=${this.draft ?? task.comment ?? ''}
            @input=${this.#onCommentInput}
            @blur=${this.#onCommentBlur}
          ></textarea>
          ${this.#renderSaving(this.commentSaving, 'Comment saved')}
        </div>
      </div>
      ${this.reporting ? this.#renderProblemForm() : nothing}
      <div class="actions">
        ${callable ? this.#renderCallBack() : nothing}
        ${closable
          ? html`<button
              class="primary"
              type="button"
              ?disabled=${subjectId === undefined || this.busy !== undefined}
              aria-describedby=${subjectId === undefined ? 'close-hint' : nothing}
              @click=${this.#onClose}
            >
              Close
            </button>`
          : nothing}
        ${this.reporting || task.callIds.length === 0
          ? nothing
          : html`<button class="secondary" type="button" @click=${this.#openProblemForm}>Report a problem</button>`}
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
    const reported = this.problemSending.state === 'saved' && !this.reporting;
    if (!needsSubject && !callbackBlocked && !reported) return nothing;
    return html`<div class="hints">
      ${callbackBlocked ? html`<p class="hint" id="callback-hint">${this.callbackBlocked}</p>` : nothing}
      ${needsSubject ? html`<p class="hint" id="close-hint">${CHOOSE_SUBJECT_TO_CLOSE}</p>` : nothing}
      ${reported ? html`<p class="hint" role="status">Problem reported. Thank you.</p>` : nothing}
    </div>`;
  }

  #renderCallBack() {
    if (this.callbackBlocked !== '') {
      return html`<button class="primary call-back" type="button" disabled aria-describedby="callback-hint">Call back</button>`;
    }
    return html`<button class="primary call-back" type="button" ?disabled=${this.busy !== undefined} @click=${this.#onCallBack}>
      ${this.busy === 'calling' ? 'Calling back…' : 'Call back'}
    </button>`;
  }

  #renderSaving(saving: Saving, saved: string) {
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

  #renderProblemForm() {
    const sending = this.problemSending.state === 'saving';
    return html`<form class="problem" aria-label="Report a problem" @submit=${this.#onProblemSubmit}>
      <div class="field">
        <label for="problem">What went wrong</label>
        <select id="problem" @change=${(event: Event) => (this.problemKind = (event.target as HTMLSelectElement).value as ProblemKind)}>
          ${PROBLEM_KINDS.map((kind) => html`<option value=${kind} ?selected=${kind === this.problemKind}>${PROBLEM_LABELS[kind]}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="note">Note (optional)</label>
        <textarea id="note" name="note" rows="2" maxlength=${PROBLEM_NOTE_MAX_LENGTH}></textarea>
      </div>
      ${this.problemSending.state === 'error' ? html`<p class="alert" role="alert">${this.problemSending.message}</p>` : nothing}
      <div class="actions">
        <button class="primary" type="submit" ?disabled=${sending}>${sending ? 'Sending…' : 'Send report'}</button>
        <button class="secondary" type="button" @click=${() => (this.reporting = false)}>Cancel</button>
      </div>
    </form>`;
  }

  #announce(task: TaskView): void {
    this.dispatchEvent(new CustomEvent<TaskView>('task-change', { detail: task, bubbles: true, composed: true }));
  }

  async #onSubjectChange(event: Event): Promise<void> {
    const value = (event.target as HTMLSelectElement).value;
    const subjectId = value === '' ? null : value;
    // Only the answer to the latest choice counts (its push may well arrive before it).
    const request = ++this.#subjectRequests;
    this.pendingSubject = subjectId;
    this.subjectSaving = { state: 'saving' };
    this.actionError = '';
    try {
      const task = await this.api.updateTask({ params: { id: this.task.id }, body: { subjectId } });
      if (request !== this.#subjectRequests) return;
      this.pendingSubject = undefined;
      this.subjectSaving = { state: 'saved' };
      this.#announce(task);
    } catch (error) {
      if (request !== this.#subjectRequests) return;
      this.pendingSubject = undefined;
      this.subjectSaving = { state: 'error', message: messageOf(error) };
    }
  }

  #onCommentInput(event: Event): void {
    this.draft = (event.target as HTMLTextAreaElement).value;
    this.commentSaving = { state: 'idle' };
    clearTimeout(this.#commentTimer);
    this.#commentTimer = setTimeout(() => void this.#saveComment(), COMMENT_SAVE_DELAY_MS);
  }

  #onCommentBlur(): void {
    if (this.#commentTimer !== undefined) void this.#saveComment();
  }

  async #saveComment(): Promise<void> {
    clearTimeout(this.#commentTimer);
    this.#commentTimer = undefined;
    const comment = this.draft;
    if (comment === undefined || comment === (this.task.comment ?? '')) {
      this.draft = undefined;
      return;
    }
    this.commentSaving = { state: 'saving' };
    try {
      const task = await this.api.updateTask({ params: { id: this.task.id }, body: { comment } });
      // Typing went on meanwhile: that text is saved by its own timer.
      if (this.draft !== comment) return;
      this.draft = undefined;
      this.commentSaving = { state: 'saved' };
      this.#announce(task);
    } catch (error) {
      if (this.draft === comment) this.commentSaving = { state: 'error', message: messageOf(error) };
    }
  }

  #openProblemForm(): void {
    this.problemSending = { state: 'idle' };
    this.reporting = true;
  }

  async #onProblemSubmit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const note = (form.elements.namedItem('note') as HTMLTextAreaElement).value.trim();
    this.problemSending = { state: 'saving' };
    try {
      const task = await this.api.reportProblem({ params: { id: this.task.id }, body: { kind: this.problemKind, ...(note === '' ? {} : { note }) } });
      this.problemSending = { state: 'saved' };
      this.reporting = false;
      this.#announce(task);
    } catch (error) {
      this.problemSending = { state: 'error', message: messageOf(error) };
    }
  }

  async #onClose(): Promise<void> {
    this.busy = 'closing';
    this.actionError = '';
    // A comment still waiting for its timer goes first, so the closed task has it.
    if (this.#commentTimer !== undefined) await this.#saveComment();
    try {
      this.#announce(await this.api.closeTask({ params: { id: this.task.id } }));
    } catch (error) {
      // Someone else cleared the subject meanwhile.
      this.actionError = error instanceof ApiRequestError && error.code === 'subject-required' ? `${CHOOSE_SUBJECT_TO_CLOSE}.` : messageOf(error);
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
      this.actionError = messageOf(error);
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
