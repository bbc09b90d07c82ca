import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface Session {
  /** The secret the browser holds in its cookie. Never stored: Redis keeps only its SHA-256. */
  id: string;
  userId: string;
  csrfToken: string;
  createdAt: number;
}

export interface SessionLimits {
  idleMs: number;
  maxMs: number;
}

const digest = (id: string): string => createHash('sha256').update(id).digest('base64url');
const sessionKey = (id: string): string => `session:${digest(id)}`;
const userSessionsKey = (userId: string): string => `user-sessions:${userId}`;

/**
 * Server-side sessions in Redis. Each expires after `idleMs` without use (sliding) and at the latest
 * `maxMs` after login. A user's sessions are indexed so that they can all be ended at once, for
 * example when the account is disabled or its password is reset.
 */
export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly limits: SessionLimits,
  ) {}

  async create(userId: string): Promise<Session> {
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      userId,
      csrfToken: randomBytes(32).toString('base64url'),
      createdAt: Date.now(),
    };
    const key = sessionKey(session.id);
    await this.redis
      .multi()
      .hset(key, { userId, csrfToken: session.csrfToken, createdAt: String(session.createdAt) })
      .pexpire(key, this.limits.idleMs)
      .sadd(userSessionsKey(userId), digest(session.id))
      .pexpire(userSessionsKey(userId), this.limits.maxMs)
      .exec();
    return session;
  }

  /** The live session for this id, renewing its idle timeout; undefined when unknown or expired. */
  async touch(id: string): Promise<Session | undefined> {
    const key = sessionKey(id);
    const fields = await this.redis.hgetall(key);
    const userId = fields['userId'];
    const csrfToken = fields['csrfToken'];
    const createdAt = Number(fields['createdAt']);
    if (!userId || !csrfToken || !Number.isFinite(createdAt)) return undefined;
    const remainingMax = createdAt + this.limits.maxMs - Date.now();
    if (remainingMax <= 0) {
      await this.destroy(id);
      return undefined;
    }
    await this.redis.pexpire(key, Math.min(this.limits.idleMs, remainingMax));
    return { id, userId, csrfToken, createdAt };
  }

  async destroy(id: string): Promise<void> {
    const key = sessionKey(id);
    const userId = await this.redis.hget(key, 'userId');
    const multi = this.redis.multi().del(key);
    if (userId) multi.srem(userSessionsKey(userId), digest(id));
    await multi.exec();
  }

  /** Ends every session of a user, except `keepId` when given. Returns how many ended. */
  async destroyAllOf(userId: string, keepId?: string): Promise<number> {
    const keep = keepId === undefined ? undefined : digest(keepId);
    const digests = (await this.redis.smembers(userSessionsKey(userId))).filter((d) => d !== keep);
    if (digests.length === 0) return 0;
    await this.redis
      .multi()
      .del(...digests.map((d) => `session:${d}`))
      .srem(userSessionsKey(userId), ...digests)
      .exec();
    return digests.length;
  }
}
