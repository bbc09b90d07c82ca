/**
 * Test prompts for the call plan's announcements (issue 15): each prompt a tone of its own, laid out
 * as PromptFiles expects (`<MEDIA_DIR>/prompts/<lang>/<name>.wav` and its `.au`), so that a patient's phone can tell
 * from the tone which prompt it hears, and when.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PROMPT_LANGUAGES, PROMPT_NAMES, PROMPT_POSITIONS, PROMPT_WAIT_MINUTES } from '@deskline/protocol';
import { writeTone, type CallPath } from './call-path.js';

/** Every test prompt lasts this long. */
export const PROMPT_SECONDS = 1;
/** `position-<n>` for n up to this has a tone of its own (positionHz); the higher ones and position-many share one. */
export const DISTINCT_POSITIONS = 5;
/** Every `wait-<m>` (in English). */
export const WAIT_HZ = 1300;
export const CALLBACK_OFFER_HZ = 1600;
/** position-<n> above DISTINCT_POSITIONS, and position-many. */
export const HIGH_POSITION_HZ = 1900;
/** The other prompts (intro, closed, menu, …). */
export const OTHER_PROMPT_HZ = 2200;
/**
 * In Polish, every `position-<n>` and every `wait-<m>` has a tone of its own, unlike the English
 * ones: a patient's phone tells which language of an announcement it hears (en then pl).
 */
export const POLISH_POSITION_HZ = 2700;
export const POLISH_WAIT_HZ = 3500;

/** position-1 400 Hz, position-2 500 Hz, …, up to DISTINCT_POSITIONS (in English); the hold music is HOLD_MUSIC_HZ (1 kHz). */
export function positionHz(position: number): number {
  return position <= DISTINCT_POSITIONS ? 300 + 100 * position : HIGH_POSITION_HZ;
}

/** Every tone an announcement may play, to tell an announcement from the hold music. */
export const ANNOUNCEMENT_HZ = [
  ...Array.from({ length: DISTINCT_POSITIONS }, (_, index) => positionHz(index + 1)),
  HIGH_POSITION_HZ,
  WAIT_HZ,
  CALLBACK_OFFER_HZ,
  POLISH_POSITION_HZ,
  POLISH_WAIT_HZ,
];

/** Writes every prompt of every language into `mediaDir` (HOLD_MUSIC_HZ is the music call-path writes). */
export function writePromptTones(mediaDir: string): void {
  for (const language of PROMPT_LANGUAGES) {
    const dir = path.join(mediaDir, 'prompts', language);
    mkdirSync(dir, { recursive: true });
    const tones = new Map<string, number>();
    for (const name of PROMPT_NAMES) tones.set(name, name === 'callback-offer' ? CALLBACK_OFFER_HZ : OTHER_PROMPT_HZ);
    tones.set('position-many', HIGH_POSITION_HZ);
    const polish = language === 'pl';
    for (let n = 1; n <= PROMPT_POSITIONS; n++) tones.set(`position-${n}`, polish ? POLISH_POSITION_HZ : positionHz(n));
    for (const minutes of PROMPT_WAIT_MINUTES) tones.set(`wait-${minutes}`, polish ? POLISH_WAIT_HZ : WAIT_HZ);
    for (const [name, hz] of tones) writeTone(path.join(dir, name), hz, PROMPT_SECONDS);
  }
}

/** writePromptTones into the media directory of `callPath`'s sip app (callPlanHooks' prepare hook). */
export function writePromptTonesFor(callPath: CallPath): void {
  const mediaDir = callPath.appEnv['MEDIA_DIR'];
  if (!mediaDir) throw new Error('the call path has no MEDIA_DIR');
  writePromptTones(mediaDir);
}
