import { dictionary } from '@zxcvbn-ts/language-common';

/**
 * Passwords that attackers try first: the "passwords-common" list of zxcvbn-ts (about 49,000
 * entries, lower case, drawn from leaked-password corpora and maintained with that project). The
 * package unpacks it when this module loads (about 30 ms); the set is built at the first check.
 */
let common: ReadonlySet<string> | undefined;

function list(): ReadonlySet<string> {
  common ??= new Set(dictionary['passwords-common'] as readonly string[]);
  return common;
}

/** True when `password` is on the list, ignoring case (the list is lower case). */
export function isCommonPassword(password: string): boolean {
  return list().has(password.toLowerCase());
}

/** How many passwords the list holds (for the docs and tests). */
export function commonPasswordCount(): number {
  return list().size;
}
