import type { Role } from '@deskline/protocol';
import { generatePassword } from './generated-password.js';
import type { UserStore } from './user-store.js';
import type { WorkstationStore } from './workstation-store.js';

export interface DemoLogin {
  email: string;
  password: string;
  role: Role;
  displayName: string;
}

/** A demo desk phone's SIP account, so that a tester can register a SIP client (baresip) as it. */
export interface DemoDeskPhone {
  workstation: string;
  sipUser: string;
  sipPassword: string;
}

export interface DemoSeedResult {
  created: boolean;
  logins: DemoLogin[];
  workstations: string[];
  deskPhones: DemoDeskPhone[];
}

const DEMO_USERS: ReadonlyArray<Omit<DemoLogin, 'password'>> = [
  { email: 'manager@clinic.example', displayName: 'Maria Manager', role: 'manager' },
  { email: 'anna@clinic.example', displayName: 'Anna Reception', role: 'employee' },
  { email: 'ben@clinic.example', displayName: 'Ben Reception', role: 'employee' },
];
const DEMO_BROWSER_WORKSTATIONS = ['Reception 1', 'Reception 2'];
const DEMO_DESK_PHONE = { name: 'Desk phone 201', sipUser: '201' };

/**
 * Creates demo users and workstations on a Deskline that has none, so a first `npm start` can be
 * tried at once: two browser workstations and one desk phone. Passwords are generated here, never
 * stored in the repository.
 */
export async function seedDemoData(users: UserStore, workstations: WorkstationStore): Promise<DemoSeedResult> {
  if ((await users.count()) > 0) return { created: false, logins: [], workstations: [], deskPhones: [] };
  const logins: DemoLogin[] = [];
  for (const demo of DEMO_USERS) {
    const password = generatePassword();
    await users.create({ ...demo, password });
    logins.push({ ...demo, password });
  }
  const created: string[] = [];
  const deskPhones: DemoDeskPhone[] = [];
  if ((await workstations.list()).length === 0) {
    for (const name of DEMO_BROWSER_WORKSTATIONS)
      created.push((await workstations.create({ name, kind: 'browser' })).name);
    const phone = await workstations.create({
      name: DEMO_DESK_PHONE.name,
      kind: 'sip-phone',
      sipUser: DEMO_DESK_PHONE.sipUser,
    });
    created.push(phone.name);
    if (phone.sipUser && phone.sipPassword)
      deskPhones.push({ workstation: phone.name, sipUser: phone.sipUser, sipPassword: phone.sipPassword });
  }
  return { created: true, logins, workstations: created, deskPhones };
}
