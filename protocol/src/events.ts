import type { CallView } from './calls.js';
import type { TeamMember } from './team.js';

/** Messages the server pushes to every logged-in panel over the WebSocket at /api/push. */
export type PushEvent =
  | { type: 'hello'; calls: CallView[]; team: TeamMember[] }
  | { type: 'call'; call: CallView }
  | { type: 'member'; member: TeamMember }
  /** The user was disabled or deleted: no longer part of the team. */
  | { type: 'member-gone'; userId: string };

/** What the sip app records on the call-events stream. */
export interface CallEvent {
  call: CallView;
}
