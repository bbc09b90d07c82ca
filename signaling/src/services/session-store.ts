import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RedisChannels, RedisKeys } from '@deskline/store';

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
const keyOfDigest = RedisKeys.session;
const sessionKey = (id: string): string => keyOfDigest(digest(id));
const userSessionsKey = RedisKeys.userSessions;
/** Where a session renewed under a new id (a password change) points, for whoever still holds the old digest. */
const renamedKey = RedisKeys.sessionRenamed;
const RENAMED_TTL_MS = 60_000;

/** The name a session goes by outside this module (push sockets, the ended channel): the SHA-256 of its id. */
export const sessionDigest = digest;

/**
 * The Redis pub/sub channel on which every ending of a session is announced, by whichever process
 * ended it (an API instance or the command-line tool), so that each signaling instance closes the push
 * sockets of those sessions at once. Expiry is not announced (Redis expires keys silently): the push
 * plugin also checks its sessions with `liveDigests` (docs/security.md).
 */
export const SESSIONS_ENDED_CHANNEL = RedisChannels.sessionsEnded;

/** A message on SESSIONS_ENDED_CHANNEL: sessions that ended, or one renewed under a new digest. */
export type SessionsEnded = { ended: string[] } | { renamed: { from: string; to: string } };

/** Reads a message of SESSIONS_ENDED_CHANNEL; undefined when it is not one. */
export function parseSessionsEnded(message: string): SessionsEnded | undefined {
  try {
    const value = JSON.parse(message) as Partial<{ ended: unknown; renamed: { from?: unknown; to?: unknown } }>;
    if (Array.isArray(value.ended) && value.ended.every((d) => typeof d === 'string')) return { ended: value.ended };
    const { from, to } = value.renamed ?? {};
    if (typeof from === 'string' && typeof to === 'string') return { renamed: { from, to } };
  } catch {
    // Not JSON: not ours.
  }
  return undefined;
}

/**
 * Server-side sessions in Redis. Each expires after `idleMs` without use (sliding) and at the latest
 * `maxMs` after login. A user's sessions are indexed so that they can all be ended at once, for
 * example when the account is disabled or its password is reset. Every ending is announced on
 * SESSIONS_ENDED_CHANNEL in the same transaction that deletes the keys.
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
    multi.publish(SESSIONS_ENDED_CHANNEL, JSON.stringify({ ended: [digest(id)] }));
    await multi.exec();
  }

  /**
   * Replaces a live session by a new one of the same user (new id and CSRF token), so that the old
   * cookie stops working while the browser that holds it carries on: its push sockets follow the new
   * session instead of closing. Undefined when the session is not live.
   */
  async renew(id: string): Promise<Session | undefined> {
    const current = await this.touch(id);
    if (!current) return undefined;
    const session = await this.create(current.userId);
    const from = digest(id);
    const to = digest(session.id);
    await this.redis
      .multi()
      .set(renamedKey(from), to, 'PX', RENAMED_TTL_MS)
      .del(keyOfDigest(from))
      .srem(userSessionsKey(current.userId), from)
      .publish(SESSIONS_ENDED_CHANNEL, JSON.stringify({ renamed: { from, to } }))
      .exec();
    return session;
  }

  /**
   * For each digest, the digest the session now goes by: itself while it lives, its successor's when
   * it was renewed (and that one lives), undefined once it ended or expired.
   */
  async liveDigests(digests: readonly string[]): Promise<Map<string, string | undefined>> {
    const result = new Map<string, string | undefined>();
    if (digests.length === 0) return result;
    const pipeline = this.redis.pipeline();
    for (const d of digests) pipeline.exists(keyOfDigest(d)).get(renamedKey(d));
    const replies = (await pipeline.exec()) ?? [];
    const renamed: Array<[string, string]> = [];
    digests.forEach((d, i) => {
      const [existsError, exists] = replies[i * 2] ?? [];
      const [, successor] = replies[i * 2 + 1] ?? [];
      // A failed read is no evidence that the session ended: keep it until the next check.
      if (existsError) result.set(d, d);
      else if (exists === 1) result.set(d, d);
      else if (typeof successor === 'string') renamed.push([d, successor]);
      else result.set(d, undefined);
    });
    if (renamed.length > 0) {
      const next = await this.liveDigests(renamed.map(([, to]) => to));
      for (const [from, to] of renamed) result.set(from, next.get(to));
    }
    return result;
  }

  /** Ends every session of a user, except `keepId` when given. Returns how many ended. */
  async destroyAllOf(userId: string, keepId?: string): Promise<number> {
    const keep = keepId === undefined ? undefined : digest(keepId);
    const digests = (await this.redis.smembers(userSessionsKey(userId))).filter((d) => d !== keep);
    if (digests.length === 0) return 0;
    await this.redis
      .multi()
      .del(...digests.map(keyOfDigest))
      .srem(userSessionsKey(userId), ...digests)
      .publish(SESSIONS_ENDED_CHANNEL, JSON.stringify({ ended: digests }))
      .exec();
    return digests.length;
  }
}
