import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { SETUP_LINK_HOURS } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';

const SETUP_LINK_MS = SETUP_LINK_HOURS * 3_600_000;

const digest = (token: string): string => createHash('sha256').update(token).digest('base64url');

/**
 * One-time setup links (docs/managers.md, "Staff"; docs/security.md): a random token of 256 bits, of
 * which Redis keeps only the SHA-256, valid SETUP_LINK_HOURS and once. A user has at most one: a new
 * link, and a password reset, void the previous one.
 */
export class SetupLinks {
  constructor(private readonly redis: Redis) {}

  async issue(userId: string, now = Date.now()): Promise<{ setupToken: string; setupExpiresAt: number }> {
    const token = randomBytes(32).toString('base64url');
    await this.revoke(userId);
    await this.redis
      .multi()
      .set(RedisKeys.setupToken(digest(token)), userId, 'PX', SETUP_LINK_MS)
      .set(RedisKeys.userSetupToken(userId), digest(token), 'PX', SETUP_LINK_MS)
      .exec();
    return { setupToken: token, setupExpiresAt: now + SETUP_LINK_MS };
  }

  /** Whose link this is, while it is valid; does not use it up. */
  async peek(token: string): Promise<string | undefined> {
    return (await this.redis.get(RedisKeys.setupToken(digest(token)))) ?? undefined;
  }

  /** Uses the link up: whose it was, or undefined when it was used, expired or never issued. */
  async take(token: string): Promise<string | undefined> {
    const userId = await this.redis.getdel(RedisKeys.setupToken(digest(token)));
    if (userId === null) return undefined;
    await this.redis.del(RedisKeys.userSetupToken(userId));
    return userId;
  }

  /** Voids the user's link, if they have one. */
  async revoke(userId: string): Promise<void> {
    const previous = await this.redis.getdel(RedisKeys.userSetupToken(userId));
    if (previous !== null) await this.redis.del(RedisKeys.setupToken(previous));
  }
}
