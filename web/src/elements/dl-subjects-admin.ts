import {
  SUBJECT_CATEGORIES,
  SUBJECT_CATEGORY_NAMES,
  SUBJECT_NAME_MAX_LENGTH,
  compareSubjects,
  type Subject,
  type SubjectCategory,
} from '@deskline/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { apiClient, type ApiClient } from '../services/api-client.js';
import { errorMessage } from '../services/error-message.js';
import { formPanelStyles } from '../styles/panel-styles.js';
import { visuallyHiddenStyles } from '../styles/shared-styles.js';

/**
 * The managers' list of subjects (what calls are about), under the three fixed categories (issue 16):
 * add one to a category, rename one (its tasks follow the new name), move it to another category,
 * put a category's subjects in order (by dragging, with the Move up / Move down buttons, or with
 * Alt+Arrow Up / Down on a subject; each move is announced), retire one (no longer offered, still
 * shown on the tasks that have it) and restore it. The list comes live from the panel (the pushed
 * `subject` events); each change is asked of the server through `api`, and its answer is passed on at
 * once as `subject-change`, one event per subject changed.
 *
 * @fires subject-change - `CustomEvent<Subject>`, bubbles and composed: the server answered a change
 *   with the subject's new version.
 */
@customElement('dl-subjects-admin')
export class DlSubjectsAdmin extends LitElement {
  static override styles = [
    ...formPanelStyles,
    visuallyHiddenStyles,
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

      select {
        min-height: var(--dl-target-size);
        box-sizing: border-box;
        padding: 0.5rem 0.75rem;
        border: 1px solid var(--dl-color-field-border);
        border-radius: var(--dl-radius);
        background: var(--dl-color-surface);
        font: inherit;
        color: inherit;
      }

      form.add .field:has(select) {
        flex: 0 1 12rem;
      }

      li[draggable='true'] {
        cursor: grab;
      }

      li.drop-before {
        box-shadow: inset 0 3px 0 var(--dl-color-primary);
      }

      li.drop-after {
        box-shadow: inset 0 -3px 0 var(--dl-color-primary);
      }

      li:focus-visible {
        outline: 2px solid var(--dl-color-primary);
        outline-offset: 2px;
      }

      .handle {
        color: var(--dl-color-text-muted);
        user-select: none;
      }

      .category {
        color: var(--dl-color-text-muted);
        font-size: 0.875rem;
      }

      section.group {
        display: grid;
        gap: 0.25rem;
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
  /** Said to screen readers after a subject moved (an aria-live region). */
  @state() private moved = '';
  /** The subject being dragged, and where it would land. */
  @state() private dragging: string | undefined;
  @state() private dropAt: { id: string; after: boolean } | undefined;

  protected override render() {
    const all = [...this.subjects.values()].sort(compareSubjects);
    const retired = all.filter((subject) => subject.retired);
    return html`
      <section class="card" aria-labelledby="subjects-title">
        <h2 id="subjects-title">Subjects</h2>
        <p class="intro">
          What calls are about, under three categories that the statistics count by. Whoever handles a call chooses a
          subject before the task is closed, from the list in the order below. Drag a subject, use its Move buttons, or
          press Alt+Arrow Up or Down on it to change the order. A retired subject is no longer offered, but the tasks
          that have it keep showing it.
        </p>
        <form class="add" @submit=${this.#onAdd}>
          <div class="field">
            <label for="new-subject">New subject</label>
            <input id="new-subject" name="name" required maxlength=${SUBJECT_NAME_MAX_LENGTH} autocomplete="off" />
          </div>
          <div class="field">
            <label for="new-subject-category">Category</label>
            <select id="new-subject-category" name="category">
              ${SUBJECT_CATEGORIES.map((c) => html`<option value=${c}>${SUBJECT_CATEGORY_NAMES[c]}</option>`)}
            </select>
          </div>
          <button class="primary" type="submit" ?disabled=${this.pending === 'add'}>Add subject</button>
        </form>
        ${this.error === '' ? nothing : html`<p class="alert" role="alert">${this.error}</p>`}
        <p class=${this.done === '' ? '' : 'success'} role="status">${this.done}</p>
        <p class="visually-hidden" aria-live="assertive">${this.moved}</p>
        ${SUBJECT_CATEGORIES.map((category) => this.#renderCategory(category, all))}
        ${
          retired.length === 0
            ? nothing
            : html`<h3 id="retired-subjects">Retired</h3>
              <ul aria-labelledby="retired-subjects">${repeat(
                retired,
                (s) => s.id,
                (s) => this.#renderSubject(s, []),
              )}</ul>`
        }
      </section>
    `;
  }

  #renderCategory(category: SubjectCategory, all: readonly Subject[]) {
    const active = all.filter((subject) => subject.category === category && !subject.retired);
    const title = `category-${category}`;
    return html`<section class="group" aria-labelledby=${title}>
      <h3 id=${title}>${SUBJECT_CATEGORY_NAMES[category]}</h3>
      ${
        active.length === 0
          ? html`<p class="empty">No subjects in use here. Add one, or restore a retired one.</p>`
          : html`<ul aria-labelledby=${title}>${repeat(
              active,
              (s) => s.id,
              (s) => this.#renderSubject(s, active),
            )}</ul>`
      }
    </section>`;
  }

  /** A subject's row; `siblings` are the subjects in use of its category, in order ([] for a retired one). */
  #renderSubject(subject: Subject, siblings: readonly Subject[]) {
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
    if (subject.retired) {
      return html`<li class="retired" aria-label=${subject.name}>
        <span class="name">${subject.name}</span>
        <span class="category">${SUBJECT_CATEGORY_NAMES[subject.category]}</span>
        <span class="buttons">
          <button class="secondary" type="button" aria-label=${`Restore ${subject.name}`} ?disabled=${busy} @click=${() => void this.#change(subject, 'restore')}>
            Restore
          </button>
        </span>
      </li>`;
    }
    const place = siblings.findIndex((s) => s.id === subject.id);
    const drop = this.dropAt?.id === subject.id ? (this.dropAt.after ? 'drop-after' : 'drop-before') : '';
    return html`<li
      class=${drop}
      data-id=${subject.id}
      tabindex="0"
      draggable="true"
      aria-label=${subject.name}
      aria-description=${`Place ${place + 1} of ${siblings.length} in ${SUBJECT_CATEGORY_NAMES[subject.category]}. Alt+Arrow Up or Down moves it.`}
      @keydown=${(event: KeyboardEvent) => this.#onKeydown(event, subject, siblings)}
      @dragstart=${(event: DragEvent) => this.#onDragStart(event, subject)}
      @dragover=${(event: DragEvent) => this.#onDragOver(event, subject)}
      @dragleave=${() => (this.dropAt = undefined)}
      @drop=${(event: DragEvent) => this.#onDrop(event, subject, siblings)}
      @dragend=${() => this.#endDrag()}
    >
      <span class="name"><span class="handle" aria-hidden="true">⠿ </span>${subject.name}</span>
      <span class="buttons">
        <button class="secondary" type="button" aria-label=${`Move ${subject.name} up`} ?disabled=${busy || place === 0} @click=${() => void this.#move(subject, siblings, place - 1)}>
          Move up
        </button>
        <button class="secondary" type="button" aria-label=${`Move ${subject.name} down`} ?disabled=${busy || place === siblings.length - 1} @click=${() => void this.#move(subject, siblings, place + 1)}>
          Move down
        </button>
        <select aria-label=${`Category of ${subject.name}`} ?disabled=${busy} @change=${(event: Event) => void this.#onCategory(event, subject)}>
          ${SUBJECT_CATEGORIES.map(
            (c) => html`<option value=${c} ?selected=${c === subject.category}>${SUBJECT_CATEGORY_NAMES[c]}</option>`,
          )}
        </select>
        <button class="secondary" type="button" aria-label=${`Rename ${subject.name}`} @click=${() => this.#startRename(subject)}>Rename</button>
        <button class="secondary" type="button" aria-label=${`Retire ${subject.name}`} ?disabled=${busy} @click=${() => void this.#change(subject, 'retire')}>
          Retire
        </button>
      </span>
    </li>`;
  }

  #onKeydown(event: KeyboardEvent, subject: Subject, siblings: readonly Subject[]): void {
    if (!event.altKey || (event.key !== 'ArrowUp' && event.key !== 'ArrowDown')) return;
    event.preventDefault();
    const place = siblings.findIndex((s) => s.id === subject.id);
    const to = place + (event.key === 'ArrowUp' ? -1 : 1);
    if (to < 0 || to >= siblings.length) return;
    void this.#move(subject, siblings, to);
  }

  #onDragStart(event: DragEvent, subject: Subject): void {
    this.dragging = subject.id;
    event.dataTransfer?.setData('text/plain', subject.name);
    if (event.dataTransfer) event.dataTransfer.effectAllowed = 'move';
  }

  /** A subject may be dropped only among its own category's. */
  #onDragOver(event: DragEvent, over: Subject): void {
    const dragged = this.dragging === undefined ? undefined : this.subjects.get(this.dragging);
    if (!dragged || dragged.category !== over.category) return;
    event.preventDefault();
    const box = (event.currentTarget as HTMLElement).getBoundingClientRect();
    const after = event.clientY > box.top + box.height / 2;
    if (this.dropAt?.id !== over.id || this.dropAt.after !== after) this.dropAt = { id: over.id, after };
  }

  #onDrop(event: DragEvent, over: Subject, siblings: readonly Subject[]): void {
    event.preventDefault();
    const dragged = this.dragging === undefined ? undefined : this.subjects.get(this.dragging);
    const after = this.dropAt?.id === over.id && this.dropAt.after;
    this.#endDrag();
    if (!dragged || dragged.id === over.id || dragged.category !== over.category) return;
    const others = siblings.filter((s) => s.id !== dragged.id);
    const to = others.findIndex((s) => s.id === over.id) + (after ? 1 : 0);
    void this.#move(dragged, siblings, to);
  }

  #endDrag(): void {
    this.dragging = undefined;
    this.dropAt = undefined;
  }

  /** Puts `subject` at place `to` (0-based) among `siblings`, its category's subjects in use. */
  async #move(subject: Subject, siblings: readonly Subject[], to: number): Promise<void> {
    const ids = siblings.map((s) => s.id).filter((id) => id !== subject.id);
    ids.splice(to, 0, subject.id);
    if (ids.every((id, i) => id === siblings[i]?.id)) return;
    const name = SUBJECT_CATEGORY_NAMES[subject.category];
    this.pending = subject.id;
    this.error = '';
    this.done = '';
    this.moved = '';
    try {
      const subjects = await this.api.reorderSubjects({ body: { category: subject.category, ids } });
      for (const changed of subjects) {
        this.dispatchEvent(
          new CustomEvent<Subject>('subject-change', { detail: changed, bubbles: true, composed: true }),
        );
      }
      this.moved = `Moved “${subject.name}” to place ${to + 1} of ${ids.length} in ${name}.`;
    } catch (error) {
      this.error = errorMessage(error);
    } finally {
      this.pending = undefined;
    }
    // The row was moved in the page: keep the keyboard on it.
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>(`li[data-id="${CSS.escape(subject.id)}"]`)?.focus();
  }

  async #onCategory(event: Event, subject: Subject): Promise<void> {
    const select = event.target as HTMLSelectElement;
    const category = select.value as SubjectCategory;
    const ok = await this.#ask(
      subject.id,
      () => this.api.renameSubject({ params: { id: subject.id }, body: { category } }),
      (moved) => `Moved “${moved.name}” to ${SUBJECT_CATEGORY_NAMES[moved.category]}.`,
    );
    if (!ok) select.value = subject.category;
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
    const category = (form.elements.namedItem('category') as HTMLSelectElement).value as SubjectCategory;
    const ok = await this.#ask(
      'add',
      () => this.api.createSubject({ body: { name: input.value, category } }),
      (subject) => `Added “${subject.name}” to ${SUBJECT_CATEGORY_NAMES[subject.category]}.`,
    );
    if (ok) input.value = '';
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
