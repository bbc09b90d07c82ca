import type { Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { Type } from './schema-builders.js';

/**
 * A voicemail message (issue 15) and, later, a call recording (issue 18): the audio is a file of its
 * own in RECORDINGS_DIR named by the random id (never the patient's number), served only by
 * GET /api/voicemail/:id/audio; this is its metadata, kept in Redis as long as the other patient data.
 */

/** A message's id: 32 lower-case hex digits (128 random bits). Anything else is not a message. */
export const VOICEMAIL_ID_PATTERN = /^[0-9a-f]{32}$/;

/** The audio's format: MP3, mono, 16 kHz (sox from Debian encodes it; every browser plays it). */
export const VOICEMAIL_CONTENT_TYPE = 'audio/mpeg';
export const VOICEMAIL_FILE_EXTENSION = '.mp3';

/** A message shorter than this much sound is no message: the call ends abandoned in voicemail. */
export const VOICEMAIL_MIN_SOUND_MS = 1_000;
/** This much silence ends a message. */
export const VOICEMAIL_SILENCE_END_MS = 5_000;

export const VoicemailMessageSchema = Type.Object(
  {
    id: Type.String({ pattern: VOICEMAIL_ID_PATTERN.source }),
    /** The call that left it. */
    callId: Type.String(),
    /** The patient's number as the trunk presented it. */
    from: Type.String(),
    /** The clinic line that was dialled. */
    line: Type.String(),
    /** The message's length in ms (what the file holds). */
    durationMs: Type.Integer({ minimum: 0 }),
    /** Epoch ms: when the recording started. */
    createdAt: Type.Integer(),
    /** The file's size in bytes. */
    size: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type VoicemailMessage = Static<typeof VoicemailMessageSchema>;

/** True when `value` is a whole VoicemailMessage (a stored record read back). */
export function isVoicemailMessage(value: unknown): value is VoicemailMessage {
  return Value.Check(VoicemailMessageSchema, value);
}

/** Where an <audio> element loads message `id` from (API_ROUTES.voicemailAudio). */
export function voicemailAudioPath(id: string): string {
  return `/api/voicemail/${encodeURIComponent(id)}/audio`;
}

export const VoicemailParamsSchema = Type.Object(
  { id: Type.String({ pattern: VOICEMAIL_ID_PATTERN.source }) },
  { additionalProperties: false },
);

/** One play of a message, as the audit log keeps it (GET /api/voicemail/audit, managers). */
export const VoicemailPlaySchema = Type.Object(
  {
    voicemailId: Type.String(),
    userId: Type.String(),
    /** Epoch ms. */
    at: Type.Integer(),
    /** The Range header asked, or '' for the whole file. */
    range: Type.String(),
  },
  { additionalProperties: false },
);
export type VoicemailPlay = Static<typeof VoicemailPlaySchema>;

export const VoicemailAuditSchema = Type.Object(
  { plays: Type.Array(VoicemailPlaySchema) },
  { additionalProperties: false },
);
export type VoicemailAudit = Static<typeof VoicemailAuditSchema>;
