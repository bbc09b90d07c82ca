import type { Static } from '@sinclair/typebox';
import { Type } from './schema-builders.js';
import { CREDENTIAL_SETUPS, PASSWORD_MAX_LENGTH, PublicUserSchema } from './api.js';
import { literalUnion } from './literal-union.js';
import { RoleSchema } from './roles.js';

// The managers' Staff screen (issue 16, item 1; docs/managers.md, "Staff").

/** How long a setup link stays valid. */
export const SETUP_LINK_HOURS = 72;

/** The web app's address of a setup link: the token is in the fragment, so it is never sent to a server in a URL, nor in a Referer. */
export const SETUP_LINK_FRAGMENT = 'setup=';

/** The path of a setup link, to be put after the clinic's origin. */
export function setupLinkPath(token: string): string {
  return `/#${SETUP_LINK_FRAGMENT}${encodeURIComponent(token)}`;
}

/** What a manager is given once, to hand to the user: a setup link's token, or a generated password. */
export const IssuedCredentialsSchema = Type.Object({
  /** The setup link's token (setupLinkPath makes the link). */
  setupToken: Type.Optional(Type.String()),
  /** Epoch ms after which the setup link no longer works. */
  setupExpiresAt: Type.Optional(Type.Integer()),
  /** The generated password, shown this once. */
  password: Type.Optional(Type.String()),
});
export type IssuedCredentials = Static<typeof IssuedCredentialsSchema>;

/** What POST /api/users answers (201): the user, and their setup link or generated password when the server made one. */
export const CreatedUserSchema = Type.Composite([PublicUserSchema, IssuedCredentialsSchema]);
export type CreatedUser = Static<typeof CreatedUserSchema>;

export const CredentialSetupSchema = literalUnion(CREDENTIAL_SETUPS);

/** POST /api/users/:id/password: a new setup link or a generated password; either ends every session of the user. */
export const ResetPasswordBodySchema = Type.Object({ setup: CredentialSetupSchema }, { additionalProperties: false });

/** PUT /api/users/:id/role. */
export const UserRoleBodySchema = Type.Object({ role: RoleSchema }, { additionalProperties: false });

/** POST /api/auth/setup: the setup link's token and the password the user chooses. */
export const SetupAccountBodySchema = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 256 }),
    password: Type.String({ maxLength: PASSWORD_MAX_LENGTH * 4 }),
  },
  { additionalProperties: false },
);
