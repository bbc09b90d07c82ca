import {
  DISPLAY_NAME_MAX_LENGTH,
  isRole,
  setupLinkPath,
  type CredentialSetup,
  type IssuedCredentials,
  type PublicUser,
  type TeamMember,
} from '@deskline/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { formatClockTime } from '../format.js';
import { apiClient, type ApiClient } from '../services/api-client.js';
import { errorMessage } from '../services/error-message.js';
import { formPanelStyles } from '../styles/panel-styles.js';

/** A setup link or generated password to hand to a user, shown once. */
interface Handout {
  name: string;
  issued: IssuedCredentials;
}

const STATE_WORDS: Record<TeamMember['state'], string> = {
  offline: 'not taking calls',
  available: 'available',
  ringing: 'ringing',
  'on-call': 'on a call',
  paused: 'paused',
};

/** Who is logged in, and where: what the Staff list says of a user. */
function whereabouts(user: PublicUser, member: TeamMember | undefined): string {
  if (user.disabled) return 'Disabled';
  const online = member?.online ?? false;
  if (member?.workstation === undefined) return online ? 'Logged in, no workstation' : 'Not logged in';
  return `${online ? 'Logged in' : 'App closed'}, on ${member.workstation.name} (${STATE_WORDS[member.state]})`;
}

/**
 * The managers' Staff view (docs/managers.md, "Staff"): add a user, with a one-time setup link or a
 * generated password shown once; change a role; disable or enable; reset a password (a new link or
 * password; the user's sessions end); see who is logged in and on which workstation (live, from the
 * pushed team), and take someone off their workstation. The users are read through `api` and read
 * again after each change; every refusal shows the server's message.
 */
@customElement('dl-staff-admin')
export class DlStaffAdmin extends LitElement {
  static override styles = [
    ...formPanelStyles,
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

      fieldset {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem 1rem;
        margin: 0;
        padding: 0.25rem 0.5rem;
        border: 1px solid var(--dl-color-border);
        border-radius: var(--dl-radius);
      }

      legend {
        font-weight: 600;
      }

      fieldset label {
        font-weight: normal;
      }

      select {
        min-height: var(--dl-target-size);
        padding: 0.25rem 0.5rem;
      }

      .handout {
        display: grid;
        gap: 0.5rem;
        padding: 0.75rem 1rem;
        border: 1px solid var(--dl-color-border);
        border-radius: var(--dl-radius);
      }

      .handout input {
        width: 100%;
        font-family: monospace;
      }

      ul {
        display: grid;
        margin: 0;
        padding: 0;
        list-style: none;
      }

      li {
        display: grid;
        gap: 0.375rem;
        padding: 0.75rem 0;
        border-top: 1px solid var(--dl-color-border);
      }

      .who {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem 1rem;
        align-items: baseline;
      }

      .name {
        font-weight: 600;
      }

      .disabled .name {
        color: var(--dl-color-text-muted);
      }

      .buttons {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
        align-items: center;
      }
    `,
  ];

  @property({ attribute: false }) api: ApiClient = apiClient;

  /** The team as pushed to the panel: who has the app open and on which workstation. */
  @property({ attribute: false }) team: readonly TeamMember[] = [];

  @state() private users: readonly PublicUser[] = [];
  /** What is being asked of the server ('add' or a user's id). */
  @state() private pending: string | undefined;
  @state() private error = '';
  @state() private done = '';
  @state() private handout: Handout | undefined;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#load();
  }

  protected override render() {
    const members = new Map(this.team.map((member) => [member.userId, member]));
    return html`
      <section class="card" aria-labelledby="staff-title">
        <h2 id="staff-title">Staff</h2>
        <p class="intro">
          Who may log in, as a manager or an employee. A new user gets a one-time setup link (valid for 72 hours) to
          choose their own password, or a generated password; either is shown here once.
        </p>
        <form class="add" @submit=${this.#onAdd}>
          <div class="field">
            <label for="new-email">Email</label>
            <input id="new-email" name="email" type="email" required autocomplete="off" />
          </div>
          <div class="field">
            <label for="new-name">Name</label>
            <input id="new-name" name="displayName" required maxlength=${DISPLAY_NAME_MAX_LENGTH} autocomplete="off" />
          </div>
          <div class="field">
            <label for="new-role">Role</label>
            <select id="new-role" name="role">
              <option value="employee" selected>Employee</option>
              <option value="manager">Manager</option>
            </select>
          </div>
          <fieldset>
            <legend>How they log in first</legend>
            <label><input type="radio" name="setup" value="link" checked /> Setup link</label>
            <label><input type="radio" name="setup" value="password" /> Generated password</label>
          </fieldset>
          <button class="primary" type="submit" ?disabled=${this.pending === 'add'}>Add user</button>
        </form>
        ${this.error === '' ? nothing : html`<p class="alert" role="alert">${this.error}</p>`}
        <p class=${this.done === '' ? '' : 'success'} role="status">${this.done}</p>
        ${this.handout === undefined ? nothing : this.#renderHandout(this.handout)}
        <ul aria-label="Users">
          ${repeat(
            this.users,
            (user) => user.id,
            (user) => this.#renderUser(user, members.get(user.id)),
          )}
        </ul>
      </section>
    `;
  }

  #renderHandout({ name, issued }: Handout) {
    const { setupToken, setupExpiresAt, password } = issued;
    if (setupToken !== undefined && setupExpiresAt !== undefined) {
      const link = `${location.origin}${setupLinkPath(setupToken)}`;
      return html`<div class="handout">
        <label for="handout">Setup link for ${name}</label>
        <input id="handout" readonly .value=${link} @focus=${this.#selectAll} />
        <p class="muted">
          Works once, until ${new Date(setupExpiresAt).toLocaleString()}. Give it to ${name} in person or by a channel you
          trust; it is not shown again.
        </p>
      </div>`;
    }
    return html`<div class="handout">
      <label for="handout">Password for ${name}</label>
      <input id="handout" readonly .value=${password ?? ''} @focus=${this.#selectAll} />
      <p class="muted">Shown this once: give it to ${name}, who can change it in Settings.</p>
    </div>`;
  }

  #renderUser(user: PublicUser, member: TeamMember | undefined) {
    const busy = this.pending === user.id;
    const name = user.displayName;
    return html`<li class=${user.disabled ? 'disabled' : ''} aria-label=${name}>
      <div class="who">
        <span class="name">${name}</span>
        <span class="muted">${user.email}</span>
        <span>${whereabouts(user, member)}</span>
        ${
          member?.forcedOff === undefined
            ? nothing
            : html`<span class="muted"
              >Taken off their workstation by ${member.forcedOff.by} at ${formatClockTime(member.forcedOff.at)}</span
            >`
        }
      </div>
      <div class="buttons">
        <label class="muted" for=${`role-${user.id}`}>Role</label>
        <select
          id=${`role-${user.id}`}
          aria-label=${`Role of ${name}`}
          ?disabled=${busy}
          .value=${user.role}
          @change=${(event: Event) => void this.#onRole(event, user)}
        >
          <option value="employee" ?selected=${user.role === 'employee'}>Employee</option>
          <option value="manager" ?selected=${user.role === 'manager'}>Manager</option>
        </select>
        ${
          member?.workstation === undefined
            ? nothing
            : html`<button
              class="secondary"
              type="button"
              aria-label=${`Take ${name} off ${member.workstation.name}`}
              ?disabled=${busy}
              @click=${() => void this.#forceOff(user, member.workstation?.name ?? '')}
            >
              Take off ${member.workstation.name}
            </button>`
        }
        <button
          class="secondary"
          type="button"
          aria-label=${`New setup link for ${name}`}
          ?disabled=${busy || user.disabled}
          @click=${() => void this.#reset(user, 'link')}
        >
          New setup link
        </button>
        <button
          class="secondary"
          type="button"
          aria-label=${`New password for ${name}`}
          ?disabled=${busy || user.disabled}
          @click=${() => void this.#reset(user, 'password')}
        >
          New password
        </button>
        <button
          class="secondary"
          type="button"
          aria-label=${`${user.disabled ? 'Enable' : 'Disable'} ${name}`}
          ?disabled=${busy}
          @click=${() => void this.#toggle(user)}
        >
          ${user.disabled ? 'Enable' : 'Disable'}
        </button>
      </div>
    </li>`;
  }

  #selectAll = (event: FocusEvent): void => (event.target as HTMLInputElement).select();

  async #load(): Promise<void> {
    try {
      this.users = await this.api.listUsers();
    } catch (error) {
      this.error = errorMessage(error);
    }
  }

  async #onAdd(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const role = String(data.get('role'));
    const setup: CredentialSetup = data.get('setup') === 'password' ? 'password' : 'link';
    if (!isRole(role)) return;
    const body = { email: String(data.get('email')), displayName: String(data.get('displayName')), role, setup };
    const ok = await this.#ask('add', async () => {
      const created = await this.api.createUser({ body });
      this.handout = { name: created.displayName, issued: created };
      return `Added ${created.displayName}.`;
    });
    if (ok) form.reset();
  }

  async #onRole(event: Event, user: PublicUser): Promise<void> {
    const select = event.target as HTMLSelectElement;
    const role = select.value;
    if (!isRole(role)) return;
    const ok = await this.#ask(user.id, async () => {
      const changed = await this.api.setUserRole({ params: { id: user.id }, body: { role } });
      return `${changed.displayName} is now ${role === 'manager' ? 'a manager' : 'an employee'}.`;
    });
    if (!ok) select.value = user.role;
  }

  #reset(user: PublicUser, setup: CredentialSetup): Promise<boolean> {
    return this.#ask(user.id, async () => {
      const issued = await this.api.resetUserPassword({ params: { id: user.id }, body: { setup } });
      this.handout = { name: user.displayName, issued };
      return `The old password of ${user.displayName} no longer works, and their sessions have ended.`;
    });
  }

  #toggle(user: PublicUser): Promise<boolean> {
    return this.#ask(user.id, async () => {
      const params = { params: { id: user.id } };
      const changed = user.disabled ? await this.api.enableUser(params) : await this.api.disableUser(params);
      return `${changed.displayName} is ${changed.disabled ? 'disabled' : 'enabled'}.`;
    });
  }

  #forceOff(user: PublicUser, workstation: string): Promise<boolean> {
    return this.#ask(user.id, async () => {
      await this.api.forceOffWorkstation({ params: { id: user.id } });
      return `${user.displayName} is off ${workstation}; calls skip them from now on.`;
    });
  }

  /** Asks the server, says what happened (or the server's refusal), and reads the users again. */
  async #ask(pending: string, request: () => Promise<string>): Promise<boolean> {
    this.pending = pending;
    this.error = '';
    this.done = '';
    this.handout = undefined;
    try {
      this.done = await request();
      return true;
    } catch (error) {
      this.error = errorMessage(error);
      return false;
    } finally {
      this.pending = undefined;
      await this.#load();
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-staff-admin': DlStaffAdmin;
  }
}
