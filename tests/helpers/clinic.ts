/**
 * The clinic the end-to-end tests play in: its staff (name, role, how they log in) and its
 * workstations, written once. A test creates the members and workstations it needs through
 * signaling's own stores (`app.users`, `app.workstations`, or a WorkstationStore), as a manager would.
 */
import type { CreatedWorkstation, PublicUser, Role, WorkstationKind } from '@deskline/protocol';

/** A member of staff: how they log in and the name every panel shows. */
export interface StaffMember {
  email: string;
  displayName: string;
  role: Role;
  password: string;
}

/** Each member's password is their name and "password": easy to read in a failing test's log. */
function member(first: string, displayName: string, role: Role): StaffMember {
  return { email: `${first}@clinic.example`, displayName, role, password: `${displayName} password` };
}

export const STAFF = {
  anna: member('anna', 'Anna Reception', 'employee'),
  ben: member('ben', 'Ben Reception', 'employee'),
  carla: member('carla', 'Carla Reception', 'employee'),
  rosa: member('rosa', 'Rosa Reception', 'employee'),
  maria: member('maria', 'Maria Manager', 'manager'),
} as const satisfies Record<string, StaffMember>;

export type StaffName = keyof typeof STAFF;

export interface WorkstationSpec {
  name: string;
  kind: WorkstationKind;
  /** A desk phone's SIP user, when the test dials it by number. */
  sipUser?: string;
}

export const WORKSTATIONS = {
  reception1: { name: 'Reception 1', kind: 'browser' },
  reception2: { name: 'Reception 2', kind: 'browser' },
  deskPhone201: { name: 'Desk phone 201', kind: 'sip-phone', sipUser: '201' },
  backOffice: { name: 'Back office phone', kind: 'sip-phone' },
} as const satisfies Record<string, WorkstationSpec>;

export type WorkstationName = keyof typeof WORKSTATIONS;

/** What creates them: signaling's UserStore and WorkstationStore (the app's decorators, or stores of a test's own). */
export interface ClinicStores {
  users: { create(input: StaffMember): Promise<Pick<PublicUser, 'id'>> };
  workstations: { create(input: WorkstationSpec): Promise<CreatedWorkstation> };
}

export interface ClinicSetup<S extends StaffName, W extends WorkstationName> {
  /** Created in this order. */
  staff?: readonly S[];
  workstations?: readonly W[];
  /** A member as this test needs them (another role, another name), instead of as STAFF has them. */
  variants?: Partial<Record<S, Partial<StaffMember>>>;
}

export interface Clinic<S extends StaffName, W extends WorkstationName> {
  staff: Record<S, StaffMember & { id: string }>;
  workstations: Record<W, CreatedWorkstation>;
}

/** Creates the staff and workstations a test needs, in the order given. */
export async function createClinic<S extends StaffName = never, W extends WorkstationName = never>(
  stores: ClinicStores,
  setup: ClinicSetup<S, W>,
): Promise<Clinic<S, W>> {
  const staff = {} as Clinic<S, W>['staff'];
  for (const name of setup.staff ?? []) {
    const wanted = { ...STAFF[name], ...setup.variants?.[name] };
    staff[name] = { ...wanted, id: (await stores.users.create(wanted)).id };
  }
  const workstations = {} as Clinic<S, W>['workstations'];
  for (const name of setup.workstations ?? [])
    workstations[name] = await stores.workstations.create(WORKSTATIONS[name]);
  return { staff, workstations };
}

/** The member of STAFF who logs in with `email`, for tests that log people in by their address. */
export function memberByEmail(email: string): StaffMember {
  const found = Object.values(STAFF).find((m) => m.email === email);
  if (!found) throw new Error(`no member of the test clinic's staff has the address ${email}`);
  return found;
}
