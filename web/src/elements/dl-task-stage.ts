import type { Subject, TaskView, TeamMember, Workstation } from '@deskline/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { formatClockTime, formatElapsed } from '../format.js';
import { CALLBACK_OUTCOME_LABELS, subjectLabel } from '../task-board.js';

/**
 * Where a task's call stands, in words: intro, waiting, ringing at which workstation and whom, on the
 * line with whom and since when, calling back, wrap-up, closed (by whom, with its subject and
 * comment), or the missed calls of an unanswered or abandoned task; with what the patient's previous task was
 * about and the callback attempts. Its lines take part in the layout of the card around it.
 */
@customElement('dl-task-stage')
export class DlTaskStage extends LitElement {
  static override styles = css`
    :host {
      display: contents;
    }

    .stage {
      margin: 0;
      font-weight: 600;
    }

    .detail {
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
  `;

  @property({ attribute: false }) task!: TaskView;

  /** Every subject the panel knows, by id. */
  @property({ attribute: false }) subjects: ReadonlyMap<string, Subject> = new Map();

  /** The team by user id, for names. */
  @property({ attribute: false }) team: ReadonlyMap<string, TeamMember> = new Map();

  /** The clinic's workstations, to name where a call rings. */
  @property({ attribute: false }) workstations: readonly Workstation[] = [];

  protected override render() {
    const { task } = this;
    switch (task.status) {
      case 'incoming':
        return html`${this.#renderCallStage()} ${this.#renderLastTime()}`;
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
        const talked =
          call?.answeredAt !== undefined && call.endedAt !== undefined ? call.endedAt - call.answeredAt : undefined;
        return html`<p class="stage">Wrap-up: ${this.#name(task.assigneeUserId)}</p>
          ${
            call?.endedAt === undefined
              ? nothing
              : html`<p class="detail">Call ended at ${formatClockTime(call.endedAt)}${talked === undefined ? '' : ` after ${formatElapsed(talked)}`}</p>`
          }`;
      }
      case 'closed':
        return html`<p class="stage">Closed${task.closedByUserId === undefined ? '' : ` by ${this.#name(task.closedByUserId)}`}${task.closedAt === undefined ? '' : ` at ${formatClockTime(task.closedAt)}`}</p>
          <p class="detail">Subject: ${task.subjectId === undefined ? 'none' : subjectLabel(this.subjects, task.subjectId)}</p>
          ${task.comment ? html`<p class="detail">Comment: ${task.comment}</p>` : nothing}
          ${this.#renderAttempts()}`;
      case 'unanswered':
      case 'abandoned': {
        const call = task.call;
        const last = call?.endedAt ?? call?.startedAt ?? task.updatedAt;
        const waited =
          call?.queuedAt === undefined ? '' : formatElapsed((call.endedAt ?? call.queuedAt) - call.queuedAt);
        const how = task.callbackRequested
          ? `asked for a callback after waiting ${waited}`
          : call?.state === 'closed'
            ? call.afterHours
              ? 'called while the clinic was closed'
              : 'heard the closed message'
            : call?.state === 'message-left'
              ? 'left a voicemail message'
              : call?.queuedAt === undefined
                ? 'hung up during the intro message'
                : `hung up after waiting ${waited}`;
        if (task.callbackRequested)
          return html`<p class="stage callback-requested">Asked for a callback</p>
            <p class="detail">Last call at ${formatClockTime(last)}, ${how}</p>
            ${this.#renderLastTime()} ${this.#renderAttempts()}`;
        return html`<p class="stage">${task.status === 'abandoned' ? 'Abandoned' : 'Unanswered'}: ${task.attempts === 1 ? '1 missed call' : `${task.attempts} missed calls`}</p>
          <p class="detail">Last call at ${formatClockTime(last)}, ${how}</p>
          ${this.#renderLastTime()} ${this.#renderAttempts()}`;
      }
    }
  }

  #name(userId: string | undefined): string {
    if (userId === undefined) return 'someone';
    return this.team.get(userId)?.displayName ?? 'a former colleague';
  }

  #workstationName(workstationId: string | undefined, userId: string | undefined): string | undefined {
    const listed = this.workstations.find((workstation) => workstation.id === workstationId)?.name;
    return listed ?? (userId === undefined ? undefined : this.team.get(userId)?.workstation?.name);
  }

  /** What the patient's previous task was about: worth knowing before and while talking to them. */
  #renderLastTime() {
    const previous = this.task.previousSubjectId;
    return previous === undefined
      ? nothing
      : html`<p class="detail">Last time: ${subjectLabel(this.subjects, previous)}</p>`;
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
      case 'voicemail':
        return html`<p class="stage">Leaving a voicemail message</p>`;
      default:
        return html`<p class="stage">Incoming call</p>`;
    }
  }

  #renderAttempts() {
    const attempts = this.task.callbacks;
    if (attempts.length === 0) return nothing;
    return html`<ul class="attempts" aria-label="Callback attempts">
      ${attempts.map((attempt) => {
        const outcome = attempt.outcome === undefined ? 'in progress' : CALLBACK_OUTCOME_LABELS[attempt.outcome];
        return html`<li>${`Called back at ${formatClockTime(attempt.at)} by ${this.#name(attempt.userId)}: ${outcome}`}</li>`;
      })}
    </ul>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-task-stage': DlTaskStage;
  }
}
