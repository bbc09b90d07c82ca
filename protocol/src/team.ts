import type { AgentState } from './agents.js';
import type { Role } from './roles.js';
import type { WorkstationKind } from './api.js';

/**
 * The team as every panel shows it (issue 4, "Presence"): avatar, name, workstation and a status dot.
 * Signaling builds a TeamMember from the user's hash, the agent's hash and the online set, and pushes
 * it whenever any of them changes (see RedisStreams.teamEvents).
 */
export interface TeamMember {
  userId: string;
  displayName: string;
  role: Role;
  /** `/api/users/<id>/avatar?v=<version>`; absent when the user has no avatar. */
  avatarUrl?: string;
  /** `offline` when the user is not on a workstation. */
  state: AgentState;
  workstation?: { id: string; name: string; kind: WorkstationKind };
  /** Epoch ms at which a pause ends by itself; only when `state` is `paused`. */
  pausedUntil?: number;
  /** The user has the app open now (at least one push socket, on any signaling instance). */
  online: boolean;
}

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
