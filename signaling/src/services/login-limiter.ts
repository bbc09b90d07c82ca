import { randomBytes } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { RedisKeys, LOGIN_RESERVE } from '@deskline/store';

export interface LoginLimits {
  /** Attempts per (account, address) in the window that need no wait. */
  freeAttempts: number;
  /** The wait before the first attempt past the free ones; each further attempt doubles it. */
  baseDelayMs: number;
  /** The longest wait between two attempts of one (account, address). */
  maxDelayMs: number;
  /** Failures per account, from all addresses, past which addresses that failed share a slow lane. */
  maxFailuresPerAccount: number;
  /** In that slow lane, one attempt per this many milliseconds for the whole account. */
  accountSlowMs: number;
  /** Failures per address, over every account, past which the address is refused. */
  maxFailuresPerIp: number;
  /** How long an attempt is remembered. */
  windowMs: number;
}

/** The limits as the settings give them (LOGIN_* in config.ts). */
export function loginLimitsFrom(config: Config): LoginLimits {
  return {
    freeAttempts: config.LOGIN_FREE_ATTEMPTS,
    baseDelayMs: config.LOGIN_DELAY_BASE_SECONDS * 1000,
    maxDelayMs: config.LOGIN_DELAY_MAX_SECONDS * 1000,
    maxFailuresPerAccount: config.LOGIN_MAX_FAILURES_PER_ACCOUNT,
    accountSlowMs: config.LOGIN_ACCOUNT_SLOW_SECONDS * 1000,
    maxFailuresPerIp: config.LOGIN_MAX_FAILURES_PER_IP,
    windowMs: config.LOGIN_WINDOW_MINUTES * 60_000,
  };
}

/** Which limit refused an attempt: the (account, address) pair's delay, the address, or the account's slow lane. */
export type LimitScope = 'pair' | 'address' | 'account';

export type Reservation =
  | { granted: true; id: string; account: string; ip: string }
  | { granted: false; scope: LimitScope; retryAfterMs: number };

/**
 * Login limits that count an attempt before its password is verified (docs/security.md, "Login
 * limits"): a reserved attempt stays counted if it fails, and a success forgets its (account,
 * address) pair. Per pair, attempts past the free ones wait progressively longer; per address, a
 * ceiling over all accounts; per account, a shared slow lane for the addresses that failed on it.
 */
export class LoginLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly limits: LoginLimits,
  ) {}

  /** Reserves one attempt for `account` from `ip`; only a granted reservation may verify a password. */
  async reserve(account: string, ip: string): Promise<Reservation> {
    const id = randomBytes(9).toString('base64url');
    const address = addressOf(ip);
    const l = this.limits;
    const [granted, scope, retryAfterMs] = (await this.redis.eval(
      LOGIN_RESERVE,
      4,
      pairKey(account, address),
      ipKey(address),
      accountKey(account),
      slowKey(account),
      id,
      l.windowMs,
      l.freeAttempts,
      l.baseDelayMs,
      l.maxDelayMs,
      l.maxFailuresPerIp,
      l.maxFailuresPerAccount,
      l.accountSlowMs,
    )) as [number, LimitScope, number];
    if (granted === 1) return { granted: true, id, account, ip: address };
    return { granted: false, scope, retryAfterMs };
  }

  /**
   * The password was right: the pair starts afresh, and this attempt no longer counts against the
   * address or the account. Failures of other addresses stay.
   */
  async succeeded(reservation: Extract<Reservation, { granted: true }>): Promise<void> {
    await this.redis
      .multi()
      .del(pairKey(reservation.account, reservation.ip))
      .zrem(ipKey(reservation.ip), reservation.id)
      .zrem(accountKey(reservation.account), reservation.id)
      .exec();
  }
}

/**
 * The address limits are keyed on: an IPv4 address, or the /64 of an IPv6 one, since one
 * subscriber usually holds a whole /64 and could otherwise take a fresh address for every try.
 */
export function addressOf(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1]) return mapped[1];
  if (isIPv4(ip) || !isIPv6(ip)) return ip;
  const [head = '', tail] = ip.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** "1 second", "40 seconds", "2 minutes": how long to wait, as the person at the screen reads it. */
export function describeWait(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 60) return seconds === 1 ? '1 second' : `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

/** Retry-After in whole seconds, never 0 (a client would retry at once and be refused again). */
export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

// An address never contains '|', so the first '|' separates the two parts without ambiguity.
const pairKey = (account: string, address: string): string => RedisKeys.loginAttemptsPair(address, account);
const ipKey = RedisKeys.loginAttemptsIp;
const accountKey = RedisKeys.loginAttemptsAccount;
const slowKey = RedisKeys.loginAttemptsAccountSlot;
