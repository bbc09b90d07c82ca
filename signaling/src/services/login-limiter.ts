import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface LoginLimits {
  maxFailuresPerAccount: number;
  maxFailuresPerIp: number;
  windowMs: number;
}

export type LimitVerdict = { allowed: true } | { allowed: false; scope: 'account' | 'ip'; retryAfterMs: number };

/**
 * Counts failed logins in a sliding window (a sorted set of timestamps per account and per client
 * address). An account or address that reached its limit is refused before its password is even
 * checked, so a correct guess during a lockout gains nothing.
 */
export class LoginLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly limits: LoginLimits,
  ) {}

  async check(account: string, ip: string): Promise<LimitVerdict> {
    const account_ = await this.verdict(accountKey(account), this.limits.maxFailuresPerAccount);
    if (account_ !== undefined) return { allowed: false, scope: 'account', retryAfterMs: account_ };
    const ip_ = await this.verdict(ipKey(ip), this.limits.maxFailuresPerIp);
    if (ip_ !== undefined) return { allowed: false, scope: 'ip', retryAfterMs: ip_ };
    return { allowed: true };
  }

  async recordFailure(account: string, ip: string): Promise<void> {
    const now = Date.now();
    const multi = this.redis.multi();
    for (const key of [accountKey(account), ipKey(ip)]) {
      multi.zadd(key, now, `${now}-${randomBytes(6).toString('hex')}`).pexpire(key, this.limits.windowMs);
    }
    await multi.exec();
  }

  /** A successful login forgets the account's failures (not the address's). */
  async clearAccount(account: string): Promise<void> {
    await this.redis.del(accountKey(account));
  }

  /** Milliseconds until the next attempt is allowed, or undefined when allowed now. */
  private async verdict(key: string, max: number): Promise<number | undefined> {
    const now = Date.now();
    const results = await this.redis
      .multi()
      .zremrangebyscore(key, '-inf', now - this.limits.windowMs)
      .zcard(key)
      .zrange(key, 0, 0, 'WITHSCORES')
      .exec();
    const count = Number(results?.[1]?.[1] ?? 0);
    if (count < max) return undefined;
    const oldest = Number((results?.[2]?.[1] as string[] | undefined)?.[1] ?? now);
    return Math.max(1000, oldest + this.limits.windowMs - now);
  }
}

const accountKey = (account: string): string => `login-failures:account:${account}`;
const ipKey = (ip: string): string => `login-failures:ip:${ip}`;
