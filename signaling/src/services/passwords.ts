import argon2 from 'argon2';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '@deskline/protocol';
import { isCommonPassword } from './common-passwords.js';

/** OWASP's argon2id minimum: 19 MiB of memory, 2 iterations, 1 lane. */
export const ARGON2_OPTIONS = {
  type: argon2.argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, ARGON2_OPTIONS);
}

/** False for a wrong password and for a hash that cannot be read; never throws on bad input. */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

/** True when a stored hash was made with weaker parameters than today's and should be redone. */
export function needsRehash(hash: string): boolean {
  try {
    return argon2.needsRehash(hash, ARGON2_OPTIONS);
  } catch {
    return true;
  }
}

let dummyHash: Promise<string> | undefined;

/**
 * Spends the same time as a real verification, so that a login for an unknown email
 * cannot be told apart from a wrong password by its timing.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword('deskline-dummy-password-for-timing');
  await verifyPassword(await dummyHash, password);
  return false;
}

/** Who the password is for: a password equal to one of these is refused. */
export interface PasswordOwner {
  email?: string;
  displayName?: string;
}

const fold = (text: string): string => text.trim().toLowerCase();

/**
 * The reason a new password is refused, or undefined when it is acceptable. The rules are NIST SP
 * 800-63B's: 12 to 128 characters, no composition rules, and not a commonly used password (checked
 * case-insensitively against a list of about 49,000) nor the account's own email or name.
 */
export function passwordProblem(password: string, owner: PasswordOwner = {}): string | undefined {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `The password must be at least ${PASSWORD_MIN_LENGTH} characters long.`;
  if (length > PASSWORD_MAX_LENGTH) return `The password must be at most ${PASSWORD_MAX_LENGTH} characters long.`;
  if (isCommonPassword(password)) {
    return 'This password is one of the most commonly used ones, which attackers try first. Choose another.';
  }
  const folded = fold(password);
  const email = owner.email === undefined ? '' : fold(owner.email);
  const own = [email, email.split('@')[0] ?? '', owner.displayName === undefined ? '' : fold(owner.displayName)];
  if (own.some((value) => value !== '' && value === folded)) {
    return 'The password must not be your email address or your name.';
  }
  return undefined;
}
