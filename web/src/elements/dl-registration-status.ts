import type { Workstation } from '@deskline/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { RegistrationState } from '../services/sip-registration.js';
import { alertStyles, controlStyles, secondaryButtonStyles } from '../styles/shared-styles.js';
import { panelStyles } from '../styles/panel-styles.js';

/**
 * One line saying whether calls can reach this person: "Ready for calls on Reception 1",
 * "Connecting…", "Incoming calls paused on Reception 1", why not, or where calls ring instead (a desk
 * phone and whether it is registered, or no workstation). Changes are announced politely
 * (role=status); a failure is an alert. While the browser keeps the page silent (no click yet since
 * the page loaded), it offers to turn the sound on.
 *
 * @fires enable-sound - `Event`: the person pressed "Turn on sound" (a user gesture; resume audio).
 */
@customElement('dl-registration-status')
export class DlRegistrationStatus extends LitElement {
  static override styles = [
    controlStyles,
    alertStyles,
    panelStyles,
    secondaryButtonStyles,
    css`
      .card {
        gap: 0.75rem;
      }

      [role='status'] {
        display: flex;
        align-items: center;
        gap: 0.625rem;
        margin: 0;
        font-size: 1.0625rem;
      }

      [role='status']:empty {
        display: none;
      }

      .dot {
        flex: none;
        width: 0.75rem;
        height: 0.75rem;
        border-radius: 50%;
        background: var(--dl-color-text-muted);
      }

      .dot.ready {
        background: var(--dl-color-success);
        box-shadow: 0 0 0 3px var(--dl-color-success-surface);
      }

      .dot.pending {
        background: var(--dl-color-pending);
      }

      .dot.paused {
        background: var(--dl-color-paused);
      }

      .muted {
        color: var(--dl-color-text-muted);
      }

      .sound {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem 1rem;
        margin: 0;
        color: var(--dl-color-pending);
      }

      .sound button {
        color: var(--dl-color-text);
      }
    `,
  ];

  /** The user's workstation; undefined when they work without one. */
  @property({ attribute: false }) workstation: Workstation | undefined;

  @property({ attribute: false }) registration: RegistrationState = { status: 'off' };

  /** On a desk phone: whether Kamailio has it registered now (undefined while not known). */
  @property({ attribute: false }) deskPhoneRegistered: boolean | undefined;

  /** Incoming calls are paused: the workstation is connected but not rung. */
  @property({ type: Boolean }) paused = false;

  /** Whether the browser blocks sound until the person interacts with the page. */
  @property({ type: Boolean, attribute: 'sound-blocked' }) soundBlocked = false;

  protected override render() {
    const failed = this.registration.status === 'failed' ? this.registration : undefined;
    return html`
      <div class="card">
        <p role="status">${this.#statusLine()}</p>
        ${
          failed
            ? html`<p class="alert" role="alert">Calls cannot reach ${failed.workstation.name}. ${failed.reason}</p>`
            : nothing
        }
        ${
          this.soundBlocked && this.workstation?.kind === 'browser'
            ? html`<p class="sound">
              This browser keeps the page silent until you click on it: calls would ring without sound.
              <button class="secondary" type="button" @click=${this.#onEnableSound}>Turn on sound</button>
            </p>`
            : nothing
        }
      </div>
    `;
  }

  #statusLine() {
    const workstation = this.workstation;
    if (workstation === undefined) {
      return html`<span class="dot"></span><span
          >You are not taking calls. <span class="muted">Choose a workstation in the user menu to take them.</span></span
        >`;
    }
    if (workstation.kind === 'sip-phone') {
      const registered = this.deskPhoneRegistered;
      if (this.paused) {
        return html`<span class="dot paused"></span><span>Incoming calls paused on desk phone ${workstation.name}</span>`;
      }
      return html`<span class="dot ${registered ? 'ready' : ''}"></span><span
          >Calls ring at desk phone ${workstation.name}${registered === undefined ? '' : registered ? ' (registered)' : ' (not registered)'}</span
        >`;
    }
    switch (this.registration.status) {
      case 'registered':
        return this.paused
          ? html`<span class="dot paused"></span><span>Incoming calls paused on ${workstation.name}</span>`
          : html`<span class="dot ready"></span><span>Ready for calls on ${workstation.name}</span>`;
      case 'failed':
        return nothing;
      default:
        return html`<span class="dot pending"></span><span>Connecting…</span>`;
    }
  }

  #onEnableSound(): void {
    this.dispatchEvent(new Event('enable-sound', { bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-registration-status': DlRegistrationStatus;
  }
}
