/** Who a user is in the clinic. Managers may work without a workstation and manage the team. */
export const ROLES = ['manager', 'employee'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
