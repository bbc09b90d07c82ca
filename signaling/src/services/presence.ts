import type { Redis } from 'ioredis';
import { RedisKeys, RedisStreams, TEAM_EVENTS_MAX_LENGTH } from '@deskline/store';

const SOCKETS_PREFIX = RedisKeys.userSockets('');

/**
 * This instance holds a push socket of the user: its entry in presence:<userId> gets the time now.
 * The user's score in presence:online follows (the latest heartbeat of any instance). Returns 1, and
 * appends a team event, when the user was not online before.
 *   KEYS: presence:<userId>, presence:online, stream:team-events
 *   ARGV: userId, instanceId, now, timeout ms, stream MAXLEN
 */
const TOUCH = `
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
const LEAVE = `
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
const HAND_OVER = `
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
const SWEEP = `
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

/**
 * Whether users have the app open, agreed by every signaling instance through Redis
 * (docs/presence-and-pause.md). Each instance refreshes, every heartbeat, the users it holds sockets
 * for; a user is online while some instance did so within `timeoutMs`. The first socket and the last
 * one are reported at once; a crashed instance's users go offline after the timeout, by `sweep`.
 */
export class Presence {
  constructor(
    private readonly redis: Redis,
    private readonly instanceId: string,
    readonly timeoutMs: number,
  ) {}

  /** The first socket of the user on this instance opened, or the heartbeat for one. */
  async touch(userId: string, now = Date.now()): Promise<void> {
    await this.redis.eval(TOUCH, ...this.args(userId, now));
  }

  /** Heartbeat for every user this instance holds sockets for. */
  async touchAll(userIds: Iterable<string>, now = Date.now()): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const userId of userIds) pipeline.eval(TOUCH, ...this.args(userId, now));
    await pipeline.exec();
  }

  /** The last socket of the user on this instance closed. */
  async leave(userId: string, now = Date.now()): Promise<void> {
    await this.redis.eval(LEAVE, ...this.args(userId, now));
  }

  /**
   * This instance stops while holding sockets of the user (a restart): the user stays online for
   * `graceMs` (at most the timeout) so their panel can reconnect elsewhere without a flicker.
   */
  async handOver(userId: string, graceMs: number, now = Date.now()): Promise<void> {
    const lapsesAt = now - this.timeoutMs + Math.min(graceMs, this.timeoutMs);
    await this.redis.eval(HAND_OVER, 2, RedisKeys.userSockets(userId), RedisKeys.onlineUsers, userId, this.instanceId, String(lapsesAt));
  }

  async sweep(now = Date.now()): Promise<string[]> {
    return (await this.redis.eval(
      SWEEP,
      2,
      RedisKeys.onlineUsers,
      RedisStreams.teamEvents,
      String(now),
      String(this.timeoutMs),
      String(TEAM_EVENTS_MAX_LENGTH),
    )) as string[];
  }

  /** Whether a score in presence:online (a heartbeat time) still counts as online. */
  isFresh(heartbeat: number | null | undefined, now = Date.now()): boolean {
    return heartbeat !== null && heartbeat !== undefined && heartbeat > now - this.timeoutMs;
  }

  private args(userId: string, now: number): [3, string, string, string, string, string, string, string, string] {
    return [
      3,
      RedisKeys.userSockets(userId),
      RedisKeys.onlineUsers,
      RedisStreams.teamEvents,
      userId,
      this.instanceId,
      String(now),
      String(this.timeoutMs),
      String(TEAM_EVENTS_MAX_LENGTH),
    ];
  }
}
