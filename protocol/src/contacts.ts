import type { Static } from '@sinclair/typebox';
import { Type } from './schema-builders.js';

/**
 * Contacts (issue 16, item 5): a name, and an optional note, for a patient's number. The number is
 * stored in E.164 (+48601234567), read in the clinic's country (CLINIC_COUNTRY) whatever spelling
 * it was given in, so that a call from the trunk's spelling of it finds the same contact.
 */
export const CONTACT_NAME_MAX_LENGTH = 80;
export const CONTACT_NOTE_MAX_LENGTH = 500;
/** The most contacts Deskline keeps, and so the most lines an import may have. */
export const CONTACTS_MAX = 20_000;
/** An import's file, at most (a 20,000-line file of names and notes is about 2 MB). */
export const CONTACT_IMPORT_MAX_BYTES = 2 * 1024 * 1024;
/** The most numbers one lookup may ask for (a call board's numbers). */
export const CONTACT_LOOKUP_MAX = 500;

export const ContactSchema = Type.Object({
  /** E.164. */
  number: Type.String(),
  name: Type.String(),
  /** '' when none. */
  note: Type.String(),
  /** Epoch ms of the last change. */
  updatedAt: Type.Integer(),
});
export type Contact = Static<typeof ContactSchema>;

/** POST /api/contacts: the number in any spelling the clinic's country understands. */
export const CreateContactBodySchema = Type.Object(
  {
    number: Type.String({ maxLength: 64 }),
    name: Type.String({ maxLength: CONTACT_NAME_MAX_LENGTH * 2 }),
    note: Type.Optional(Type.String({ maxLength: CONTACT_NOTE_MAX_LENGTH * 2 })),
  },
  { additionalProperties: false },
);
export type CreateContactBody = Static<typeof CreateContactBodySchema>;

/** PATCH /api/contacts/:number; an absent field is left as it is. */
export const UpdateContactBodySchema = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: CONTACT_NAME_MAX_LENGTH * 2 })),
    note: Type.Optional(Type.String({ maxLength: CONTACT_NOTE_MAX_LENGTH * 2 })),
  },
  { additionalProperties: false },
);
export type UpdateContactBody = Static<typeof UpdateContactBodySchema>;

export const ContactParamsSchema = Type.Object({ number: Type.String({ minLength: 1, maxLength: 64 }) });

/** POST /api/contacts/lookup: numbers as calls and tasks carry them (the trunk's spelling). */
export const ContactLookupBodySchema = Type.Object(
  { numbers: Type.Array(Type.String({ maxLength: 64 }), { maxItems: CONTACT_LOOKUP_MAX }) },
  { additionalProperties: false },
);
/** Each asked number that has a contact: the spelling it was asked in, and its contact. */
export const ContactLookupSchema = Type.Array(Type.Object({ asked: Type.String(), contact: ContactSchema }));
export type ContactLookup = Static<typeof ContactLookupSchema>;

/** A line of an import that cannot be taken, by its line number in the file (1 is the header). */
export const ContactImportProblemSchema = Type.Object({ line: Type.Integer(), message: Type.String() });
export type ContactImportProblem = Static<typeof ContactImportProblemSchema>;

/**
 * What an import does, or would do (the preview): the contacts it adds and those whose name or note
 * it changes, the first lines of each, and every line it refuses. An import with any refused line
 * stores nothing (all or nothing): the manager fixes the file and imports it again.
 */
export const ContactImportResultSchema = Type.Object({
  /** False for a preview, and for an import refused because of `problems`. */
  imported: Type.Boolean(),
  added: Type.Integer(),
  updated: Type.Integer(),
  unchanged: Type.Integer(),
  /** The first contacts of the file, as they would be stored. */
  sample: Type.Array(ContactSchema),
  problems: Type.Array(ContactImportProblemSchema),
});
export type ContactImportResult = Static<typeof ContactImportResultSchema>;

/** 422 from POST /api/contacts/import: an API error with the refused lines. Nothing was stored. */
export const ContactImportRefusedSchema = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  problems: Type.Array(ContactImportProblemSchema),
});

/** The CSV's columns, in this order, in both the import and the export. */
export const CONTACT_CSV_COLUMNS = ['number', 'name', 'note'] as const;
