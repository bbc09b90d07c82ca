import type { ChainableCommander, Redis } from 'ioredis';
import { RedisStreams, TEAM_EVENTS_MAX_LENGTH } from '@deskline/store';

/**
 * Tells every signaling instance that a team member may look different now (name, avatar, role,
 * enabled, workstation, agent state, online): they read the member afresh and push it to every panel.
 */
export async function appendTeamEvent(redis: Redis, userId: string): Promise<void> {
  await redis.xadd(RedisStreams.teamEvents, 'MAXLEN', '~', TEAM_EVENTS_MAX_LENGTH, '*', 'userId', userId);
}

/** The same, as part of a MULTI: the change and its announcement are written together. */
export function announceMemberChange(multi: ChainableCommander, userId: string): ChainableCommander {
  return multi.xadd(RedisStreams.teamEvents, 'MAXLEN', '~', TEAM_EVENTS_MAX_LENGTH, '*', 'userId', userId);
}
