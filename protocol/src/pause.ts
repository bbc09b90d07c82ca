import type { Static } from '@sinclair/typebox';
import { Type } from './schema-builders.js';
import { RedisChannels, RedisKeys, RedisStreams, TEAM_EVENTS_MAX_LENGTH } from './redis-keys.js';

/**
 * Pausing incoming calls (docs/presence-and-pause.md). The pause lives in Redis: the agent hash has
 * state `paused`, `pausedUntil` and `pausedAt`, and `agents:pause-ends` holds every pause's end. Both
 * signaling and the sip app end due pauses with END_PAUSES, so either alone suffices.
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

const AGENT_PREFIX = RedisKeys.agent('');
const CALL_PREFIX = RedisKeys.call('');

/**
 * Ends pauses: with ARGV[2] empty, every pause whose `pausedUntil` has come (the timers of both
 * services run this); with a userId, that user's pause now ("I'm back"). Idempotent: a pause that was
 * ended, replaced by a later end, or whose agent logged out is left alone (and dropped from the
 * schedule). An ended pause makes the agent `available` (idleSince now, into agents:idle) and wakes
 * the router, unless the agent paused during a call that is still going on: then the agent is back
 * `ringing` or `on-call` for it, and the sip app's release makes them available when it ends. The
 * hash keeps the pause's span (lastPausedAt, lastPauseEndedAt) for the missed-calls list. Each ended
 * pause is a team event.
 *
 * The agent and call keys are built from the user and call ids inside the script; Deskline runs on
 * one Redis (or Sentinel), not Redis Cluster.
 *
 *   KEYS: agents:pause-ends, agents:idle, stream:team-events
 *   ARGV: now (epoch ms), userId or '', the stream's MAXLEN
 *   returns: the userIds whose pause ended
 */
export const END_PAUSES_SCRIPT = `
local now = tonumber(ARGV[1])
local users
if ARGV[2] == '' then
  users = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
else
  users = { ARGV[2] }
end
local ended = {}
for _, userId in ipairs(users) do
  local agentKey = '${AGENT_PREFIX}' .. userId
  local agent = redis.call('HMGET', agentKey, 'state', 'pausedUntil', 'pausedAt', 'callId')
  local pausedUntil = tonumber(agent[2])
  if agent[1] ~= 'paused' then
    redis.call('ZREM', KEYS[1], userId)
  elseif ARGV[2] == '' and pausedUntil and pausedUntil > now then
    redis.call('ZADD', KEYS[1], pausedUntil, userId)
  else
    redis.call('ZREM', KEYS[1], userId)
    local state = 'available'
    if agent[4] then
      local callState = redis.call('HGET', '${CALL_PREFIX}' .. agent[4], 'state')
      if callState == 'bridged' then
        state = 'on-call'
      elseif callState == 'ringing' then
        state = 'ringing'
      else
        redis.call('HDEL', agentKey, 'callId')
      end
    end
    redis.call('HDEL', agentKey, 'pausedUntil', 'pausedAt')
    redis.call('HSET', agentKey, 'state', state, 'lastPausedAt', agent[3] or ARGV[1], 'lastPauseEndedAt', ARGV[1])
    if state == 'available' then
      redis.call('HSET', agentKey, 'idleSince', ARGV[1])
      redis.call('ZADD', KEYS[2], now, userId)
      redis.call('PUBLISH', '${RedisChannels.routeWake}', userId)
    end
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'userId', userId)
    redis.call('PUBLISH', '${RedisChannels.pauseChanged}', userId)
    ended[#ended + 1] = userId
  end
end
return ended`;

/** The KEYS and ARGV of END_PAUSES_SCRIPT, in order: `redis.eval(END_PAUSES_SCRIPT, ...endPausesArgs(now))`. */
export function endPausesArgs(now: number, userId = ''): [3, string, string, string, string, string, string] {
  return [
    3,
    RedisKeys.pauseEnds,
    RedisKeys.idleAgents,
    RedisStreams.teamEvents,
    String(now),
    userId,
    String(TEAM_EVENTS_MAX_LENGTH),
  ];
}

/**
 * A timer for the next pause end. setTimeout holds at most 2^31-1 ms (24.8 days); a longer wait is
 * cut there and simply looked at again.
 */
export function pauseTimerDelay(nextEnd: number, now: number): number {
  return Math.min(Math.max(0, nextEnd - now), 2 ** 31 - 1);
}
