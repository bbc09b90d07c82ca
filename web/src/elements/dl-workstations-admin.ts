import {
  WORKSTATION_KINDS,
  type CreatedWorkstation,
  type WorkstationKind,
  type WorkstationListItem,
} from '@deskline/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { AdminRequest } from '../services/admin-request.js';
import { PollController } from '../controllers/poll-controller.js';
import { apiClient, type ApiClient } from '../services/api-client.js';
import { formPanelStyles } from '../styles/panel-styles.js';
import { visuallyHiddenStyles } from '../styles/shared-styles.js';

/** How often the list is read again, so that a desk phone's registration shows without a reload. */
const REFRESH_MS = 5_000;

const KIND_LABELS: Readonly<Record<WorkstationKind, string>> = {
  browser: 'Browser workstation',
  'sip-phone': 'Desk phone',
};

function lastSeen(item: WorkstationListItem): string {
  if (item.lastSeenAt === undefined) return 'never';
  return new Date(item.lastSeenAt).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

/**
 * The managers' list of workstations: add a browser workstation or a desk phone, rename one, reset a
 * desk phone's SIP password, remove one; and see each one's registration with Kamailio (registered
 * now, when it last registered, its user agent) and who is on it. A desk phone's SIP password is shown
 * once, right after it was made, until the manager dismisses it: the server keeps only its digest.
 */
@customElement('dl-workstations-admin')
export class DlWorkstationsAdmin extends LitElement {
  static override styles = [
    ...formPanelStyles,
    visuallyHiddenStyles,
    css`
      p {
        margin: 0;
      }

      .intro,
      .muted {
        color: var(--dl-color-text-muted);
      }

      form.add {
        display: flex;
        flex-wrap: wrap;
        align-items: end;
        gap: 0.75rem;
      }

      form.add .field {
        flex: 1 1 12rem;
      }

      .secret {
        display: grid;
        gap: 0.5rem;
        padding: 0.75rem 1rem;
        border: 2px solid var(--dl-color-border);
        border-radius: 0.5rem;
      }

      .secret dl {
        display: grid;
        grid-template-columns: max-content 1fr;
        gap: 0.25rem 1rem;
        margin: 0;
      }

      .secret dd {
        margin: 0;
        font-family: ui-monospace, monospace;
        overflow-wrap: anywhere;
      }

      .table-wrap {
        overflow-x: auto;
      }

      table {
        width: 100%;
        border-collapse: collapse;
      }

      th,
      td {
        padding: 0.5rem;
        border-top: 1px solid var(--dl-color-border);
        text-align: left;
        vertical-align: top;
      }

      .buttons {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
      }

      td .buttons {
        flex-direction: column;
        align-items: stretch;
      }

      .kind {
        font-weight: normal;
        color: var(--dl-color-text-muted);
      }

      td .buttons button {
        padding-inline: 0.75rem;
      }

      td form {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
      }
    `,
  ];

  @property({ attribute: false }) api: ApiClient = apiClient;

  @state() private workstations: readonly WorkstationListItem[] = [];
  @state() private loaded = false;
  @state() private kind: WorkstationKind = 'browser';
  /** A desk phone's SIP account, until the manager dismisses it. */
  @state() private secret: (CreatedWorkstation & { sipPassword: string }) | undefined;
  @state() private editing: string | undefined;
  @state() private confirmingRemove: string | undefined;
  readonly #request = new AdminRequest(this);

  constructor() {
    super();
    new PollController(this, REFRESH_MS, () => this.#refresh());
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#refresh();
  }

  protected override render() {
    return html`
      <section class="card" aria-labelledby="workstations-title">
        <h2 id="workstations-title">Workstations</h2>
        <p class="intro">
          Where calls ring: a browser workstation (a desk whose browser rings) or a desk phone (a SIP phone that
          registers with its own SIP user and password). Staff pick one to take calls.
        </p>
        <form class="add" @submit=${this.#onAdd}>
          <div class="field">
            <label for="new-workstation">Name</label>
            <input id="new-workstation" name="name" required maxlength="60" autocomplete="off" />
          </div>
          <div class="field">
            <label for="new-kind">Kind</label>
            <select id="new-kind" name="kind" @change=${this.#onKind}>
              ${WORKSTATION_KINDS.map((kind) => html`<option value=${kind} ?selected=${kind === this.kind}>${KIND_LABELS[kind]}</option>`)}
            </select>
          </div>
          ${
            this.kind === 'sip-phone'
              ? html`<div class="field">
                <label for="new-sip-user">SIP user (optional, e.g. 201)</label>
                <input id="new-sip-user" name="sipUser" maxlength="64" autocomplete="off" />
              </div>`
              : nothing
          }
          <button class="primary" type="submit" ?disabled=${this.#request.pending === 'add'}>Add workstation</button>
        </form>
        ${this.#request.error === '' ? nothing : html`<p class="alert" role="alert">${this.#request.error}</p>`}
        <p class=${this.#request.done === '' ? '' : 'success'} role="status">${this.#request.done}</p>
        ${this.#renderSecret()}
        ${
          !this.loaded
            ? html`<p class="muted">Loading…</p>`
            : this.workstations.length === 0
              ? html`<p class="muted">No workstations yet. Add one above.</p>`
              : html`<div class="table-wrap">
                <table aria-labelledby="workstations-title">
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Registration</th>
                      <th scope="col">Last seen</th>
                      <th scope="col">User agent</th>
                      <th scope="col">In use by</th>
                      <th scope="col"><span class="visually-hidden">Actions</span></th>
                    </tr>
                  </thead>
                  <tbody>
                    ${repeat(
                      this.workstations,
                      (ws) => ws.id,
                      (ws) => this.#renderRow(ws),
                    )}
                  </tbody>
                </table>
              </div>`
        }
      </section>
    `;
  }

  #renderSecret() {
    const secret = this.secret;
    if (secret === undefined) return nothing;
    return html`<div class="secret" role="region" aria-label=${`SIP account of ${secret.name}`}>
      <p><strong>Set up ${secret.name} with this account now.</strong> The password is shown only once.</p>
      <dl>
        <dt>SIP user</dt>
        <dd>${secret.sipUser}</dd>
        <dt>SIP password</dt>
        <dd>${secret.sipPassword}</dd>
      </dl>
      <p class="buttons">
        <button class="secondary" type="button" @click=${() => (this.secret = undefined)}>Done, hide the password</button>
      </p>
    </div>`;
  }

  #renderRow(ws: WorkstationListItem) {
    const busy = this.#request.pending === ws.id;
    const name =
      this.editing === ws.id
        ? html`<form @submit=${(event: SubmitEvent) => this.#onRename(event, ws)}>
          <input name="name" aria-label=${`New name for ${ws.name}`} required maxlength="60" autocomplete="off" .value=${ws.name} />
          <button class="primary" type="submit" ?disabled=${busy}>Save</button>
          <button class="secondary" type="button" @click=${() => (this.editing = undefined)}>Cancel</button>
        </form>`
        : ws.name;
    const actions =
      this.confirmingRemove === ws.id
        ? html`<span>Remove ${ws.name}?${ws.holder === undefined ? '' : ` ${ws.holder.displayName} is taken off it.`}</span>
          <button class="primary" type="button" ?disabled=${busy} @click=${() => void this.#remove(ws)}>Remove</button>
          <button class="secondary" type="button" @click=${() => (this.confirmingRemove = undefined)}>Keep</button>`
        : html`<button class="secondary" type="button" aria-label=${`Rename ${ws.name}`} @click=${() => this.#startRename(ws)}>Rename</button>
          ${
            ws.kind === 'sip-phone'
              ? html`<button class="secondary" type="button" aria-label=${`New SIP password for ${ws.name}`} ?disabled=${busy} @click=${() => void this.#resetPassword(ws)}>
                New SIP password
              </button>`
              : nothing
          }
          <button class="secondary" type="button" aria-label=${`Remove ${ws.name}`} @click=${() => (this.confirmingRemove = ws.id)}>Remove</button>`;
    return html`<tr aria-label=${ws.name}>
      <th scope="row">
        ${name}
        <div class="kind">${ws.kind === 'sip-phone' ? `${KIND_LABELS[ws.kind]}, SIP user ${ws.sipUser ?? '(none)'}` : KIND_LABELS[ws.kind]}</div>
      </th>
      <td>${ws.registered ? 'Registered' : 'Not registered'}</td>
      <td>${lastSeen(ws)}</td>
      <td>${ws.userAgent || html`<span class="muted">—</span>`}</td>
      <td>${ws.holder?.displayName ?? html`<span class="muted">nobody</span>`}</td>
      <td><span class="buttons">${actions}</span></td>
    </tr>`;
  }

  #onKind(event: Event): void {
    this.kind = (event.target as HTMLSelectElement).value as WorkstationKind;
  }

  async #refresh(): Promise<void> {
    try {
      this.workstations = await this.api.listWorkstations();
      this.loaded = true;
    } catch (error) {
      this.#request.fail(error);
    }
  }

  async #startRename(ws: WorkstationListItem): Promise<void> {
    this.editing = ws.id;
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLInputElement>('td form input, th form input')?.select();
  }

  async #onAdd(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const field = (name: string) => (form.elements.namedItem(name) as HTMLInputElement | null)?.value.trim() ?? '';
    const sipUser = this.kind === 'sip-phone' ? field('sipUser') : '';
    const kind = this.kind;
    const ok = await this.#ask('add', async () => {
      const created = await this.api.createWorkstation({
        body: { name: field('name'), kind, ...(sipUser === '' ? {} : { sipUser }) },
      });
      this.#showSecret(created);
      return `Added “${created.name}”.`;
    });
    if (ok) {
      form.reset();
      this.kind = 'browser';
    }
  }

  async #onRename(event: SubmitEvent, ws: WorkstationListItem): Promise<void> {
    event.preventDefault();
    const input = (event.target as HTMLFormElement).elements.namedItem('name') as HTMLInputElement;
    if (input.value.trim() === ws.name) {
      this.editing = undefined;
      return;
    }
    const ok = await this.#ask(ws.id, async () => {
      const renamed = await this.api.renameWorkstation({ params: { id: ws.id }, body: { name: input.value } });
      return `Renamed “${ws.name}” to “${renamed.name}”.`;
    });
    if (ok) this.editing = undefined;
  }

  #resetPassword(ws: WorkstationListItem): Promise<boolean> {
    return this.#ask(ws.id, async () => {
      this.#showSecret(await this.api.resetWorkstationSipPassword({ params: { id: ws.id } }));
      return `New SIP password for “${ws.name}”: the old one no longer works.`;
    });
  }

  #remove(ws: WorkstationListItem): Promise<boolean> {
    return this.#ask(ws.id, async () => {
      await this.api.removeWorkstation({ params: { id: ws.id } });
      this.confirmingRemove = undefined;
      if (this.secret?.id === ws.id) this.secret = undefined;
      return `Removed “${ws.name}”.`;
    });
  }

  #showSecret(workstation: CreatedWorkstation): void {
    const { sipPassword } = workstation;
    this.secret = sipPassword === undefined ? undefined : { ...workstation, sipPassword };
  }

  /** Asks the server for a change, then reads the list again (registration and holders included). */
  #ask(pending: string, request: () => Promise<string>): Promise<boolean> {
    return this.#request.run(pending, async () => {
      const done = await request();
      // The list first, so that what the status says is already on the screen.
      await this.#refresh();
      return done;
    });
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-workstations-admin': DlWorkstationsAdmin;
  }
}
