import { existsSync } from 'node:fs';
import path from 'node:path';
import { HOLD_MUSIC_ID, promptFile, type PromptLanguage, type PromptName } from '@deskline/protocol';

/**
 * Where the files a caller hears are, as rtpengine sees them (it plays files by path). The built-in
 * prompts are `<MEDIA_DIR>/prompts/<lang>/<name>.wav` (scripts/make-media.sh); a manager's upload,
 * `<PROMPTS_DIR>/<lang>/<name>.wav` (signaling writes it, docs/call-plan.md "Prompts"), replaces the
 * built-in one: resolved here, so that every caller of `prompt()` gets it.
 */
export class PromptFiles {
  /** The sip app's: the built-in media and the managers' uploads (build it this way, so that uploads play). */
  static fromConfig(config: { MEDIA_DIR: string; PROMPTS_DIR: string }): PromptFiles {
    return new PromptFiles(config.MEDIA_DIR, config.PROMPTS_DIR);
  }

  /** Without `promptsDir`, only the built-in prompts. */
  constructor(
    private readonly mediaDir: string,
    private readonly promptsDir?: string,
  ) {}

  /**
   * The prompt `name` in `language`: the manager's upload when there is one, else the built-in one.
   * Synchronous (one stat): signaling replaces an upload by renaming a finished file over it, so a
   * file that exists is whole, and the next call hears a new upload at once.
   */
  prompt(language: PromptLanguage, name: PromptName): string {
    if (this.promptsDir !== undefined) {
      const uploaded = path.join(this.promptsDir, promptFile(language, name));
      if (existsSync(uploaded)) return uploaded;
    }
    return this.builtInPrompt(language, name);
  }

  /** The prompt shipped with Deskline, whatever was uploaded. */
  builtInPrompt(language: PromptLanguage, name: PromptName): string {
    return path.join(this.mediaDir, 'prompts', promptFile(language, name));
  }

  /** The default hold music: the built-in loop. */
  get holdMusic(): string {
    return path.join(this.mediaDir, 'hold-music.wav');
  }

  /**
   * A queue's hold music (its `musicId`): HOLD_MUSIC_ID is the managers' upload,
   * `<PROMPTS_DIR>/hold-music.wav`, or the built-in loop while there is none; null (or an id nothing
   * was uploaded as) is the built-in loop.
   */
  music(musicId: string | null): string {
    if (musicId === HOLD_MUSIC_ID && this.promptsDir !== undefined) {
      const uploaded = path.join(this.promptsDir, `${HOLD_MUSIC_ID}.wav`);
      if (existsSync(uploaded)) return uploaded;
    }
    return this.holdMusic;
  }
}
