import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, query, queryAll, state } from 'lit/decorators.js';
import { chevronDown } from '../icons.js';
import { controlStyles } from '../styles/shared-styles.js';

/** One entry of the user menu. `id` comes back in the `menu-select` event. */
export interface MenuEntry {
  id: string;
  label: string;
  /** Makes the entry an on/off toggle (menuitemcheckbox) in this state. */
  checked?: boolean;
  /** A second line under the label, read out as the entry's description. */
  hint?: string;
}

export interface MenuSelectDetail {
  id: string;
}

/**
 * The user panel in the header: whatever is slotted (the avatar and name) followed by the "User menu"
 * button, which opens a menu of `entries`. It follows the WAI-ARIA menu button pattern: the arrow keys,
 * Home and End move between entries, Escape closes and returns focus to the button, and Tab or a click
 * outside closes. Clicking the slotted content also opens the menu, for a larger target; the button
 * remains the control for keyboard and assistive technology.
 *
 * @slot - Shown before the button; identifies whose menu it is (the avatar and the display name).
 * @fires menu-select - `CustomEvent<MenuSelectDetail>`, bubbles: an entry was chosen. The menu has
 *   already closed and given focus back to its button.
 */
@customElement('dl-user-menu')
export class DlUserMenu extends LitElement {
  static override styles = [
    controlStyles,
    css`
      :host {
        position: relative;
        display: inline-block;
      }

      .panel {
        display: flex;
        align-items: center;
        gap: 0.625rem;
        padding: 0.25rem 0.25rem 0.25rem 0.5rem;
        border-radius: var(--dl-radius);
        cursor: pointer;
      }

      .panel:hover {
        background: var(--dl-color-surface-hover);
      }

      .trigger {
        display: grid;
        place-items: center;
        width: var(--dl-target-size);
        height: var(--dl-target-size);
        padding: 0;
        border: 1px solid var(--dl-color-field-border);
        border-radius: var(--dl-radius);
        background: var(--dl-color-surface);
        cursor: pointer;
      }

      .trigger svg {
        width: 1.5rem;
        height: 1.5rem;
      }

      .trigger[aria-expanded='true'] svg {
        transform: rotate(180deg);
      }

      [role='menu'] {
        position: absolute;
        z-index: 10;
        top: calc(100% + 0.375rem);
        right: 0;
        min-width: 14rem;
        margin: 0;
        padding: 0.375rem;
        list-style: none;
        border: 1px solid var(--dl-color-border);
        border-radius: var(--dl-radius);
        background: var(--dl-color-surface);
        box-shadow: var(--dl-shadow-popup);
      }

      [role='menu'][hidden] {
        display: none;
      }

      [role='menuitem'],
      [role='menuitemcheckbox'] {
        display: block;
        width: 100%;
        min-height: var(--dl-target-size);
        padding: 0.5rem 0.875rem;
        border: 0;
        border-radius: calc(var(--dl-radius) - 2px);
        background: none;
        text-align: start;
        cursor: pointer;
      }

      [role='menuitem']:hover,
      [role='menuitem']:focus,
      [role='menuitemcheckbox']:hover,
      [role='menuitemcheckbox']:focus {
        background: var(--dl-color-surface-hover);
      }

      [role='menuitem']:focus-visible,
      [role='menuitemcheckbox']:focus-visible {
        outline-offset: -3px;
      }

      [role='menuitem'],
      [role='menuitemcheckbox'] {
        display: grid;
        grid-template-columns: 1fr auto;
        align-items: center;
        gap: 0 0.75rem;
      }

      /* A switch drawn after the label: grey and left when off, coloured and right when on. */
      .switch {
        position: relative;
        width: 2.25rem;
        height: 1.25rem;
        border-radius: 999px;
        background: var(--dl-color-field-border);
      }

      .switch::after {
        position: absolute;
        top: 0.1875rem;
        left: 0.1875rem;
        width: 0.875rem;
        height: 0.875rem;
        border-radius: 50%;
        background: var(--dl-color-surface);
        content: '';
      }

      [aria-checked='true'] .switch {
        background: var(--dl-color-primary);
      }

      [aria-checked='true'] .switch::after {
        left: auto;
        right: 0.1875rem;
      }

      .hint {
        grid-column: 1 / -1;
        color: var(--dl-color-text-muted);
        font-size: 0.875rem;
      }
    `,
  ];

  /** The menu entries, in order. */
  @property({ attribute: false }) entries: readonly MenuEntry[] = [];

  @state() private open = false;

  @query('.trigger') private trigger!: HTMLButtonElement;
  @queryAll('[role="menuitem"], [role="menuitemcheckbox"]') private items!: NodeListOf<HTMLButtonElement>;

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    document.removeEventListener('pointerdown', this.#onDocumentPointerDown, true);
  }

  protected override updated(changed: PropertyValues): void {
    if (!changed.has('open')) return;
    if (this.open) document.addEventListener('pointerdown', this.#onDocumentPointerDown, true);
    else document.removeEventListener('pointerdown', this.#onDocumentPointerDown, true);
  }

  protected override render() {
    return html`
      <div class="panel" @click=${this.#onPanelClick}>
        <slot></slot>
        <button
          class="trigger"
          type="button"
          aria-label="User menu"
          aria-haspopup="menu"
          aria-expanded=${String(this.open)}
          aria-controls="menu"
          @keydown=${this.#onTriggerKeydown}
        >
          ${chevronDown}
        </button>
      </div>
      <ul
        id="menu"
        role="menu"
        aria-label="User menu"
        ?hidden=${!this.open}
        @keydown=${this.#onMenuKeydown}
        @focusout=${this.#onMenuFocusOut}
      >
        ${this.entries.map((entry) => html`<li role="none">${this.#renderEntry(entry)}</li>`)}
      </ul>
    `;
  }

  // The label alone names the entry (aria-labelledby); the hint describes it.
  #renderEntry(entry: MenuEntry) {
    const toggle = entry.checked !== undefined;
    return html`<button
      type="button"
      role=${toggle ? 'menuitemcheckbox' : 'menuitem'}
      aria-checked=${toggle ? String(entry.checked) : nothing}
      tabindex="-1"
      aria-labelledby=${`label-${entry.id}`}
      aria-describedby=${entry.hint ? `hint-${entry.id}` : nothing}
      @click=${() => this.#select(entry)}
    >
      <span id=${`label-${entry.id}`}>${entry.label}</span>${
        toggle ? html`<span class="switch" aria-hidden="true"></span>` : nothing
      }${entry.hint ? html`<span class="hint" id=${`hint-${entry.id}`}>${entry.hint}</span>` : nothing}
    </button>`;
  }

  /** Opens the menu and focuses its first or last entry. */
  async show(focus: 'first' | 'last' = 'first'): Promise<void> {
    this.open = true;
    await this.updateComplete;
    this.#focusItem(focus === 'first' ? 0 : this.items.length - 1);
  }

  /** Closes the menu; with `returnFocus`, the "User menu" button gets the focus back. */
  close(returnFocus = false): void {
    this.open = false;
    if (returnFocus) this.trigger.focus();
  }

  // The button's own activation (mouse, Enter, Space) arrives here too, as a bubbling click.
  #onPanelClick(): void {
    if (this.open) this.close(true);
    else void this.show('first');
  }

  #onTriggerKeydown(event: KeyboardEvent): void {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      void this.show(event.key === 'ArrowDown' ? 'first' : 'last');
    } else if (event.key === 'Escape' && this.open) {
      event.preventDefault();
      this.close(true);
    }
  }

  #onMenuKeydown(event: KeyboardEvent): void {
    const items = [...this.items];
    const current = items.indexOf(this.shadowRoot?.activeElement as HTMLButtonElement);
    switch (event.key) {
      case 'ArrowDown':
        this.#focusItem((current + 1) % items.length);
        break;
      case 'ArrowUp':
        this.#focusItem((current - 1 + items.length) % items.length);
        break;
      case 'Home':
        this.#focusItem(0);
        break;
      case 'End':
        this.#focusItem(items.length - 1);
        break;
      case 'Escape':
        this.close(true);
        break;
      case 'Tab':
        // Let the focus move on as usual; an open menu left behind would be confusing.
        this.close();
        return;
      default:
        return;
    }
    event.preventDefault();
  }

  // Closes when focus leaves for something else on the page. A null relatedTarget (a click on
  // something not focusable) is left to the outside-click handler, so a click on the panel can toggle.
  #onMenuFocusOut(event: FocusEvent): void {
    const next = event.relatedTarget;
    if (next instanceof Node && !this.shadowRoot?.contains(next) && !this.contains(next)) this.close();
  }

  #onDocumentPointerDown = (event: PointerEvent): void => {
    if (!event.composedPath().includes(this)) this.close();
  };

  #focusItem(index: number): void {
    this.items[index]?.focus();
  }

  #select(entry: MenuEntry): void {
    this.close(true);
    this.dispatchEvent(new CustomEvent<MenuSelectDetail>('menu-select', { detail: { id: entry.id }, bubbles: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-user-menu': DlUserMenu;
  }
}
