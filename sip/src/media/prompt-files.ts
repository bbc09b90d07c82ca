import path from 'node:path';
import type { PromptLanguage, PromptName } from '@deskline/protocol';

/**
 * Where the files a caller hears are, as rtpengine sees them (it plays files by path). The built-in
 * prompts are `<MEDIA_DIR>/prompts/<lang>/<name>.wav` (scripts/make-media.sh); a manager's upload,
 * when there is one, replaces a prompt (issue 15: resolved here, so that every caller of `prompt()`
 * gets it).
 */
export class PromptFiles {
  constructor(private readonly mediaDir: string) {}

  /** The prompt `name` in `language`. */
  prompt(language: PromptLanguage, name: PromptName): string {
    return path.join(this.mediaDir, 'prompts', language, `${name}.wav`);
  }

  /** The default hold music. */
  get holdMusic(): string {
    return path.join(this.mediaDir, 'hold-music.wav');
  }
}
