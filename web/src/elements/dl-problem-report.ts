import {
  PROBLEM_KINDS,
  PROBLEM_NOTE_MAX_LENGTH,
  type ProblemKind,
  type ReportProblemRequest,
} from '@deskline/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { alertStyles, controlStyles, primaryButtonStyles, secondaryButtonStyles } from '../styles/shared-styles.js';
import { taskFormStyles } from '../styles/task-form-styles.js';

const PROBLEM_LABELS: Record<ProblemKind, string> = {
  'bad-audio': 'Bad audio',
  echo: 'Echo',
  'call-dropped': 'Call dropped',
  other: 'Something else',
};

/**
 * The "Report a problem" form of a task: what went wrong (bad audio, echo, call dropped, something
 * else) and an optional note. The task card sends the report and says how it went.
 *
 * @fires problem-report - `CustomEvent<ReportProblemRequest>`: Send report.
 * @fires problem-cancel - `Event`: Cancel.
 */
@customElement('dl-problem-report')
export class DlProblemReport extends LitElement {
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

      form {
        display: grid;
        gap: 0.5rem;
        padding: 0.75rem;
        border: 1px solid var(--dl-color-border);
        border-radius: var(--dl-radius);
        background: var(--dl-color-page);
      }

      .actions {
        justify-content: flex-start;
      }
    `,
  ];

  /** The report is being sent: the button waits for the answer. */
  @property({ type: Boolean }) sending = false;

  /** Why the last report was not taken ('' when there is nothing to say). */
  @property() error = '';

  @state() private kind: ProblemKind = 'bad-audio';

  protected override render() {
    return html`<form aria-label="Report a problem" @submit=${this.#onSubmit}>
      <div class="field">
        <label for="problem">What went wrong</label>
        <select id="problem" @change=${(event: Event) => (this.kind = (event.target as HTMLSelectElement).value as ProblemKind)}>
          ${PROBLEM_KINDS.map((kind) => html`<option value=${kind} ?selected=${kind === this.kind}>${PROBLEM_LABELS[kind]}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="note">Note (optional)</label>
        <textarea id="note" name="note" rows="2" maxlength=${PROBLEM_NOTE_MAX_LENGTH}></textarea>
      </div>
      ${this.error === '' ? nothing : html`<p class="alert" role="alert">${this.error}</p>`}
      <div class="actions">
        <button class="primary" type="submit" ?disabled=${this.sending}>${this.sending ? 'Sending…' : 'Send report'}</button>
        <button class="secondary" type="button" @click=${() => this.dispatchEvent(new Event('problem-cancel'))}>Cancel</button>
      </div>
    </form>`;
  }

  #onSubmit(event: SubmitEvent): void {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const note = (form.elements.namedItem('note') as HTMLTextAreaElement).value.trim();
    this.dispatchEvent(
      new CustomEvent<ReportProblemRequest>('problem-report', {
        detail: { kind: this.kind, ...(note === '' ? {} : { note }) },
      }),
    );
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-problem-report': DlProblemReport;
  }
}
