import type { Static } from '@sinclair/typebox';
import { Type } from './schema-builders.js';
import { DISPLAY_NAME_MAX_LENGTH, PASSWORD_MAX_LENGTH } from './api.js';

/**
 * The user's own settings (issue 4, "The user panel"): name, picture, password and preferences.
 * The routes are under /api/me; see docs/architecture.md, "User settings".
 */

/** An uploaded picture may be at most this large (bytes), before it is resized. */
export const AVATAR_MAX_BYTES = 2 * 1024 * 1024;

/** Uploads are refused above this many pixels (width × height): a decompression-bomb guard. */
export const AVATAR_MAX_INPUT_PIXELS = 25_000_000;

/** Stored pictures are squares of this many pixels a side (centre crop), as WebP. */
export const AVATAR_SIZE = 256;

/** PUT /api/me/profile */
export const UpdateProfileBodySchema = Type.Object(
  { displayName: Type.String({ maxLength: DISPLAY_NAME_MAX_LENGTH * 2 }) },
  { additionalProperties: false },
);

/** PUT /api/me/password: answered with a new SessionInfo (new cookie and CSRF token). */
export const ChangePasswordBodySchema = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH * 4 }),
    // The length rules are checked by passwordProblem, which says what is wrong in words.
    newPassword: Type.String({ maxLength: PASSWORD_MAX_LENGTH * 4 }),
  },
  { additionalProperties: false },
);

/** GET and PUT /api/me/preferences: choices kept per user on the server, so they follow the login. */
export const UserPreferencesSchema = Type.Object(
  {
    /** Show a browser notification for every incoming call. */
    notifications: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type UserPreferences = Static<typeof UserPreferencesSchema>;
