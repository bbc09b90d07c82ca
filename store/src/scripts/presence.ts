import { RedisKeys } from '../keys.js';

/** The Lua scripts of presence: used by signaling/ (presence.ts). */

const SOCKETS_PREFIX = RedisKeys.userSockets('');

/**
 * This instance holds a push socket of the user: its entry in presence:<userId> gets the time now.
 * The user's score in presence:online follows (the latest heartbeat of any instance). Returns 1, and
 * appends a team event, when the user was not online before.
 *   KEYS: presence:<userId>, presence:online, stream:team-events
 *   ARGV: userId, instanceId, now, timeout ms, stream MAXLEN
 */
export const PRESENCE_TOUCH = `
local now = tonumber(ARGV[3])
local cutoff = now - tonumber(ARGV[4])
local before = redis.call('ZCOUNT', KEYS[1], '(' .. cutoff, '+inf')
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[4]))
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
if before > 0 then return 0 end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'userId', ARGV[1])
return 1`;

/**
 * The user's last socket on this instance closed: the instance's entry goes. The user stays online
 * while another instance's entry is fresh; otherwise they are offline now (returns 1, team event).
 *   KEYS: presence:<userId>, presence:online, stream:team-events
 *   ARGV: userId, instanceId, now, timeout ms, stream MAXLEN
 */
export const PRESENCE_LEAVE = `
local cutoff = tonumber(ARGV[3]) - tonumber(ARGV[4])
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cutoff)
local latest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #latest > 0 then
  redis.call('ZADD', KEYS[2], latest[2], ARGV[1])
  return 0
end
redis.call('DEL', KEYS[1])
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'userId', ARGV[1])
return 1`;

/**
 * This instance is stopping while it holds a socket of the user: its entry is kept, but aged so that
 * it lapses `grace` ms from now. A panel that reconnects to another instance within the grace never
 * shows offline (that instance's TOUCH finds this entry fresh); one that does not come back is offline
 * once the grace has passed (the next SWEEP appends the team event).
 *   KEYS: presence:<userId>, presence:online
 *   ARGV: userId, instanceId, the entry's new time (now - timeout + grace)
 */
export const PRESENCE_HAND_OVER = `
local current = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not current then return 0 end
if tonumber(current) > tonumber(ARGV[3]) then redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2]) end
local latest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('ZADD', KEYS[2], latest[2], ARGV[1])
return 1`;

/**
 * The backstop for an instance that died without closing its sockets: every user whose latest
 * heartbeat is older than the timeout is looked at; instances that have not refreshed their entry
 * are dropped, and a user with none left is offline (team event). Every instance runs it; it is
 * idempotent. The per-user keys are built inside (one Redis, not Cluster).
 *   KEYS: presence:online, stream:team-events   ARGV: now, timeout ms, stream MAXLEN
 *   returns: the users now offline
 */
export const PRESENCE_SWEEP = `
local cutoff = tonumber(ARGV[1]) - tonumber(ARGV[2])
local offline = {}
for _, userId in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff)) do
  local key = '${SOCKETS_PREFIX}' .. userId
  redis.call('ZREMRANGEBYSCORE', key, '-inf', cutoff)
  local latest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if #latest > 0 then
    redis.call('ZADD', KEYS[1], latest[2], userId)
  else
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], userId)
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'userId', userId)
    offline[#offline + 1] = userId
  end
end
return offline`;
