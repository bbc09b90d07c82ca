import type { Static } from '@sinclair/typebox';
import { Type } from './schema-builders.js';
import { literalUnion } from './literal-union.js';
import {
  PROMPT_LANGUAGES,
  PROMPT_NAMES,
  PROMPT_POSITIONS,
  PROMPT_WAIT_MINUTES,
  type PromptLanguage,
  type PromptName,
} from './call-plan.js';

/**
 * The managers' own recordings of the call plan's prompts (docs/call-plan.md, "Prompts"): each
 * prompt of ALL_PROMPT_NAMES in each PROMPT_LANGUAGES language is either the built-in one
 * (scripts/make-media.sh) or a manager's upload, converted by signaling to 8 kHz mono 16-bit WAV.
 */

/** The largest upload signaling takes (413 above it). */
export const PROMPT_UPLOAD_MAX_BYTES = 10 * 1024 * 1024;
/** The longest prompt, after conversion (400 above it). */
export const PROMPT_MAX_SECONDS = 120;

/** A prompt's file, relative to the built-in prompts' folder (`<MEDIA_DIR>/prompts`) or to PROMPTS_DIR. */
export const promptFile = (language: PromptLanguage, name: PromptName): string => `${language}/${name}.wav`;

/** Where a prompt's audio is served (API_ROUTES.promptAudio), for an <audio> element's preview. */
export const promptAudioUrl = (language: PromptLanguage, name: PromptName): string =>
  `/api/settings/prompts/${encodeURIComponent(language)}/${encodeURIComponent(name)}/audio`;

/** Every prompt name, in the order a manager's screen lists them. */
export const ALL_PROMPT_NAMES: readonly PromptName[] = [
  ...PROMPT_NAMES,
  ...Array.from({ length: PROMPT_POSITIONS }, (_, i): PromptName => `position-${i + 1}`),
  ...PROMPT_WAIT_MINUTES.map((m): PromptName => `wait-${m}`),
];

const promptNameSet: ReadonlySet<string> = new Set(ALL_PROMPT_NAMES);
export const isPromptName = (name: string): name is PromptName => promptNameSet.has(name);
export const isPromptLanguage = (language: string): language is PromptLanguage =>
  (PROMPT_LANGUAGES as readonly string[]).includes(language);

/** What a manager hears in each prompt: the built-in English text, for the screen's list. */
export function promptDescription(name: PromptName): string {
  const position = /^position-(\d+)$/.exec(name);
  if (position) return `"You are number ${position[1]} in the queue."`;
  const wait = /^wait-(\d+)$/.exec(name);
  if (wait?.[1] === '60') return '"The expected waiting time is about one hour."';
  if (wait) return `"The expected waiting time is about ${wait[1]} minute${wait[1] === '1' ? '' : 's'}."`;
  return PROMPT_DESCRIPTIONS[name as (typeof PROMPT_NAMES)[number]];
}

const PROMPT_DESCRIPTIONS: Record<(typeof PROMPT_NAMES)[number], string> = {
  intro: 'The welcome every caller hears first.',
  closed: '"The clinic is closed now. Please call again during our opening hours."',
  menu: 'The menu: what each key does ("Please choose from the menu." until you record yours).',
  'callback-offer': '"To be called back without losing your place, press 1."',
  'callback-confirmed': '"Thank you. We will call you back as soon as possible. Goodbye."',
  'voicemail-greeting': '"Please leave a message after the tone…", with the tone at its end.',
  'voicemail-saved': '"Thank you, your message has been saved. Goodbye."',
  'position-many': '"There are more than 20 callers ahead of you."',
};

export const PromptParamsSchema = Type.Object({
  /** Checked by the handler, so that an unknown language or name is 404, like a path that does not exist. */
  lang: Type.String(),
  name: Type.String(),
});
export type PromptParams = Static<typeof PromptParamsSchema>;

/** What a prompt and the hold music have alike: where the file that plays comes from, and how long it is. */
const recordingFields = {
  /** `uploaded`: a manager's recording plays; `built-in`: the one shipped with Deskline. */
  source: literalUnion(['built-in', 'uploaded'] as const),
  /** How long the file that plays lasts, in milliseconds. */
  durationMs: Type.Integer({ minimum: 0 }),
  /** Uploaded ones: who uploaded it, and when (ISO 8601). */
  uploadedBy: Type.Optional(Type.Object({ userId: Type.String(), displayName: Type.String() })),
  uploadedAt: Type.Optional(Type.String()),
};

export const PromptInfoSchema = Type.Object({
  language: literalUnion(PROMPT_LANGUAGES),
  name: Type.String(),
  ...recordingFields,
});
export type PromptInfo = Static<typeof PromptInfoSchema>;

/**
 * The hold music a manager may upload in place of the built-in loop (`<MEDIA_DIR>/hold-music.wav`):
 * one file, in no language. A queue whose `musicId` is HOLD_MUSIC_ID plays it (the built-in loop
 * while there is no upload); `musicId: null` is the built-in loop.
 */
export const HOLD_MUSIC_ID = 'hold-music';
/** The longest hold music, after conversion (400 above it); it loops. */
export const HOLD_MUSIC_MAX_SECONDS = 600;
export const HoldMusicInfoSchema = Type.Object(recordingFields);
export type HoldMusicInfo = Static<typeof HoldMusicInfoSchema>;
/** Where the hold music's audio is served (API_ROUTES.holdMusicAudio). */
export const HOLD_MUSIC_AUDIO_URL = '/api/settings/hold-music/audio';

export const PromptListSchema = Type.Object({ prompts: Type.Array(PromptInfoSchema), holdMusic: HoldMusicInfoSchema });
export type PromptList = Static<typeof PromptListSchema>;
