import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { HOLD_MUSIC_ID, promptFile, type PromptLanguage, type PromptName } from '@deskline/protocol';

/** How much newer than the `.au` beside it a `.wav` must be to count as a replacement of both (see `playableFile`). */
const REPLACED_AFTER_MS = 2000;

/**
 * What rtpengine plays for a `<base>.wav`: the `<base>.au` beside it when there is one, G.711 μ-law
 * in a Sun audio file (scripts/make-media.sh writes both for the built-in media, signaling's upload
 * conversion for a manager's prompt or music). rtpengine 10.5 reads a `.au` 64 ms at
 * a time and sends its packets evenly, 20 ms apart; it reads a WAV 256 ms at a time and sends each
 * read's packets in a burst, leaving the caller 0.1–0.3 s without audio between bursts, at more cost
 * per caller (bench/README.md, "hold-music-cost.ts"). The `.wav` stays for the panel, which plays it
 * in the browser (browsers do not play `.au`), and plays itself where there is no `.au` (a clinic's
 * own media folder, an upload from before the `.au`s), or when it is more than 2 s newer than the `.au` (replaced in place, as
 * pbx-config/media/README.md described before): the old music must not play on. One or two stats,
 * at each play: a file replaced takes effect at the next call.
 */
export function playableFile(wav: string): string {
  const au = `${wav.slice(0, -path.extname(wav).length)}.au`;
  if (!existsSync(au)) return wav;
  try {
    return statSync(wav).mtimeMs > statSync(au).mtimeMs + REPLACED_AFTER_MS ? wav : au;
  } catch {
    return au; // no .wav: the .au alone
  }
}

/**
 * Where the files a caller hears are, as rtpengine sees them (it plays files by path). The built-in
 * prompts are `<MEDIA_DIR>/prompts/<lang>/<name>.wav` (scripts/make-media.sh); a manager's upload,
 * `<PROMPTS_DIR>/<lang>/<name>.wav` (signaling writes it, docs/call-plan.md "Prompts"), replaces the
 * built-in one: resolved here, so that every caller of `prompt()` gets it. Both come with a `.au`
 * beside the `.wav` (make-media.sh, signaling's conversion), which is what rtpengine is given
 * (`playableFile`).
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
   * The prompt `name` in `language`: the manager's upload when there is one (its `.wav` is there),
   * else the built-in one. Synchronous (a few stats): signaling replaces an upload by renaming
   * finished files over it, so a file that exists is whole, and the next call hears a new upload at
   * once.
   */
  prompt(language: PromptLanguage, name: PromptName): string {
    if (this.promptsDir !== undefined) {
      const uploaded = path.join(this.promptsDir, promptFile(language, name));
      if (existsSync(uploaded)) return playableFile(uploaded);
    }
    return this.builtInPrompt(language, name);
  }

  /**
   * The prompt `name` in each of `languages` (a call plan's), in that order: what a caller hears of
   * one prompt (the intro, the menu, the closed message …), one language after the other.
   */
  promptInEach(languages: readonly PromptLanguage[], name: PromptName): string[] {
    return languages.map((language) => this.prompt(language, name));
  }

  /** The prompt shipped with Deskline, whatever was uploaded. */
  builtInPrompt(language: PromptLanguage, name: PromptName): string {
    return playableFile(path.join(this.mediaDir, 'prompts', promptFile(language, name)));
  }

  /** The default hold music: the built-in loop. */
  get holdMusic(): string {
    return playableFile(path.join(this.mediaDir, 'hold-music.wav'));
  }

  /**
   * A queue's hold music (its `musicId`): HOLD_MUSIC_ID is the managers' upload,
   * `<PROMPTS_DIR>/hold-music.wav`, or the built-in loop while there is none; null (or an id nothing
   * was uploaded as) is the built-in loop.
   */
  music(musicId: string | null): string {
    if (musicId === HOLD_MUSIC_ID && this.promptsDir !== undefined) {
      const uploaded = path.join(this.promptsDir, `${HOLD_MUSIC_ID}.wav`);
      if (existsSync(uploaded)) return playableFile(uploaded);
    }
    return this.holdMusic;
  }
}
