import { randomInt } from 'node:crypto';

// No 0/O, 1/l/I: the passwords are read off a terminal and typed by hand (or into a phone's keypad menu).
const ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A random password of four groups of five, about 116 bits: demo logins and desk phones' SIP passwords. */
export function generatePassword(): string {
  const group = (): string => Array.from({ length: 5 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  return [group(), group(), group(), group()].join('-');
}
