import { literalUnion } from './literal-union.js';

/** Who a user is in the clinic. Managers may work without a workstation and manage the team. */
export const ROLES = ['manager', 'employee'] as const;
export type Role = (typeof ROLES)[number];

export const RoleSchema = literalUnion(ROLES);

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
