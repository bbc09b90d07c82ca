import type { Static } from '@sinclair/typebox';
import { Type } from './schema-builders.js';

/**
 * Pausing incoming calls (docs/presence-and-pause.md): what the browser asks for and sees. The pause
 * itself lives in Redis, moved only through @deskline/store's AgentRecord.
 */

/** The durations the user menu offers, in minutes. The API accepts any whole number up to the maximum. */
export const PAUSE_MINUTES_CHOICES = [5, 10, 15, 30, 60] as const;
/** What "+5 minutes" adds to the end of a pause. */
export const PAUSE_EXTEND_MINUTES = 5;
/** A pause, extensions included, lasts at most this long from its start. */
export const PAUSE_MAX_MINUTES = 240;

/** PUT /api/pause (start, or replace the end of a running pause) and POST /api/pause/extend. */
export const PauseBodySchema = Type.Object(
  { minutes: Type.Integer({ minimum: 1, maximum: PAUSE_MAX_MINUTES }) },
  { additionalProperties: false },
);

/** A patient who hung up before anyone answered, while the user was paused. */
export const MissedCallSchema = Type.Object({
  /** The call's id (CallView `id`). */
  id: Type.String(),
  /** The patient's number. */
  from: Type.String(),
  /** Epoch ms at which the patient hung up. */
  endedAt: Type.Integer(),
});
export type MissedCall = Static<typeof MissedCallSchema>;

/**
 * GET /api/pause/missed: the calls abandoned during the user's last pause (between `from` and `to`),
 * oldest first, until the user dismisses them. Empty, without `from` and `to`, when there is nothing
 * to show.
 */
export const MissedCallsSchema = Type.Object({
  from: Type.Optional(Type.Integer()),
  to: Type.Optional(Type.Integer()),
  calls: Type.Array(MissedCallSchema),
});
export type MissedCalls = Static<typeof MissedCallsSchema>;
