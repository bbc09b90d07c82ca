import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { UserPreferences } from '@deskline/protocol';
import { announceMemberChange } from './team-events.js';
import { validDisplayName } from './user-store.js';
import { RedisKeys } from '@deskline/store';

export interface StoredAvatar {
  image: Buffer;
  version: string;
  contentType: 'image/webp';
}

/**
 * What a user changes about themselves: their name and picture (which the whole team sees, so every
 * change is announced on stream:team-events in the same MULTI) and their preferences. Fields live in
 * the user's hash (`displayName`, `avatarVersion`, `notifications`); the picture's bytes in
 * `avatar:<id>`.
 */
export class ProfileStore {
  constructor(private readonly redis: Redis) {}

  /** Renames the user after checking the name with the same rules as creating a user. */
  async setDisplayName(userId: string, displayName: string): Promise<void> {
    const name = validDisplayName(displayName);
    await announceMemberChange(this.redis.multi().hset(RedisKeys.user(userId), 'displayName', name), userId).exec();
  }

  /** Stores an avatar made by makeAvatar() under a new version, so its URL changes. */
  async setAvatar(userId: string, image: Buffer): Promise<string> {
    const version = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
    await announceMemberChange(
      this.redis.multi().set(RedisKeys.avatar(userId), image).hset(RedisKeys.user(userId), 'avatarVersion', version),
      userId,
    ).exec();
    return version;
  }

  async removeAvatar(userId: string): Promise<void> {
    await announceMemberChange(
      this.redis.multi().del(RedisKeys.avatar(userId)).hdel(RedisKeys.user(userId), 'avatarVersion'),
      userId,
    ).exec();
  }

  async avatar(userId: string): Promise<StoredAvatar | undefined> {
    // One MULTI, so a picture and its version are never read from two different uploads.
    const results = await this.redis
      .multi()
      .hget(RedisKeys.user(userId), 'avatarVersion')
      .getBuffer(RedisKeys.avatar(userId))
      .exec();
    const version = results?.[0]?.[1] as string | null | undefined;
    const image = results?.[1]?.[1] as Buffer | null | undefined;
    if (!version || !image) return undefined;
    return { image, version, contentType: 'image/webp' };
  }

  async preferences(userId: string): Promise<UserPreferences> {
    const notifications = await this.redis.hget(RedisKeys.user(userId), 'notifications');
    return { notifications: notifications === 'on' };
  }

  async setPreferences(userId: string, preferences: UserPreferences): Promise<UserPreferences> {
    await this.redis.hset(RedisKeys.user(userId), 'notifications', preferences.notifications ? 'on' : 'off');
    return preferences;
  }
}
