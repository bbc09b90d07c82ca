import { randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DISPLAY_NAME_MAX_LENGTH, avatarUrl, isRole, type PublicUser, type Role } from '@deskline/protocol';
import { ClientError } from '../errors.js';
import { hashPassword, passwordProblem } from './passwords.js';
import { appendTeamEvent } from './team-events.js';
import { RedisKeys } from '@deskline/store';

export interface StoredUser extends PublicUser {
  passwordHash: string;
  createdAt: number;
  /** Changes with every new picture; the picture itself is at `avatar:<id>` (see ProfileStore). */
  avatarVersion?: string;
}

export interface NewUser {
  email: string;
  displayName: string;
  role: Role;
  /** Absent: a password nobody knows, until the user sets theirs with a setup link (SetupLinks). */
  password?: string;
}

/** The hash of a random secret that is never kept: no password matches it. */
const unusablePasswordHash = (): Promise<string> => hashPassword(randomBytes(32).toString('base64url'));

const emailKey = RedisKeys.userEmail;
const USERS = RedisKeys.users;

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function toPublicUser(user: StoredUser): PublicUser {
  return {
    id: user.id,
    email: user.email,
    displayName: user.displayName,
    role: user.role,
    disabled: user.disabled,
    ...(user.avatarVersion ? { avatarUrl: avatarUrl(user.id, user.avatarVersion) } : {}),
  };
}

/** The name as stored (spaces collapsed), or a 400 saying what is wrong with it. */
export function validDisplayName(displayName: string): string {
  const trimmed = displayName.trim().replace(/\s+/g, ' ');
  if (trimmed.length === 0) throw new ClientError(400, 'The name must not be empty.');
  if ([...trimmed].length > DISPLAY_NAME_MAX_LENGTH) {
    throw new ClientError(400, `The name must be at most ${DISPLAY_NAME_MAX_LENGTH} characters long.`);
  }
  if (/\p{Cc}/u.test(trimmed)) throw new ClientError(400, 'The name must not contain control characters.');
  return trimmed;
}

/**
 * Users in Redis: a hash per user, a unique index from email to id, and the set of all ids.
 * The API and the command-line tool both go through this class.
 */
export class UserStore {
  constructor(private readonly redis: Redis) {}

  async create(input: NewUser): Promise<PublicUser> {
    const email = normalizeEmail(input.email);
    const displayName = validDisplayName(input.displayName);
    if (!isRole(input.role)) throw new ClientError(400, 'The role must be "manager" or "employee".');
    const problem = input.password === undefined ? undefined : passwordProblem(input.password, { email, displayName });
    if (problem) throw new ClientError(400, problem);

    const id = randomUUID();
    const passwordHash =
      input.password === undefined ? await unusablePasswordHash() : await hashPassword(input.password);
    // Claim the email first: SET NX makes two concurrent creations of one email impossible.
    const claimed = await this.redis.set(emailKey(email), id, 'NX');
    if (claimed !== 'OK') throw new ClientError(409, `A user with the email ${email} already exists.`);
    const user: StoredUser = {
      id,
      email,
      displayName,
      role: input.role,
      disabled: false,
      passwordHash,
      createdAt: Date.now(),
    };
    await this.redis
      .multi()
      .hset(RedisKeys.user(id), {
        id,
        email,
        displayName,
        role: user.role,
        disabled: '0',
        passwordHash,
        createdAt: String(user.createdAt),
      })
      .sadd(USERS, id)
      .exec();
    await appendTeamEvent(this.redis, id);
    return toPublicUser(user);
  }

  async get(id: string): Promise<StoredUser | undefined> {
    const fields = await this.redis.hgetall(RedisKeys.user(id));
    return parseUser(fields);
  }

  async findByEmail(email: string): Promise<StoredUser | undefined> {
    const id = await this.redis.get(emailKey(normalizeEmail(email)));
    return id ? this.get(id) : undefined;
  }

  async count(): Promise<number> {
    return this.redis.scard(USERS);
  }

  async list(): Promise<PublicUser[]> {
    const ids = await this.redis.smembers(USERS);
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(RedisKeys.user(id));
    const results = (await pipeline.exec()) ?? [];
    return results
      .map(([, fields]) => parseUser(fields as Record<string, string>))
      .filter((user): user is StoredUser => user !== undefined)
      .map(toPublicUser)
      .sort((a, b) => a.displayName.localeCompare(b.displayName));
  }

  async setRole(id: string, role: Role): Promise<void> {
    await this.redis.hset(RedisKeys.user(id), 'role', role);
    await appendTeamEvent(this.redis, id);
  }

  /** Replaces the password with one nobody knows (a reset by setup link: the old one stops working at once). */
  async clearPassword(id: string): Promise<void> {
    await this.redis.hset(RedisKeys.user(id), 'passwordHash', await unusablePasswordHash());
  }

  async setDisabled(id: string, disabled: boolean): Promise<void> {
    await this.redis.hset(RedisKeys.user(id), 'disabled', disabled ? '1' : '0');
  }

  /** Sets a new password after checking it against the rules (and the user's own email and name). */
  async setPassword(id: string, password: string): Promise<void> {
    const user = await this.get(id);
    const problem = passwordProblem(password, user ?? {});
    if (problem) throw new ClientError(400, problem);
    await this.redis.hset(RedisKeys.user(id), 'passwordHash', await hashPassword(password));
  }

  /** Replaces a hash made with older parameters after a successful login; the password is unchanged. */
  async rehash(id: string, password: string): Promise<void> {
    await this.redis.hset(RedisKeys.user(id), 'passwordHash', await hashPassword(password));
  }
}

function parseUser(fields: Record<string, string> | null | undefined): StoredUser | undefined {
  if (!fields?.['id'] || !fields['email'] || !fields['passwordHash'] || !isRole(fields['role'])) return undefined;
  return {
    id: fields['id'],
    email: fields['email'],
    displayName: fields['displayName'] ?? fields['email'],
    role: fields['role'],
    disabled: fields['disabled'] === '1',
    passwordHash: fields['passwordHash'],
    createdAt: Number(fields['createdAt'] ?? 0),
    ...(fields['avatarVersion'] ? { avatarVersion: fields['avatarVersion'] } : {}),
  };
}
