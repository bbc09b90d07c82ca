import type { Redis } from 'ioredis';
import {
  RedisKeys,
  RedisStreams,
  TEAM_EVENTS_MAX_LENGTH,
  PRESENCE_TOUCH,
  PRESENCE_LEAVE,
  PRESENCE_HAND_OVER,
  PRESENCE_SWEEP,
} from '@deskline/store';

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
    await this.redis.eval(PRESENCE_TOUCH, ...this.args(userId, now));
  }

  /** Heartbeat for every user this instance holds sockets for. */
  async touchAll(userIds: Iterable<string>, now = Date.now()): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const userId of userIds) pipeline.eval(PRESENCE_TOUCH, ...this.args(userId, now));
    await pipeline.exec();
  }

  /** The last socket of the user on this instance closed. */
  async leave(userId: string, now = Date.now()): Promise<void> {
    await this.redis.eval(PRESENCE_LEAVE, ...this.args(userId, now));
  }

  /**
   * This instance stops while holding sockets of the user (a restart): the user stays online for
   * `graceMs` (at most the timeout) so their panel can reconnect elsewhere without a flicker.
   */
  async handOver(userId: string, graceMs: number, now = Date.now()): Promise<void> {
    const lapsesAt = now - this.timeoutMs + Math.min(graceMs, this.timeoutMs);
    await this.redis.eval(
      PRESENCE_HAND_OVER,
      2,
      RedisKeys.userSockets(userId),
      RedisKeys.onlineUsers,
      userId,
      this.instanceId,
      String(lapsesAt),
    );
  }

  async sweep(now = Date.now()): Promise<string[]> {
    return (await this.redis.eval(
      PRESENCE_SWEEP,
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
