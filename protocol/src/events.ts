import type { CallView } from './calls.js';
import type { TeamMember } from './team.js';
import type { TaskView } from './tasks.js';
import type { Subject } from './subjects.js';

/** Messages the server pushes to every logged-in panel over the WebSocket at /api/push. */
export type PushEvent =
  /** `tasks`: every task not closed that the user may see (taskVisibleTo). */
  | { type: 'hello'; calls: CallView[]; team: TeamMember[]; tasks: TaskView[] }
  /** A task changed (any tab, closed included); the panel files it with taskTab and taskVisibleTo. */
  | { type: 'task'; task: TaskView }
  /** A task this user was sent is no longer theirs to see (another employee took it): drop it. */
  | { type: 'task-gone'; taskId: string }
  /** A subject was created, renamed, retired or restored. */
  | { type: 'subject'; subject: Subject }
  | { type: 'call'; call: CallView }
  | { type: 'member'; member: TeamMember }
  /** The user was disabled or deleted: no longer part of the team. */
  | { type: 'member-gone'; userId: string };

/**
 * The close code of a push socket whose session ended (logout, the user disabled, a password change
 * or reset, expiry): the panel stops and shows the login page instead of reconnecting.
 */
export const PUSH_SESSION_ENDED_CLOSE_CODE = 4001;

/**
 * The close code of every push socket of a signaling instance that is stopping (a restart, an
 * upgrade): the session goes on, and the panel opens a new socket at once, which the proxy gives to
 * another instance (docs/scaling.md, "Two signaling instances"). Its `hello` carries the whole state
 * again, so nothing that changed in between is missed.
 */
export const PUSH_SERVER_RESTARTING_CLOSE_CODE = 4002;

/** What the sip app records on the call-events stream. */
export interface CallEvent {
  call: CallView;
}
