import type { Contact, PublicUser, Subject, TaskView } from '@deskline/protocol';
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { CallbackPolicy } from '../callback-policy.js';
import { ContactNamesController } from '../controllers/contact-names-controller.js';
import { LogoutController } from '../controllers/logout-controller.js';
import { PauseController } from '../controllers/pause-controller.js';
import { PushController } from '../controllers/push-controller.js';
import { SoftphoneController } from '../controllers/softphone-controller.js';
import { WorkstationController } from '../controllers/workstation-controller.js';
import { logoMark } from '../icons.js';
import { formatClockTime } from '../format.js';
import { presenceView } from '../presence.js';
import { findQueueCall, waitingSince } from '../queue-call.js';
import { queueFilterIn, rememberQueueFilter, rememberedQueueFilter } from '../queue-filter.js';
import { apiClient, type ApiClient } from '../services/api-client.js';
import type { PhoneCall } from '../services/phone-call-session.js';
import { alertStyles, controlStyles, secondaryButtonStyles, visuallyHiddenStyles } from '../styles/shared-styles.js';
import { NewCallWatcher } from '../task-board.js';
import { userAvatar } from '../user-avatar.js';
import './dl-call-panel.js';
import type { DlConfirmDialog } from './dl-confirm-dialog.js';
import './dl-confirm-dialog.js';
import './dl-missed-calls.js';
import { NOTIFICATIONS_UNSUPPORTED } from './dl-notifications-notice.js';
import './dl-notifications-notice.js';
import './dl-pause-panel.js';
import type { PauseSelectDetail } from './dl-pause-picker.js';
import './dl-pause-picker.js';
import './dl-presence-dot.js';
import './dl-queue-list.js';
import './dl-team-list.js';
import './dl-registration-status.js';
import './dl-outbound-policy.js';
import './dl-outcome-settings.js';
import './dl-call-plan.js';
import './dl-distribution.js';
import './dl-prompts-admin.js';
import './dl-statistics.js';
import './dl-staff-admin.js';
import './dl-subjects-admin.js';
import './dl-workstations-admin.js';
import './dl-contacts.js';
import type { ContactChangeDetail } from './dl-task-card.js';
import './dl-task-board.js';
import type { DlSettingsDialog } from './dl-settings-dialog.js';
import './dl-settings-dialog.js';
import type { MenuEntry, MenuSelectDetail } from './dl-user-menu.js';
import './dl-user-menu.js';
import type { WorkstationSelectDetail } from './dl-workstation-picker.js';
import './dl-workstation-picker.js';

/** Entries of the user menu, in order. Add an entry here and handle its id in #onMenuSelect. */
function userMenu(notifications: { checked: boolean; hint?: string }, onWorkstation: boolean): MenuEntry[] {
  return [
    { id: 'settings', label: 'Settings' },
    { id: 'notifications', label: 'Call notifications', ...notifications },
    // Pausing is for someone who can be rung (the server refuses it without a workstation too).
    ...(onWorkstation ? [{ id: 'pause', label: 'Pause incoming calls' }] : []),
    { id: 'change-workstation', label: 'Change workstation' },
    { id: 'log-out', label: 'Log out' },
  ];
}

const FINISH_CALL_FIRST = 'Finish the current call before changing workstation.';

/**
 * What the work area shows: the call board for everyone; managers also manage the staff and the workstations, keep the subjects, see
 * statistics, set the callback policy and the call plan, and replace the prompts callers hear.
 */
type View =
  | 'board'
  | 'contacts'
  | 'staff'
  | 'workstations'
  | 'subjects'
  | 'statistics'
  | 'callback-policy'
  | 'call-plan'
  | 'prompts'
  | 'distribution';

/** `employees`: an employee sees this view too (the others are managers' only). */
const VIEWS: ReadonlyArray<{ id: View; label: string; employees?: true }> = [
  { id: 'board', label: 'Call board', employees: true },
  { id: 'contacts', label: 'Contacts', employees: true },
  { id: 'staff', label: 'Staff' },
  { id: 'workstations', label: 'Workstations' },
  { id: 'subjects', label: 'Subjects' },
  { id: 'statistics', label: 'Statistics' },
  { id: 'callback-policy', label: 'Callback policy' },
  { id: 'call-plan', label: 'Call plan' },
  { id: 'prompts', label: 'Prompts' },
  { id: 'distribution', label: 'Distribution' },
];

/**
 * The app after login: a header with the product name, the managers' views (Call board, Staff, Workstations, Subjects,
 * Statistics, Callback policy, Call plan, Prompts) and the user panel (with the user's own status dot), the grey pause band while incoming
 * calls are paused, and the work area below: whether calls can reach this person, the call in this
 * browser, the calls missed during a pause, the workstation and pause pickers when asked for, then the
 * call board (or the view a manager chose), and beside them the clinic's queue and the team. The call
 * panel stays above every view, so a ringing call can always be answered, and a new incoming call is
 * announced to screen readers in every view ("New call from …": by the board's live region while the
 * board is shown, else by the shell's). The phone, the
 * push socket, the workstation and the pause live in controllers for as long as the shell is shown;
 * leaving it (logout, the session ending) unregisters the phone and closes the socket.
 *
 * The user menu opens the settings (name, picture, password), switches call notifications on and
 * off, changes the workstation and logs out; logging out during a call asks first.
 *
 * @fires logout - `Event`, bubbles and composed: the server ended the session (or it had already
 *   ended), so the login page should be shown.
 * @fires user-change - (from the settings) `CustomEvent<PublicUser>`: the user's name or picture changed.
 * @fires session-renew - (from the settings) `CustomEvent<SessionInfo>`: the password was changed.
 */
@customElement('dl-app-shell')
export class DlAppShell extends LitElement {
  static override styles = [
    controlStyles,
    alertStyles,
    secondaryButtonStyles,
    visuallyHiddenStyles,
    css`
      :host {
        display: flex;
        min-height: 100vh;
        flex-direction: column;
      }

      header {
        display: flex;
        align-items: center;
        justify-content: space-between;
        gap: 1rem;
        min-height: 4rem;
        box-sizing: border-box;
        padding: 0.5rem 1rem 0.5rem 1.5rem;
        border-bottom: 1px solid var(--dl-color-border);
        background: var(--dl-color-surface);
      }

      .brand {
        display: flex;
        align-items: center;
        gap: 0.5rem;
        font-size: 1.25rem;
        font-weight: 700;
      }

      nav {
        display: flex;
        flex: 1;
        flex-wrap: wrap;
        gap: 0.25rem;
        margin-left: 1rem;
      }

      nav button {
        min-height: var(--dl-target-size);
        padding: 0.5rem 0.875rem;
        border: 0;
        border-radius: var(--dl-radius);
        background: none;
        color: var(--dl-color-text-muted);
        font-weight: 600;
        cursor: pointer;
      }

      nav button:hover {
        background: var(--dl-color-surface-hover);
      }

      nav button[aria-current='page'] {
        background: var(--dl-color-avatar);
        color: var(--dl-color-on-avatar);
      }

      .brand svg {
        width: 1.75rem;
        height: 1.75rem;
      }

      dl-user-menu {
        min-width: 0;
      }

      .me {
        position: relative;
        display: grid;
        flex: none;
      }

      .me dl-presence-dot {
        position: absolute;
        right: -0.125rem;
        bottom: -0.125rem;
      }

      .avatar {
        display: grid;
        flex: none;
        object-fit: cover;
        place-items: center;
        width: 2.25rem;
        height: 2.25rem;
        border-radius: 50%;
        background: var(--dl-color-avatar);
        color: var(--dl-color-on-avatar);
        font-size: 0.875rem;
        font-weight: 700;
        letter-spacing: 0.02em;
      }

      .name {
        overflow: hidden;
        max-width: 16rem;
        font-weight: 600;
        text-overflow: ellipsis;
        white-space: nowrap;
      }

      .alert {
        margin: 1rem 1.5rem 0;
      }

      main {
        display: grid;
        grid-template-columns: minmax(0, 1fr) minmax(18rem, 24rem);
        align-items: start;
        gap: 1.5rem;
        padding: 1.5rem;
      }

      .desk,
      .side {
        display: grid;
        gap: 1.25rem;
        min-width: 0;
      }

      .desk .alert {
        margin: 0;
      }

      .desk .alert button {
        margin-left: 0.5rem;
      }

      @media (max-width: 48rem) {
        main {
          grid-template-columns: minmax(0, 1fr);
        }
      }

      @media (max-width: 30rem) {
        .name {
          display: none;
        }
      }
    `,
  ];

  /** The logged-in user. Nothing is rendered without one. */
  @property({ attribute: false }) user: PublicUser | undefined;

  /** The client used to log out; it already holds the session's CSRF token. */
  @property({ attribute: false }) api: ApiClient = apiClient;

  /** The picker was opened from the user menu. */
  @state() private choosing = false;

  /** A manager chose to work without a workstation. */
  @state() private skipped = false;

  /** The pause picker was opened from the user menu. */
  @state() private pausing = false;

  /** The view chosen; an employee sees only the views open to employees. */
  @state() private view: View = 'board';

  /** The queue filter chosen in this browser ('' = all queues); in force only while the plan has that queue. */
  @state() private queueChoice = rememberedQueueFilter();

  /** The latest "New call from …", for screen readers. */
  @state() private announcement = '';

  /** Watches the pushed tasks for new incoming calls, whatever view is shown. */
  #newCalls = new NewCallWatcher();

  #phone = new SoftphoneController(this, () => this.api, {
    waitingSince: (call: PhoneCall) => {
      const queued = findQueueCall(this.#push.calls, call, this.#workstation.workstation?.id);
      return queued === undefined ? undefined : waitingSince(queued);
    },
  });
  #push = new PushController(this, () => this.api);
  /** The names of the board's patients (issue 16, item 5). */
  #contacts = new ContactNamesController(this, () => this.api);
  #workstation = new WorkstationController(
    this,
    () => this.api,
    (workstation) => this.#phone.use(workstation),
  );
  #pause = new PauseController(
    this,
    () => this.api,
    () => (this.user === undefined ? undefined : this.#push.member(this.user.id)),
  );
  #callback = new CallbackPolicy(this.#phone, () => this.#workstation.workstation);
  #logout = new LogoutController(
    this,
    () => this.api,
    this.#phone,
    (options) =>
      this.renderRoot.querySelector<DlConfirmDialog>('dl-confirm-dialog')?.ask(options) ?? Promise.resolve(false),
  );

  protected override willUpdate(changed: PropertyValues<this>): void {
    super.willUpdate(changed);
    this.#noticeForcedOff();
    // Only calls that arrive once the board is live are announced (the first look learns the others).
    if (this.#push.status !== 'connected') return;
    this.#contacts.watch(this.#push.tasks);
    this.#contacts.watch(this.#push.closedTasks);
    const announcement = this.#newCalls.look(this.#push.tasks);
    if (announcement !== '') this.announcement = announcement;
  }

  /**
   * A manager took this user off their workstation (pushed as their team entry): the workstation is
   * read again, which lets the phone go and offers the picker, and the header says who did it.
   */
  #noticeForcedOff(): void {
    const forcedOff = this.user === undefined ? undefined : this.#push.member(this.user.id)?.forcedOff;
    if (forcedOff === undefined || forcedOff.at === this.#forcedOffSeen) return;
    this.#forcedOffSeen = forcedOff.at;
    if (this.#workstation.workstation !== undefined) void this.#workstation.load();
  }

  /** The `forcedOff.at` already acted on. */
  #forcedOffSeen: number | undefined;

  /** Shows another view; an announcement already made is not carried into the next view's live region. */
  #show(view: View): void {
    if (view === this.view) return;
    this.view = view;
    this.announcement = '';
  }

  protected override render() {
    const user = this.user;
    if (user === undefined) return nothing;
    const views = VIEWS.filter((v) => user.role === 'manager' || v.employees);
    const view = views.some((v) => v.id === this.view) ? this.view : 'board';
    const me = this.#push.member(user.id);
    const presence = me === undefined ? undefined : presenceView(me);
    const pause = this.#pause;
    return html`
      <header>
        <span class="brand">${logoMark}Deskline</span>
        ${
          views.length > 1
            ? html`<nav aria-label="Views">
              ${views.map(
                (view) => html`<button
                  type="button"
                  aria-current=${view.id === this.view ? 'page' : nothing}
                  @click=${() => this.#show(view.id)}
                >
                  ${view.label}
                </button>`,
              )}
            </nav>`
            : nothing
        }
        <dl-user-menu .entries=${userMenu(this.#notificationsEntry(), this.#workstation.workstation !== undefined)} @menu-select=${this.#onMenuSelect}>
          <span class="me">
            ${userAvatar(user)}
            ${
              presence === undefined
                ? nothing
                : html`<dl-presence-dot .dot=${presence.dot} .label=${`Your status: ${presence.label}`}></dl-presence-dot>`
            }
          </span>
          <span class="name">${user.displayName}</span>
        </dl-user-menu>
      </header>
      ${
        pause.paused
          ? html`<dl-pause-panel
            .until=${pause.pausedUntil ?? 0}
            .remaining=${pause.remainingMs}
            ?can-extend=${pause.canExtend}
            ?pending=${pause.pending}
            .error=${this.pausing ? '' : pause.error}
            .reason=${pause.pauseReason}
            @pause-extend=${() => void pause.extend()}
            @pause-end=${() => void pause.resume()}
          ></dl-pause-panel>`
          : nothing
      }
      ${this.#logout.error === '' ? nothing : html`<p class="alert" role="alert">${this.#logout.error}</p>`}
      ${
        me?.forcedOff === undefined || this.#workstation.workstation !== undefined
          ? nothing
          : html`<p class="alert" role="alert">
            ${me.forcedOff.by} took you off your workstation at ${formatClockTime(me.forcedOff.at)}: calls no longer
            ring here. Choose a workstation to take calls again.
          </p>`
      }
      <dl-notifications-notice
        .notifications=${this.#phone.notifications}
        @allow-notifications=${() => void this.#phone.allowNotifications()}
      ></dl-notifications-notice>
      <dl-settings-dialog .user=${user} .api=${this.api}></dl-settings-dialog>
      <dl-confirm-dialog></dl-confirm-dialog>
      <main>
        <div class="desk">${this.#renderDesk(user)} ${this.#renderView(user, view)}</div>
        <div class="side">
          <dl-queue-list
            .calls=${this.#push.calls}
            .queues=${this.#push.queues}
            .queueFilter=${queueFilterIn(this.queueChoice, this.#push.queues)}
            .workstations=${this.#workstation.workstations}
            .live=${this.#push.status !== 'reconnecting'}
          ></dl-queue-list>
          <dl-team-list .members=${this.#push.team} .selfId=${user.id}></dl-team-list>
        </div>
      </main>
      <p class="visually-hidden" role="status" aria-live="polite">${view === 'board' ? '' : this.announcement}</p>
    `;
  }

  #renderView(user: PublicUser, view: View) {
    switch (view) {
      case 'staff':
        return html`<dl-staff-admin .api=${this.api} .team=${this.#push.team}></dl-staff-admin>`;
      case 'workstations':
        return html`<dl-workstations-admin .api=${this.api}></dl-workstations-admin>`;
      case 'subjects':
        return html`<dl-subjects-admin
          .subjects=${this.#push.subjects}
          .api=${this.api}
          @subject-change=${(event: CustomEvent<Subject>) => this.#push.putSubject(event.detail)}
        ></dl-subjects-admin>`;
      case 'statistics':
        return html`<dl-statistics .api=${this.api}></dl-statistics>`;
      case 'callback-policy':
        return html`<dl-outbound-policy .api=${this.api}></dl-outbound-policy>
          <dl-outcome-settings .api=${this.api}></dl-outcome-settings>`;
      case 'call-plan':
        return html`<dl-call-plan .api=${this.api}></dl-call-plan>`;
      case 'prompts':
        return html`<dl-prompts-admin .api=${this.api}></dl-prompts-admin>`;
      case 'contacts':
        return html`<dl-contacts
          .api=${this.api}
          .userRole=${user.role}
          @contact-change=${(event: CustomEvent<Contact>) => this.#contacts.put(event.detail)}
          @contact-delete=${(event: CustomEvent<string>) => this.#contacts.forget(event.detail)}
          @contacts-import=${() => this.#contacts.reset()}
        ></dl-contacts>`;
      case 'distribution':
        return html`<dl-distribution .api=${this.api} .team=${this.#push.team}></dl-distribution>`;
      case 'board':
        return html`<dl-task-board
          .tasks=${this.#push.tasks}
          .closedTasks=${this.#push.closedTasks}
          .subjects=${this.#push.subjects}
          .team=${this.#push.team}
          .workstations=${this.#workstation.workstations}
          .viewer=${{ userId: user.id, role: user.role }}
          .callbackBlocked=${this.#callback.blocked}
          ?connected=${this.#push.status === 'connected'}
          .announcement=${this.announcement}
          .queues=${this.#push.queues}
          .queueFilter=${queueFilterIn(this.queueChoice, this.#push.queues)}
          .contacts=${this.#contacts.byNumber}
          .api=${this.api}
          @contact-change=${(event: CustomEvent<ContactChangeDetail>) =>
            this.#contacts.put(event.detail.contact, event.detail.number)}
          @queue-filter-change=${this.#onQueueFilter}
          @task-change=${(event: CustomEvent<TaskView>) => this.#push.putTask(event.detail)}
          @call-back=${this.#callback.place}
        ></dl-task-board>`;
    }
  }

  #onQueueFilter = (event: CustomEvent<string>): void => {
    this.queueChoice = event.detail;
    rememberQueueFilter(event.detail);
  };

  #notificationsEntry(): { checked: boolean; hint?: string } {
    const { enabled, access } = this.#phone.notifications;
    if (access === 'unsupported') return { checked: false, hint: NOTIFICATIONS_UNSUPPORTED };
    if (enabled && access === 'denied') return { checked: true, hint: 'Blocked by this browser' };
    return { checked: enabled };
  }

  protected override updated(): void {
    // A modal dialog makes the page behind it inert: a ringing call must be answerable at once.
    if (this.#phone.state.call?.state === 'ringing') this.#settings?.close();
  }

  get #settings(): DlSettingsDialog | null {
    return this.renderRoot.querySelector('dl-settings-dialog');
  }

  #renderDesk(user: PublicUser) {
    const desk = this.#workstation;
    const phone = this.#phone.state;
    if (desk.status === 'loading') return nothing;
    if (desk.status === 'failed') {
      return html`<p class="alert" role="alert">
        ${desk.error}<button class="secondary" type="button" @click=${() => void desk.load()}>Try again</button>
      </p>`;
    }
    const workstation = desk.workstation;
    const picking = this.choosing || (workstation === undefined && !this.skipped);
    return html`
      ${
        workstation !== undefined || this.skipped
          ? html`<dl-registration-status
            .workstation=${workstation}
            .registration=${phone.registration}
            .deskPhoneRegistered=${desk.current?.registered}
            ?paused=${this.#pause.paused}
            ?sound-blocked=${this.#phone.soundBlocked}
            @enable-sound=${() => this.#phone.enableSound()}
          ></dl-registration-status>`
          : nothing
      }
      ${
        this.#pause.missed.calls.length > 0
          ? html`<dl-missed-calls .calls=${this.#pause.missed.calls} @dismiss=${() => void this.#pause.dismissMissed()}></dl-missed-calls>`
          : nothing
      }
      ${
        this.pausing
          ? html`<dl-pause-picker
            ?pending=${this.#pause.pending}
            .error=${this.#pause.error}
            @pause-select=${this.#onPauseSelect}
            @picker-close=${this.#closePausePicker}
          ></dl-pause-picker>`
          : nothing
      }
      <dl-call-panel
        .call=${phone.call}
        .queueCall=${findQueueCall(this.#push.calls, phone.call, workstation?.id)}
        .remoteStream=${phone.remoteStream}
        ?muted=${phone.muted}
        @answer=${() => this.#phone.answer()}
        @hang-up=${() => this.#phone.hangUp()}
        @mute-change=${(event: CustomEvent<{ muted: boolean }>) => this.#phone.setMuted(event.detail.muted)}
      ></dl-call-panel>
      ${
        picking
          ? html`<dl-workstation-picker
            .workstations=${desk.workstations}
            .current=${workstation?.id}
            .pending=${desk.pending}
            .error=${desk.error}
            .locked=${this.#phone.busy ? FINISH_CALL_FIRST : ''}
            ?can-skip=${user.role === 'manager'}
            ?can-cancel=${workstation !== undefined || this.skipped}
            @workstation-select=${this.#onWorkstationSelect}
            @work-without-workstation=${this.#onWorkWithout}
            @picker-close=${this.#closePicker}
          ></dl-workstation-picker>`
          : nothing
      }
    `;
  }

  #onMenuSelect(event: CustomEvent<MenuSelectDetail>): void {
    switch (event.detail.id) {
      case 'settings':
        void this.#settings?.show();
        break;
      case 'notifications':
        void this.#phone.setNotifications(!this.#phone.notifications.enabled);
        break;
      case 'pause':
        this.#pause.clearError();
        this.pausing = true;
        break;
      case 'change-workstation':
        this.#workstation.clearError();
        void this.#workstation.loadList();
        this.choosing = true;
        break;
      case 'log-out':
        void this.#logout.logOut();
        break;
    }
  }

  async #onWorkstationSelect(event: CustomEvent<WorkstationSelectDetail>): Promise<void> {
    if (this.#phone.busy) return;
    if (await this.#workstation.select(event.detail.workstationId)) this.#closePicker();
  }

  async #onPauseSelect(event: CustomEvent<PauseSelectDetail>): Promise<void> {
    if (await this.#pause.pause(event.detail.minutes)) this.#closePausePicker();
  }

  #closePausePicker = (): void => {
    this.pausing = false;
    this.#pause.clearError();
  };

  async #onWorkWithout(): Promise<void> {
    if (this.#workstation.workstation !== undefined && !(await this.#workstation.leave())) return;
    this.skipped = true;
    this.#closePicker();
  }

  #closePicker = (): void => {
    this.choosing = false;
    this.#workstation.clearError();
  };
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-app-shell': DlAppShell;
  }
}
