import type { Static } from '@sinclair/typebox';
import { Type } from './schema-builders.js';
import { AgentStateSchema, WorkstationSchema } from './api.js';
import { RoleSchema } from './roles.js';
import { PauseReasonSchema } from './distribution.js';

/**
 * The team as every panel shows it (issue 4, "Presence"): avatar, name, workstation and a status dot.
 * Signaling builds a TeamMember from the user's hash, the agent's hash and the online set, and pushes
 * it whenever any of them changes (see RedisStreams.teamEvents).
 */
export const TeamMemberSchema = Type.Object({
  userId: Type.String(),
  displayName: Type.String(),
  role: RoleSchema,
  /** `/api/users/<id>/avatar?v=<version>`; absent when the user has no avatar. */
  avatarUrl: Type.Optional(Type.String()),
  /** `offline` when the user is not on a workstation. */
  state: AgentStateSchema,
  workstation: Type.Optional(WorkstationSchema),
  /** Epoch ms at which a pause ends by itself; only when `state` is `paused`. */
  pausedUntil: Type.Optional(Type.Integer()),
  /** While paused by the distribution settings: `wrap-up` after a call, `no-answer` after missed rings. */
  pauseReason: Type.Optional(PauseReasonSchema),
  /**
   * A manager took the user off their workstation (`by`, their name, at epoch ms `at`); only while
   * `state` is `offline`, until the user picks a workstation again.
   */
  forcedOff: Type.Optional(Type.Object({ by: Type.String(), at: Type.Integer() })),
  /** The user has the app open now (at least one push socket, on any signaling instance). */
  online: Type.Boolean(),
});
export type TeamMember = Static<typeof TeamMemberSchema>;

/**
 * The dot next to the avatar. `inactive` (grey) is a paused user; `busy` is ringing or on a call;
 * `offline` is not taking calls (no workstation, or the app is closed).
 */
export type PresenceDot = 'available' | 'busy' | 'inactive' | 'offline';

export function presenceDot(member: Pick<TeamMember, 'state' | 'online'>): PresenceDot {
  switch (member.state) {
    case 'available':
      return member.online ? 'available' : 'offline';
    case 'ringing':
    case 'on-call':
      return 'busy';
    case 'paused':
      return 'inactive';
    case 'offline':
      return 'offline';
  }
}

/** The URL an avatar is served at; the version changes with every upload, so caches never go stale. */
export function avatarUrl(userId: string, version: string): string {
  return `/api/users/${encodeURIComponent(userId)}/avatar?v=${encodeURIComponent(version)}`;
}
