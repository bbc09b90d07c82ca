import {
  HOLD_MUSIC_AUDIO_URL,
  HOLD_MUSIC_MAX_SECONDS,
  PROMPT_LANGUAGES,
  PROMPT_MAX_SECONDS,
  PROMPT_UPLOAD_MAX_BYTES,
  promptAudioUrl,
  promptDescription,
  type HoldMusicInfo,
  type PromptInfo,
  type PromptLanguage,
  type PromptName,
} from '@deskline/protocol';
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { apiClient, type ApiClient } from '../services/api-client.js';
import { errorMessage } from '../services/error-message.js';
import {
  alertStyles,
  controlStyles,
  secondaryButtonStyles,
  successStyles,
  visuallyHiddenStyles,
} from '../styles/shared-styles.js';
import { panelStyles } from '../styles/panel-styles.js';

const LANGUAGE_NAMES: Record<PromptLanguage, string> = { en: 'English', pl: 'Polski' };

/** "1:05" or "0:07.5" for the list: tenths under a minute. */
function duration(ms: number): string {
  const tenths = Math.round(ms / 100);
  const whole = Math.floor(tenths / 10);
  const clock = `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
  return whole < 60 && tenths % 10 !== 0 ? `${clock}.${tenths % 10}` : clock;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

const key = (prompt: { language: string; name: string }): string => `${prompt.language}/${prompt.name}`;
/** The player's and the busy flag's name for the hold music. */
const MUSIC = 'hold music';

/** "Built-in", or who uploaded it and when. */
function source(recording: HoldMusicInfo) {
  if (recording.source === 'built-in') return 'Built-in';
  const by = recording.uploadedBy ? ` by ${recording.uploadedBy.displayName}` : '';
  const at = recording.uploadedAt ? `, ${dateTime.format(new Date(recording.uploadedAt))}` : '';
  return `Uploaded${by}${at}`;
}

/**
 * The prompts callers hear, for managers (docs/call-plan.md, "Prompts"): per language, each prompt
 * with where it comes from (built-in, or whose recording since when) and its length; Play previews
 * it in the page, Upload replaces it with a recording (WAV, MP3 or Ogg, converted by signaling), and
 * Use built-in brings the shipped one back. Talks to /api/settings/prompts itself through `api`; a
 * refusal is shown in the server's words.
 */
@customElement('dl-prompts-admin')
export class DlPromptsAdmin extends LitElement {
  static override styles = [
    controlStyles,
    panelStyles,
    alertStyles,
    successStyles,
    secondaryButtonStyles,
    visuallyHiddenStyles,
    css`
      p {
        margin: 0 0 0.75rem;
      }

      .languages {
        display: flex;
        gap: 0.5rem;
        margin-bottom: 0.75rem;
      }

      .languages button[aria-pressed='true'] {
        font-weight: 700;
        border-color: var(--dl-color-accent, currentColor);
      }

      .player {
        display: flex;
        align-items: center;
        gap: 0.75rem;
        margin-bottom: 0.75rem;
      }

      audio {
        height: 2rem;
      }

      table {
        width: 100%;
        border-collapse: collapse;
      }

      th,
      td {
        text-align: left;
        vertical-align: top;
        padding: 0.4rem 0.5rem;
        border-bottom: 1px solid var(--dl-color-border);
      }

      td.what {
        color: var(--dl-color-muted, inherit);
        font-size: 0.9em;
      }

      .actions {
        display: flex;
        flex-wrap: wrap;
        gap: 0.35rem;
      }

      .actions.music {
        margin-bottom: 1rem;
      }

      h3 {
        font-size: 1rem;
        margin: 0.5rem 0;
      }

      .actions button {
        padding: 0.2rem 0.6rem;
      }
    `,
  ];

  @property({ attribute: false }) api: ApiClient = apiClient;
  @state() private prompts: PromptInfo[] | undefined;
  @state() private holdMusic: HoldMusicInfo | undefined;
  @state() private language: PromptLanguage = 'en';
  @state() private error = '';
  @state() private done = '';
  /** The prompt being uploaded or reverted ("<lang>/<name>"). */
  @state() private busy = '';
  /** What the player holds ("<lang>/<name>"). */
  @state() private playing = '';
  @query('audio') private player!: HTMLAudioElement;
  @query('input[type=file]') private fileInput!: HTMLInputElement;
  /** What the file picker was opened for: a prompt, or the hold music. */
  #uploadFor: PromptInfo | typeof MUSIC | undefined;
  /** Changes with each upload and revert, so that the player fetches the file again. */
  #version = 0;

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (!this.hasUpdated || changed.has('api')) void this.#load();
  }

  async #load(): Promise<void> {
    this.error = '';
    try {
      const list = await this.api.listPrompts();
      this.prompts = list.prompts;
      this.holdMusic = list.holdMusic;
    } catch (error) {
      this.error = errorMessage(error);
    }
  }

  #replace(info: PromptInfo | HoldMusicInfo): void {
    const which = 'language' in info ? key(info) : MUSIC;
    if ('language' in info) this.prompts = this.prompts?.map((prompt) => (key(prompt) === which ? info : prompt));
    else this.holdMusic = info;
    this.#version += 1;
    // The player holds the old file: the next Play fetches the new one.
    if (this.playing === which) {
      this.player.removeAttribute('src');
      this.player.load();
      this.playing = '';
    }
  }

  #play(prompt: PromptInfo | typeof MUSIC): void {
    this.error = '';
    const player = this.player;
    const url = prompt === MUSIC ? HOLD_MUSIC_AUDIO_URL : promptAudioUrl(prompt.language, prompt.name as PromptName);
    player.src = `${url}?v=${this.#version}`;
    this.playing = prompt === MUSIC ? MUSIC : key(prompt);
    player.play().catch(() => {
      // A browser that will not play before a click on the player itself: the controls are there.
    });
  }

  #pick(prompt: PromptInfo | typeof MUSIC): void {
    this.#uploadFor = prompt;
    this.fileInput.value = '';
    this.fileInput.click();
  }

  async #onFile(): Promise<void> {
    const file = this.fileInput.files?.[0];
    const prompt = this.#uploadFor;
    if (!file || !prompt) return;
    this.error = '';
    this.done = '';
    if (file.size > PROMPT_UPLOAD_MAX_BYTES) {
      this.error = `"${file.name}" is larger than ${PROMPT_UPLOAD_MAX_BYTES / 1024 / 1024} MB. Shorten it or save it as MP3.`;
      return;
    }
    this.busy = prompt === MUSIC ? MUSIC : key(prompt);
    try {
      const info =
        prompt === MUSIC
          ? await this.api.setHoldMusic({ body: file })
          : await this.api.setPrompt({ params: { lang: prompt.language, name: prompt.name }, body: file });
      this.#replace(info);
      const as = prompt === MUSIC ? 'the hold music' : `${prompt.name} (${LANGUAGE_NAMES[prompt.language]})`;
      this.done = `"${file.name}" now plays as ${as}, ${duration(info.durationMs)} long.`;
    } catch (error) {
      this.error = `"${file.name}" was not used: ${errorMessage(error)}`;
    } finally {
      this.busy = '';
    }
  }

  async #revert(prompt: PromptInfo | typeof MUSIC): Promise<void> {
    this.error = '';
    this.done = '';
    this.busy = prompt === MUSIC ? MUSIC : key(prompt);
    try {
      if (prompt === MUSIC) {
        this.#replace(await this.api.resetHoldMusic());
        this.done = 'The built-in hold music plays again.';
      } else {
        this.#replace(await this.api.resetPrompt({ params: { lang: prompt.language, name: prompt.name } }));
        this.done = `${prompt.name} (${LANGUAGE_NAMES[prompt.language]}) is the built-in prompt again.`;
      }
    } catch (error) {
      this.error = errorMessage(error);
    } finally {
      this.busy = '';
    }
  }

  protected override render() {
    return html`
      <section class="card" aria-labelledby="prompts-title">
        <h2 id="prompts-title">Prompts</h2>
        <p>
          What callers hear, in each language. Replace a prompt with your own recording (WAV, MP3 or Ogg, up to
          ${PROMPT_UPLOAD_MAX_BYTES / 1024 / 1024} MB and ${PROMPT_MAX_SECONDS} seconds): it is converted for the
          telephone and brought to the same loudness as the others, and the next call hears it.
        </p>
        ${this.error === '' ? nothing : html`<p class="alert" role="alert">${this.error}</p>`}
        <p class="success" role="status" ?hidden=${this.done === ''}>${this.done}</p>
        <div class="player">
          <audio controls preload="none" aria-label="Preview"></audio>
          <span>${this.playing === '' ? 'Choose Play on a prompt to hear it.' : `Playing ${this.playing}`}</span>
        </div>
        ${this.holdMusic ? this.#renderHoldMusic(this.holdMusic) : nothing}
        <div class="languages" role="group" aria-label="Language">
          ${PROMPT_LANGUAGES.map(
            (language) =>
              html`<button
                type="button"
                class="secondary"
                aria-pressed=${language === this.language ? 'true' : 'false'}
                @click=${() => (this.language = language)}
              >
                ${LANGUAGE_NAMES[language]}
              </button>`,
          )}
        </div>
        <input
          class="visually-hidden"
          type="file"
          tabindex="-1"
          aria-hidden="true"
          accept=".wav,.mp3,.ogg,.oga,.flac,audio/wav,audio/mpeg,audio/ogg,audio/flac"
          @change=${() => void this.#onFile()}
        />
        ${this.prompts ? this.#renderTable(this.prompts.filter((p) => p.language === this.language)) : nothing}
      </section>
    `;
  }

  /** Play, Upload… and (for an upload) Use built-in, for a prompt or the hold music; `label` names it for screen readers. */
  #renderActions(target: PromptInfo | typeof MUSIC, label: string, recording: HoldMusicInfo, className: string) {
    const busy = this.busy === (target === MUSIC ? MUSIC : key(target));
    return html`<div class=${className}>
      <button type="button" class="secondary" aria-label=${`Play ${label}`} @click=${() => this.#play(target)}>Play</button>
      <button
        type="button"
        class="secondary"
        aria-label=${`Upload ${label}`}
        ?disabled=${busy}
        @click=${() => this.#pick(target)}
      >
        ${busy ? 'Working…' : 'Upload…'}
      </button>
      ${
        recording.source === 'uploaded'
          ? html`<button
              type="button"
              class="secondary"
              aria-label=${`Use built-in ${label}`}
              ?disabled=${busy}
              @click=${() => void this.#revert(target)}
            >
              Use built-in
            </button>`
          : nothing
      }
    </div>`;
  }

  #renderHoldMusic(music: HoldMusicInfo) {
    return html`
      <h3>Hold music</h3>
      <p>
        ${source(music)}, ${duration(music.durationMs)}, repeated while a caller waits. Your own: up to
        ${HOLD_MUSIC_MAX_SECONDS / 60} minutes, and only music you may play to callers.
      </p>
      ${this.#renderActions(MUSIC, 'hold music', music, 'actions music')}
      <h3>Spoken prompts</h3>
    `;
  }

  #renderTable(prompts: PromptInfo[]) {
    return html`
      <table aria-label=${`Prompts in ${LANGUAGE_NAMES[this.language]}`}>
        <thead>
          <tr>
            <th scope="col">Prompt</th>
            <th scope="col">What it says</th>
            <th scope="col">Source</th>
            <th scope="col">Length</th>
            <th scope="col"><span class="visually-hidden">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          ${prompts.map((prompt) => {
            return html`<tr>
              <th scope="row">${prompt.name}</th>
              <td class="what">${promptDescription(prompt.name as PromptName)}</td>
              <td>${source(prompt)}</td>
              <td>${duration(prompt.durationMs)}</td>
              <td>
                ${this.#renderActions(prompt, `${prompt.name} (${LANGUAGE_NAMES[prompt.language]})`, prompt, 'actions')}
              </td>
            </tr>`;
          })}
        </tbody>
      </table>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dl-prompts-admin': DlPromptsAdmin;
  }
}
