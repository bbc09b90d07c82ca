import { SUBJECT_NAME_MAX_LENGTH, type Subject } from '@deskline/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { apiClient, type ApiClient } from '../services/api-client.js';
import { errorMessage } from '../services/error-message.js';
import { formPanelStyles } from '../styles/panel-styles.js';

/**
 * The managers' list of subjects (what calls are about): add one, rename one (its tasks follow the new
 * name), retire one (no longer offered, still shown on the tasks that have it) and restore it. The
 * list comes live from the panel (the pushed `subject` events); each change is asked of the server
 * through `api`, and its answer is passed on at once as `subject-change`.
 *
 * @fires subject-change - `CustomEvent<Subject>`, bubbles and composed: the server answered a change
 *   with the subject's new version.
 */
@customElement('dl-subjects-admin')
export class DlSubjectsAdmin extends LitElement {
  static override styles = [
    ...formPanelStyles,
    css`
      h3 {
        margin: 0;
        font-size: 1rem;
      }

      p {
        margin: 0;
      }

      .intro {
        color: var(--dl-color-text-muted);
      }

      form.add {
        display: flex;
        flex-wrap: wrap;
        align-items: end;
        gap: 0.75rem;
      }

      form.add .field {
        flex: 1 1 16rem;
      }

      ul {
        display: grid;
        margin: 0;
        padding: 0;
        list-style: none;
      }

      li {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        justify-content: space-between;
        gap: 0.5rem 1rem;
        padding: 0.5rem 0;
        border-top: 1px solid var(--dl-color-border);
      }

      li form {
        display: flex;
        flex: 1 1 auto;
        flex-wrap: wrap;
        gap: 0.5rem;
      }

      li input {
        flex: 1 1 12rem;
      }

      .name {
        font-weight: 600;
        overflow-wrap: anywhere;
      }

      .retired .name {
        color: var(--dl-color-text-muted);
      }

      .buttons {
        display: flex;
        gap: 0.5rem;
      }

      .empty {
        color: var(--dl-color-text-muted);
      }
    `,
  ];

  /** Every subject, retired ones included, by id. */
  @property({ attribute: false }) subjects: ReadonlyMap<string, Subject> = new Map();

  @property({ attribute: false }) api: ApiClient = apiClient;

  /** The subject being renamed. */
  @state() private editing: string | undefined;
  /** What is being asked of the server ('add' or a subject's id). */
  @state() private pending: string | undefined;
  @state() private error = '';
  @state() private done = '';

  protected override render() {
    const all = [...this.subjects.values()];
    const active = all.filter((subject) => !subject.retired);
    const retired = all.filter((subject) => subject.retired);
    return html`
      <section class="card" aria-labelledby="subjects-title">
        <h2 id="subjects-title">Subjects</h2>
        <p class="intro">
          What calls are about. Whoever handles a call chooses one before the task is closed. A retired subject is no
          longer offered, but the tasks that have it keep showing it.
        </p>
        <form class="add" @submit=${this.#onAdd}>
          <div class="field">
            <label for="new-subject">New subject</label>
            <input id="new-subject" name="name" required maxlength=${SUBJECT_NAME_MAX_LENGTH} autocomplete="off" />
          </div>
          <button class="primary" type="submit" ?disabled=${this.pending === 'add'}>Add subject</button>
        </form>
        ${this.error === '' ? nothing : html`<p class="alert" role="alert">${this.error}</p>`}
        <p class=${this.done === '' ? '' : 'success'} role="status">${this.done}</p>
        <h3 id="active-subjects">In use</h3>
        ${
          active.length === 0
            ? html`<p class="empty">No subjects in use. Add one, or restore a retired one.</p>`
            : html`<ul aria-labelledby="active-subjects">${repeat(
                active,
                (s) => s.id,
                (s) => this.#renderSubject(s),
              )}</ul>`
        }
        ${
          retired.length === 0
            ? nothing
            : html`<h3 id="retired-subjects">Retired</h3>
              <ul aria-labelledby="retired-subjects">${repeat(
                retired,
                (s) => s.id,
                (s) => this.#renderSubject(s),
              )}</ul>`
        }
      </section>
    `;
  }

  #renderSubject(subject: Subject) {
    const busy = this.pending === subject.id;
    if (this.editing === subject.id) {
      return html`<li aria-label=${subject.name}>
        <form @submit=${(event: SubmitEvent) => this.#onRename(event, subject)}>
          <input
            name="name"
            aria-label=${`New name for ${subject.name}`}
            required
            maxlength=${SUBJECT_NAME_MAX_LENGTH}
            autocomplete="off"
            .value=${subject.name}
          />
          <button class="primary" type="submit" ?disabled=${busy}>Save</button>
          <button class="secondary" type="button" @click=${() => (this.editing = undefined)}>Cancel</button>
        </form>
      </li>`;
    }
    return html`<li class=${subject.retired ? 'retired' : ''} aria-label=${subject.name}>
      <span class="name">${subject.name}</span>
      <span class="buttons">
        ${
          subject.retired
            ? html`<button class="secondary" type="button" aria-label=${`Restore ${subject.name}`} ?disabled=${busy} @click=${() => void this.#change(subject, 'restore')}>
              Restore
            </button>`
            : html`<button class="secondary" type="button" aria-label=${`Rename ${subject.name}`} @click=${() => this.#startRename(subject)}>Rename</button>
              <button class="secondary" type="button" aria-label=${`Retire ${subject.name}`} ?disabled=${busy} @click=${() => void this.#change(subject, 'retire')}>
                Retire
              </button>`
        }
      </span>
    </li>`;
  }

  async #startRename(subject: Subject): Promise<void> {
    this.editing = subject.id;
    this.error = '';
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLInputElement>('li form input')?.select();
  }

  async #onAdd(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const input = form.elements.namedItem('name') as HTMLInputElement;
    const ok = await this.#ask(
      'add',
      () => this.api.createSubject({ body: { name: input.value } }),
      (subject) => `Added “${subject.name}”.`,
    );
    if (ok) form.reset();
  }

  async #onRename(event: SubmitEvent, subject: Subject): Promise<void> {
    event.preventDefault();
    const input = (event.target as HTMLFormElement).elements.namedItem('name') as HTMLInputElement;
    if (input.value.trim() === subject.name) {
      this.editing = undefined;
      return;
    }
    const ok = await this.#ask(
      subject.id,
      () => this.api.renameSubject({ params: { id: subject.id }, body: { name: input.value } }),
      (renamed) => `Renamed “${subject.name}” to “${renamed.name}”.`,
    );
    if (ok) this.editing = undefined;
  }

  #change(subject: Subject, action: 'retire' | 'restore'): Promise<boolean> {
    return action === 'retire'
      ? this.#ask(
          subject.id,
          () => this.api.retireSubject({ params: { id: subject.id } }),
          () => `Retired “${subject.name}”.`,
        )
      : this.#ask(
          subject.id,
          () => this.api.restoreSubject({ params: { id: subject.id } }),
          () => `Restored “${subject.name}”.`,
        );
  }

  async #ask(pending: string, request: () => Promise<Subject>, done: (subject: Subject) => string): Promise<boolean> {
    this.pending = pending;
    this.error = '';
    this.done = '';
    try {
      const subject = await request();
      this.done = done(subject);
      this.dispatchEvent(
        new CustomEvent<Subject>('subject-change', { detail: subject, bubbles: true, composed: true }),
      );
      return true;
    } catch (error) {
      this.error = errorMessage(error);
      return false;
    } finally {
      this.pending = undefined;
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-subjects-admin': DlSubjectsAdmin;
  }
}
