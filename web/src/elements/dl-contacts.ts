import {
  API_ROUTES,
  CONTACT_NAME_MAX_LENGTH,
  CONTACT_NOTE_MAX_LENGTH,
  type Contact,
  type ContactImportResult,
  type Role,
} from '@deskline/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { apiClient, type ApiClient } from '../services/api-client.js';
import { errorMessage } from '../services/error-message.js';
import { formPanelStyles } from '../styles/panel-styles.js';
import { visuallyHiddenStyles } from '../styles/shared-styles.js';

/** The list shows this many rows at most; the search narrows it down. */
const ROWS_SHOWN = 200;

/**
 * The clinic's contacts (issue 16, item 5): names, and a note, for patients' numbers. Everyone
 * searches, adds and edits them; managers also delete them, import a CSV file (a preview first:
 * what it adds, changes, and each line it refuses; then all or nothing) and export them. Loads and
 * changes them through `api`.
 *
 * @fires contact-change - `CustomEvent<Contact>`, bubbles and composed: a contact was added or edited.
 * @fires contact-delete - `CustomEvent<string>` (the E.164 number), bubbles and composed.
 * @fires contacts-import - `Event`, bubbles and composed: an import changed many contacts at once.
 */
@customElement('dl-contacts')
export class DlContacts extends LitElement {
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
      .intro,
      .empty,
      .more {
        color: var(--dl-color-text-muted);
      }
      form.row {
        display: flex;
        flex-wrap: wrap;
        align-items: end;
        gap: 0.75rem;
      }
      form.row .field {
        flex: 1 1 10rem;
      }
      table {
        width: 100%;
        border-collapse: collapse;
      }
      th,
      td {
        text-align: left;
        padding: 0.375rem 0.5rem;
        border-top: 1px solid var(--dl-color-border);
        overflow-wrap: anywhere;
        vertical-align: top;
      }
      td.number {
        font-variant-numeric: tabular-nums;
        white-space: nowrap;
      }
      .buttons {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
      }
      ol.problems {
        margin: 0;
        padding-left: 1.25rem;
        max-height: 16rem;
        overflow: auto;
      }
    `,
  ];

  @property({ attribute: false }) api: ApiClient = apiClient;
  /** Managers also delete, import and export. */
  @property({ attribute: false }) userRole: Role = 'employee';

  @state() private contacts: Contact[] | undefined;
  @state() private search = '';
  /** The number being edited, or being asked to delete. */
  @state() private editing: string | undefined;
  @state() private deleting: string | undefined;
  /** What is being asked of the server. */
  @state() private pending = false;
  @state() private error = '';
  @state() private done = '';
  /** The CSV chosen for import and its preview. */
  @state() private importFile: File | undefined;
  @state() private preview: ContactImportResult | undefined;
  @state() private importError = '';

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#load();
  }

  async #load(): Promise<void> {
    try {
      this.contacts = await this.api.listContacts();
    } catch (error) {
      this.error = errorMessage(error);
    }
  }

  protected override render() {
    const manager = this.userRole === 'manager';
    return html`
      <section class="card" aria-labelledby="contacts-title">
        <h2 id="contacts-title">Contacts</h2>
        <p class="intro">
          Names for patients' numbers: calls and tasks from a number show its name. Numbers are kept in international
          form (+48…), whatever spelling they were given in.
        </p>
        <form class="row" aria-label="Add a contact" @submit=${this.#onAdd}>
          <div class="field">
            <label for="new-number">Number</label>
            <input id="new-number" name="number" required maxlength="64" autocomplete="off" inputmode="tel" />
          </div>
          <div class="field">
            <label for="new-name">Name</label>
            <input id="new-name" name="name" required maxlength=${CONTACT_NAME_MAX_LENGTH} autocomplete="off" />
          </div>
          <div class="field">
            <label for="new-note">Note</label>
            <input id="new-note" name="note" maxlength=${CONTACT_NOTE_MAX_LENGTH} autocomplete="off" />
          </div>
          <button class="primary" type="submit" ?disabled=${this.pending}>Add contact</button>
        </form>
        ${this.error === '' ? nothing : html`<p class="alert" role="alert">${this.error}</p>`}
        <p class=${this.done === '' ? '' : 'success'} role="status">${this.done}</p>
        ${manager ? this.#renderImport() : nothing} ${this.#renderList(manager)}
      </section>
    `;
  }

  #renderList(manager: boolean) {
    const contacts = this.contacts;
    if (contacts === undefined) return html`<p class="empty">Loading contacts…</p>`;
    const query = this.search.trim().toLowerCase();
    const digits = query.replace(/[^0-9]/g, '');
    const matching =
      query === ''
        ? contacts
        : contacts.filter(
            (c) =>
              c.name.toLowerCase().includes(query) ||
              c.note.toLowerCase().includes(query) ||
              (digits !== '' && c.number.includes(digits)),
          );
    const shown = matching.slice(0, ROWS_SHOWN);
    return html`
      <div class="field">
        <label for="contact-search">Search contacts</label>
        <input
          id="contact-search"
          type="search"
          autocomplete="off"
          .value=${this.search}
          @input=${(event: Event) => (this.search = (event.target as HTMLInputElement).value)}
        />
      </div>
      ${
        contacts.length === 0
          ? html`<p class="empty">No contacts yet.</p>`
          : html`<table aria-label="Contacts">
              <thead>
                <tr><th scope="col">Number</th><th scope="col">Name</th><th scope="col">Note</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr>
              </thead>
              <tbody>
                ${repeat(
                  shown,
                  (c) => c.number,
                  (c) => this.#renderRow(c, manager),
                )}
              </tbody>
            </table>
            ${
              matching.length > shown.length
                ? html`<p class="more">Showing ${shown.length} of ${matching.length}: search to find the others.</p>`
                : nothing
            }`
      }
    `;
  }

  #renderRow(contact: Contact, manager: boolean) {
    if (this.editing === contact.number) {
      return html`<tr>
        <td class="number">${contact.number}</td>
        <td colspan="3">
          <form class="row" aria-label=${`Edit ${contact.name}`} @submit=${(event: SubmitEvent) => this.#onEdit(event, contact)}>
            <div class="field">
              <label for="edit-name">Name</label>
              <input id="edit-name" name="name" required maxlength=${CONTACT_NAME_MAX_LENGTH} .value=${contact.name} />
            </div>
            <div class="field">
              <label for="edit-note">Note</label>
              <input id="edit-note" name="note" maxlength=${CONTACT_NOTE_MAX_LENGTH} .value=${contact.note} />
            </div>
            <button class="primary" type="submit" ?disabled=${this.pending}>Save</button>
            <button class="secondary" type="button" @click=${() => (this.editing = undefined)}>Cancel</button>
          </form>
        </td>
      </tr>`;
    }
    return html`<tr>
      <td class="number">${contact.number}</td>
      <td>${contact.name}</td>
      <td>${contact.note}</td>
      <td>
        <span class="buttons">
          ${
            this.deleting === contact.number
              ? html`<button class="primary" type="button" ?disabled=${this.pending} @click=${() => void this.#delete(contact)}>
                  Delete ${contact.name}
                </button>
                <button class="secondary" type="button" @click=${() => (this.deleting = undefined)}>Keep</button>`
              : html`<button class="secondary" type="button" aria-label=${`Edit ${contact.name}`} @click=${() => this.#startEdit(contact)}>
                  Edit
                </button>
                ${
                  manager
                    ? html`<button class="secondary" type="button" aria-label=${`Delete ${contact.name}`} @click=${() => (this.deleting = contact.number)}>
                        Delete
                      </button>`
                    : nothing
                }`
          }
        </span>
      </td>
    </tr>`;
  }

  #renderImport() {
    const preview = this.preview;
    return html`
      <h3>Import and export</h3>
      <p class="intro">
        A CSV file (UTF-8) with the columns number, name, note; a first line naming them is optional. The import is all
        or nothing: if any line is refused, nothing is stored.
      </p>
      <div class="buttons">
        <div class="field">
          <label for="import-file">CSV file to import</label>
          <input id="import-file" type="file" accept=".csv,text/csv" @change=${this.#onFile} />
        </div>
        <a class="secondary" href=${API_ROUTES.exportContacts.path} download="contacts.csv">Export CSV</a>
      </div>
      ${this.importError === '' ? nothing : html`<p class="alert" role="alert">${this.importError}</p>`}
      ${
        preview === undefined
          ? nothing
          : html`<section aria-label="Import preview">
              <p>
                ${preview.added} new, ${preview.updated} changed, ${preview.unchanged} unchanged${
                  preview.problems.length > 0
                    ? html`; <strong>${preview.problems.length} line(s) refused</strong>`
                    : nothing
                }.
              </p>
              ${
                preview.problems.length > 0
                  ? html`<ol class="problems" aria-label="Refused lines">
                      ${preview.problems.map((p) => html`<li>Line ${p.line}: ${p.message}</li>`)}
                    </ol>
                    <p>Fix these lines in the file and choose it again: nothing is imported while any line is refused.</p>`
                  : html`<table aria-label="First contacts of the file">
                      <tbody>
                        ${preview.sample.map((c) => html`<tr><td class="number">${c.number}</td><td>${c.name}</td><td>${c.note}</td></tr>`)}
                      </tbody>
                    </table>`
              }
              <div class="buttons">
                <button
                  class="primary"
                  type="button"
                  ?disabled=${this.pending || preview.problems.length > 0 || preview.added + preview.updated === 0}
                  @click=${() => void this.#import()}
                >
                  Import ${preview.added + preview.updated} contacts
                </button>
                <button class="secondary" type="button" @click=${this.#clearImport}>Cancel import</button>
              </div>
            </section>`
      }
    `;
  }

  #onFile = async (event: Event): Promise<void> => {
    const input = event.target as HTMLInputElement;
    const file = input.files?.[0];
    this.preview = undefined;
    this.importError = '';
    this.importFile = file;
    if (file === undefined) return;
    this.pending = true;
    try {
      this.preview = await this.api.previewContactImport({ body: file });
    } catch (error) {
      this.importError = errorMessage(error);
    } finally {
      this.pending = false;
    }
  };

  #clearImport = (): void => {
    this.preview = undefined;
    this.importFile = undefined;
    this.importError = '';
    const input = this.renderRoot.querySelector<HTMLInputElement>('#import-file');
    if (input) input.value = '';
  };

  async #import(): Promise<void> {
    const file = this.importFile;
    if (file === undefined) return;
    this.pending = true;
    try {
      const result = await this.api.importContacts({ body: file });
      this.#clearImport();
      this.done = `Imported: ${result.added} new, ${result.updated} changed.`;
      this.dispatchEvent(new Event('contacts-import', { bubbles: true, composed: true }));
      await this.#load();
    } catch (error) {
      this.importError = errorMessage(error);
    } finally {
      this.pending = false;
    }
  }

  async #startEdit(contact: Contact): Promise<void> {
    this.editing = contact.number;
    this.deleting = undefined;
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLInputElement>('#edit-name')?.select();
  }

  async #onAdd(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const contact = await this.#ask(() =>
      this.api.createContact({
        body: {
          number: String(data.get('number')),
          name: String(data.get('name')),
          note: String(data.get('note') ?? ''),
        },
      }),
    );
    if (contact === undefined) return;
    form.reset();
    this.done = `Added ${contact.name} (${contact.number}).`;
    this.#changed(contact);
  }

  async #onEdit(event: SubmitEvent, old: Contact): Promise<void> {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const contact = await this.#ask(() =>
      this.api.updateContact({
        params: { number: old.number },
        body: { name: String(data.get('name')), note: String(data.get('note') ?? '') },
      }),
    );
    if (contact === undefined) return;
    this.editing = undefined;
    this.done = `Saved ${contact.name}.`;
    this.#changed(contact);
  }

  async #delete(contact: Contact): Promise<void> {
    const ok = await this.#ask(async () => {
      await this.api.deleteContact({ params: { number: contact.number } });
      return true;
    });
    if (!ok) return;
    this.deleting = undefined;
    this.contacts = this.contacts?.filter((c) => c.number !== contact.number);
    this.done = `Deleted ${contact.name}.`;
    this.dispatchEvent(
      new CustomEvent<string>('contact-delete', { detail: contact.number, bubbles: true, composed: true }),
    );
  }

  #changed(contact: Contact): void {
    const others = (this.contacts ?? []).filter((c) => c.number !== contact.number);
    this.contacts = [...others, contact].sort(
      (a, b) => a.name.localeCompare(b.name) || a.number.localeCompare(b.number),
    );
    this.dispatchEvent(new CustomEvent<Contact>('contact-change', { detail: contact, bubbles: true, composed: true }));
  }

  /** Runs a change; its answer, or undefined after showing why it failed. */
  async #ask<T>(request: () => Promise<T>): Promise<T | undefined> {
    this.pending = true;
    this.error = '';
    this.done = '';
    try {
      return await request();
    } catch (error) {
      this.error = errorMessage(error);
      return undefined;
    } finally {
      this.pending = false;
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-contacts': DlContacts;
  }
}
