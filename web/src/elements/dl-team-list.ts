import type { TeamMember } from '@deskline/protocol';
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { initials } from '../user-avatar.js';
import { presenceView } from '../presence.js';
import { cardStyles } from '../styles/shared-styles.js';
import './dl-presence-dot.js';

/**
 * The team, live from the push socket: each member's avatar (or initials), name, workstation and a
 * status dot (available, ringing or on a call, paused until a time, offline), the logged-in user
 * marked "(you)".
 *
 * @csspart list - The list of members.
 */
@customElement('dl-team-list')
export class DlTeamList extends LitElement {
  static override styles = [
    cardStyles,
    css`
      :host {
        display: block;
      }

      h2 {
        margin: 0 0 0.75rem;
        font-size: 1.125rem;
      }

      ul {
        display: grid;
        margin: 0;
        padding: 0;
        list-style: none;
      }

      li {
        display: grid;
        grid-template-columns: auto minmax(0, 1fr);
        align-items: center;
        gap: 0 0.75rem;
        padding: 0.5rem 0;
        border-top: 1px solid var(--dl-color-border);
      }

      .avatar {
        position: relative;
        display: grid;
        place-items: center;
        width: 2.25rem;
        height: 2.25rem;
        border-radius: 50%;
        background: var(--dl-color-avatar);
        color: var(--dl-color-on-avatar);
        font-size: 0.8125rem;
        font-weight: 700;
      }

      .avatar img {
        width: 100%;
        height: 100%;
        border-radius: 50%;
        object-fit: cover;
      }

      dl-presence-dot {
        position: absolute;
        right: -0.125rem;
        bottom: -0.125rem;
      }

      .who {
        display: grid;
        min-width: 0;
      }

      .name,
      .where {
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }

      .name {
        font-weight: 600;
      }

      .where,
      .empty {
        margin: 0;
        color: var(--dl-color-text-muted);
        font-size: 0.9375rem;
      }
    `,
  ];

  /** The team by name, from the push socket. */
  @property({ attribute: false }) members: readonly TeamMember[] = [];

  /** The logged-in user's id, to mark their own entry. */
  @property({ attribute: false }) selfId: string | undefined;

  protected override render() {
    return html`
      <section class="card" aria-labelledby="team-title">
        <h2 id="team-title">Team</h2>
        ${
          this.members.length === 0
            ? html`<p class="empty">Nobody here yet</p>`
            : html`<ul part="list" aria-labelledby="team-title">${this.members.map((member) => this.#row(member))}</ul>`
        }
      </section>
    `;
  }

  #row(member: TeamMember) {
    const presence = presenceView(member);
    return html`
      <li aria-label=${member.displayName}>
        <span class="avatar">
          ${
            member.avatarUrl === undefined
              ? html`<span aria-hidden="true">${initials(member.displayName)}</span>`
              : html`<img src=${member.avatarUrl} alt="" />`
          }
          <dl-presence-dot .dot=${presence.dot} .label=${presence.label}></dl-presence-dot>
        </span>
        <span class="who">
          <span class="name">${member.displayName}${member.userId === this.selfId ? html` <span class="where">(you)</span>` : nothing}</span>
          <span class="where">${member.workstation?.name ?? 'No workstation'}</span>
          ${member.state === 'paused' && member.pauseReason !== undefined ? html`<span class="where">${presence.label}</span>` : nothing}
        </span>
      </li>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-team-list': DlTeamList;
  }
}
