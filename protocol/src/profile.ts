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
export interface UpdateProfileRequest {
  displayName: string;
}

/** PUT /api/me/password: answered with a new SessionInfo (new cookie and CSRF token). */
export interface ChangePasswordRequest {
  currentPassword: string;
  newPassword: string;
}

/** GET and PUT /api/me/preferences: choices kept per user on the server, so they follow the login. */
export interface UserPreferences {
  /** Show a browser notification for every incoming call. */
  notifications: boolean;
}
