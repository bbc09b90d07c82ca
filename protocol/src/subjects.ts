import type { Static } from '@sinclair/typebox';
import { Type } from './schema-builders.js';

/**
 * Subjects (issue 5): what a call was about, chosen by the employee from a list the managers keep.
 * A subject is never deleted, only retired: old tasks keep showing its name, but it is no longer
 * offered for new choices. Renaming keeps the id, so past tasks follow the new name.
 */
export const SubjectSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  /** Not offered for new choices; still readable for the tasks that have it. */
  retired: Type.Boolean(),
  /** Epoch ms. */
  createdAt: Type.Integer(),
});
export type Subject = Static<typeof SubjectSchema>;

/** The subjects a new Deskline starts with; created once, when there are no subjects at all. */
export const DEFAULT_SUBJECTS: readonly string[] = ['Information', 'Visit booked', 'Visit not booked'];

/** Bounds of a subject's name, after spaces are tidied (trimmed, runs of spaces made one). */
export const SUBJECT_NAME_MIN_LENGTH = 1;
export const SUBJECT_NAME_MAX_LENGTH = 60;

/** The store checks the tidied name's length, so that the API and the CLI give the same message. */
const SubjectNameSchema = Type.String({ maxLength: SUBJECT_NAME_MAX_LENGTH * 2 });

/** POST /api/subjects (managers). */
export const CreateSubjectBodySchema = Type.Object({ name: SubjectNameSchema }, { additionalProperties: false });

/** PATCH /api/subjects/:id (managers); an absent field is left as it is. */
export const UpdateSubjectBodySchema = Type.Object(
  { name: Type.Optional(SubjectNameSchema) },
  { additionalProperties: false },
);

export const SubjectParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const ListSubjectsQuerySchema = Type.Object(
  { all: Type.Optional(Type.Boolean({ description: 'include retired subjects (managers only)' })) },
  { additionalProperties: false },
);
