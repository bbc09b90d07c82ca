import { randomInt } from 'node:crypto';
import type { Role } from '@deskline/protocol';
import type { UserStore } from './user-store.js';
import type { WorkstationStore } from './workstation-store.js';

export interface DemoLogin {
  email: string;
  password: string;
  role: Role;
  displayName: string;
}

export interface DemoSeedResult {
  created: boolean;
  logins: DemoLogin[];
  workstations: string[];
}

const DEMO_USERS: ReadonlyArray<Omit<DemoLogin, 'password'>> = [
  { email: 'manager@clinic.example', displayName: 'Maria Manager', role: 'manager' },
  { email: 'anna@clinic.example', displayName: 'Anna Reception', role: 'employee' },
  { email: 'ben@clinic.example', displayName: 'Ben Reception', role: 'employee' },
];
const DEMO_WORKSTATIONS = ['Reception 1', 'Reception 2'];

// No 0/O, 1/l/I: the passwords are read off a terminal and typed by hand.
const ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A random password of four groups of five, about 116 bits. */
export function generatePassword(): string {
  const group = (): string => Array.from({ length: 5 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  return [group(), group(), group(), group()].join('-');
}

/**
 * Creates demo users and workstations on a Deskline that has none, so a first `npm start` can be
 * tried at once. Passwords are generated here, never stored in the repository.
 */
export async function seedDemoData(users: UserStore, workstations: WorkstationStore): Promise<DemoSeedResult> {
  if ((await users.count()) > 0) return { created: false, logins: [], workstations: [] };
  const logins: DemoLogin[] = [];
  for (const demo of DEMO_USERS) {
    const password = generatePassword();
    await users.create({ ...demo, password });
    logins.push({ ...demo, password });
  }
  const created: string[] = [];
  if ((await workstations.list()).length === 0) {
    for (const name of DEMO_WORKSTATIONS) created.push((await workstations.create({ name, kind: 'browser' })).name);
  }
  return { created: true, logins, workstations: created };
}
