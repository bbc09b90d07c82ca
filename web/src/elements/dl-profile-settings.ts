import { AVATAR_MAX_BYTES, type PublicUser } from '@deskline/protocol';
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { apiClient, type ApiClient } from '../services/api-client.js';
import { errorMessage } from '../services/error-message.js';
import { log } from '../services/log.js';
import {
  alertStyles,
  controlStyles,
  fieldStyles,
  primaryButtonStyles,
  secondaryButtonStyles,
  successStyles,
} from '../styles/shared-styles.js';
import { userAvatar } from '../user-avatar.js';

const debug = log('dl:settings');

/**
 * "Profile" in the settings: the picture and the name colleagues see. A chosen picture is uploaded
 * at once (PUT /api/me/avatar, the file itself as the body; the server checks and crops it);
 * "Remove picture" deletes it; the name is saved with PUT /api/me/profile. Each outcome is shown
 * next to what was changed.
 *
 * @fires user-change - `CustomEvent<PublicUser>`, bubbles and composed: the server saved a new name
 *   or picture; `detail` is the user as it is now.
 */
@customElement('dl-profile-settings')
export class DlProfileSettings extends LitElement {
  static override styles = [
    controlStyles,
    alertStyles,
    successStyles,
    fieldStyles,
    primaryButtonStyles,
    secondaryButtonStyles,
    css`
      :host {
        display: grid;
        gap: 1.25rem;
      }

      h3 {
        margin: 0;
        font-size: 1.125rem;
      }

      .picture {
        display: grid;
        grid-template-columns: auto 1fr;
        gap: 0.75rem 1.25rem;
        align-items: center;
      }

      .avatar {
        display: grid;
        place-items: center;
        width: 5rem;
        height: 5rem;
        border-radius: 50%;
        background: var(--dl-color-avatar);
        color: var(--dl-color-on-avatar);
        font-size: 1.75rem;
        font-weight: 700;
        object-fit: cover;
      }

      .picture-actions {
        display: grid;
        gap: 0.5rem;
        justify-items: start;
      }

      /* The file input stays in the page for keyboards and screen readers; its label is the button. */
      input[type='file'] {
        position: absolute;
        width: 1px;
        height: 1px;
        opacity: 0;
      }

      input[type='file']:focus-visible + label {
        outline: 3px solid var(--dl-color-focus);
        outline-offset: 2px;
      }

      label.secondary {
        display: inline-flex;
        align-items: center;
        box-sizing: border-box;
      }

      .row {
        display: flex;
        gap: 0.75rem;
        align-items: end;
      }

      .row .field {
        flex: 1;
      }

      .picture > [role='alert'],
      .picture > [role='status'] {
        grid-column: 1 / -1;
      }

      [role='alert']:empty,
      [role='status']:empty {
        display: none;
      }
    `,
  ];

  @property({ attribute: false }) user: PublicUser | undefined;

  @property({ attribute: false }) api: ApiClient = apiClient;

  @state() private pictureBusy = false;
  @state() private pictureError = '';
  @state() private pictureDone = '';
  @state() private nameBusy = false;
  @state() private nameError = '';
  @state() private nameDone = '';

  @query('#name') private nameInput!: HTMLInputElement;
  @query('#picture') private fileInput!: HTMLInputElement;

  /** Clears the messages of an earlier visit and shows the current name. */
  reset(): void {
    this.pictureError = this.pictureDone = this.nameError = this.nameDone = '';
    if (this.nameInput && this.user) this.nameInput.value = this.user.displayName;
  }

  protected override updated(changed: PropertyValues<this>): void {
    // The field follows a name changed elsewhere, unless the person is typing in it.
    if (changed.has('user') && this.user && this.nameInput && this.shadowRoot?.activeElement !== this.nameInput) {
      this.nameInput.value = this.user.displayName;
    }
  }

  protected override render() {
    const user = this.user;
    if (user === undefined) return nothing;
    return html`
      <h3>Profile</h3>
      <div class="picture">
        ${userAvatar(user)}
        <div class="picture-actions">
          <input
            id="picture"
            type="file"
            accept="image/png,image/jpeg,image/webp"
            aria-describedby="picture-hint"
            ?disabled=${this.pictureBusy}
            @change=${this.#onFileChosen}
          />
          <label class="secondary" for="picture">${user.avatarUrl ? 'Change picture' : 'Upload a picture'}</label>
          ${
            user.avatarUrl
              ? html`<button class="secondary" type="button" ?disabled=${this.pictureBusy} @click=${this.#onRemove}>
                Remove picture
              </button>`
              : nothing
          }
          <p class="hint" id="picture-hint">PNG, JPEG or WebP, at most ${AVATAR_MAX_BYTES / 1024 / 1024} MB. It is cut to a square from the middle.</p>
        </div>
        <p class="alert" role="alert">${this.pictureError}</p>
        <p class="success" role="status">${this.pictureDone}</p>
      </div>
      <form @submit=${this.#onSaveName}>
        <div class="row">
          <div class="field">
            <label for="name">Name</label>
            <input id="name" name="name" autocomplete="name" required .value=${user.displayName} />
          </div>
          <button class="primary" type="submit" ?disabled=${this.nameBusy}>Save name</button>
        </div>
      </form>
      <p class="alert" role="alert">${this.nameError}</p>
      <p class="success" role="status">${this.nameDone}</p>
    `;
  }

  async #onFileChosen(): Promise<void> {
    const file = this.fileInput.files?.[0];
    if (file === undefined) return;
    await this.#changePicture(() => this.api.setAvatar({ body: file }), 'Your picture was saved.');
    // Choosing the same file again must fire `change` again.
    this.fileInput.value = '';
  }

  async #onRemove(): Promise<void> {
    await this.#changePicture(() => this.api.removeAvatar(), 'Your picture was removed.');
  }

  async #changePicture(request: () => Promise<PublicUser>, done: string): Promise<void> {
    if (this.pictureBusy) return;
    this.pictureBusy = true;
    this.pictureError = this.pictureDone = '';
    try {
      this.#announce(await request());
      this.pictureDone = done;
    } catch (error) {
      debug('picture not changed', error);
      this.pictureError = errorMessage(error);
    } finally {
      this.pictureBusy = false;
    }
  }

  async #onSaveName(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    if (this.nameBusy) return;
    this.nameBusy = true;
    this.nameError = this.nameDone = '';
    try {
      const body = { displayName: this.nameInput.value };
      const user = await this.api.updateProfile({ body });
      this.nameInput.value = user.displayName;
      this.#announce(user);
      this.nameDone = 'Your name was saved.';
    } catch (error) {
      debug('name not changed', error);
      this.nameError = errorMessage(error);
    } finally {
      this.nameBusy = false;
    }
  }

  #announce(user: PublicUser): void {
    this.dispatchEvent(new CustomEvent<PublicUser>('user-change', { detail: user, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-profile-settings': DlProfileSettings;
  }
}
