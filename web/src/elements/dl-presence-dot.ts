import type { PresenceDot } from '@deskline/protocol';
import { LitElement, css, html } from 'lit';
import { customElement, property } from 'lit/decorators.js';

/**
 * A team member's status dot: green (available), red (ringing or on a call), grey (paused), hollow
 * (offline). It is an image to assistive technology, named by `label` ("Paused until 10:42"), so the
 * colour is never the only way to tell.
 *
 * @csspart dot - The dot itself.
 */
@customElement('dl-presence-dot')
export class DlPresenceDot extends LitElement {
  static override styles = css`
    :host {
      display: inline-grid;
      place-items: center;
      width: 0.875rem;
      height: 0.875rem;
    }

    span {
      box-sizing: border-box;
      width: 100%;
      height: 100%;
      border: 2px solid var(--dl-color-surface);
      border-radius: 50%;
    }

    .available {
      background: var(--dl-color-success);
    }

    .busy {
      background: var(--dl-color-danger);
    }

    .inactive {
      background: var(--dl-color-paused);
    }

    .offline {
      background: var(--dl-color-surface);
      box-shadow: inset 0 0 0 2px var(--dl-color-field-border);
    }
  `;

  @property() dot: PresenceDot = 'offline';

  /** What the dot means, in words. */
  @property() label = 'Offline';

  protected override render() {
    return html`<span part="dot" class=${this.dot} role="img" aria-label=${this.label} title=${this.label}></span>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-presence-dot': DlPresenceDot;
  }
}
