import type { ChainableCommander } from 'ioredis';
import { RedisStreams } from '@deskline/protocol';

/** The stream keeps about this many entries; readers only follow new ones. */
const TEAM_EVENTS_MAX_LENGTH = 10_000;

/**
 * Adds "this member changed" (name, picture, …) to a MULTI, so the change and its announcement are
 * written together: signaling pushes the member afresh to every panel (see RedisStreams.teamEvents).
 */
export function announceMemberChange(multi: ChainableCommander, userId: string): ChainableCommander {
  return multi.xadd(RedisStreams.teamEvents, 'MAXLEN', '~', String(TEAM_EVENTS_MAX_LENGTH), '*', 'userId', userId);
}
