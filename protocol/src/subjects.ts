import type { Static } from '@sinclair/typebox';
import { Type } from './schema-builders.js';
import { literalUnion } from './literal-union.js';

/**
 * The three fixed categories subjects are grouped under (issue 16), which the statistics report by.
 * The clinic's own subjects sit under them; the categories themselves are neither added nor renamed.
 */
export const SUBJECT_CATEGORIES = ['information', 'visit-booked', 'visit-not-booked'] as const;
export type SubjectCategory = (typeof SUBJECT_CATEGORIES)[number];

/** Each category's name as the app and the CLI show it. */
export const SUBJECT_CATEGORY_NAMES: Record<SubjectCategory, string> = {
  information: 'Information',
  'visit-booked': 'Visit booked',
  'visit-not-booked': 'Visit not booked',
};

export function isSubjectCategory(value: string): value is SubjectCategory {
  return (SUBJECT_CATEGORIES as readonly string[]).includes(value);
}

export const SubjectCategorySchema = literalUnion(SUBJECT_CATEGORIES);

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
  category: SubjectCategorySchema,
  /**
   * Where it comes in the managers' order: subjects are listed by category, then by this number
   * (unique across all subjects, not consecutive).
   */
  position: Type.Integer(),
  /** Epoch ms. */
  createdAt: Type.Integer(),
});
export type Subject = Static<typeof SubjectSchema>;

/**
 * The subjects a new Deskline starts with, created once, when there are no subjects at all: one per
 * category, named after it. A subject stored before categories existed (issue 16) is put under the
 * category its name matches, or under Information.
 */
export const DEFAULT_SUBJECTS: readonly { name: string; category: SubjectCategory }[] = SUBJECT_CATEGORIES.map(
  (category) => ({ name: SUBJECT_CATEGORY_NAMES[category], category }),
);

/** Bounds of a subject's name, after spaces are tidied (trimmed, runs of spaces made one). */
export const SUBJECT_NAME_MIN_LENGTH = 1;
export const SUBJECT_NAME_MAX_LENGTH = 60;

/** The store checks the tidied name's length, so that the API and the CLI give the same message. */
const SubjectNameSchema = Type.String({ maxLength: SUBJECT_NAME_MAX_LENGTH * 2 });

/** POST /api/subjects (managers); without a category, the subject goes under Information. */
export const CreateSubjectBodySchema = Type.Object(
  { name: SubjectNameSchema, category: Type.Optional(SubjectCategorySchema) },
  { additionalProperties: false },
);

/**
 * PATCH /api/subjects/:id (managers); an absent field is left as it is. A new category moves the
 * subject to the end of that category; its tasks, past ones included, count under the new one.
 */
export const UpdateSubjectBodySchema = Type.Object(
  { name: Type.Optional(SubjectNameSchema), category: Type.Optional(SubjectCategorySchema) },
  { additionalProperties: false },
);

/** The most subjects one category may be given in one order (a clinic has tens). */
export const SUBJECT_REORDER_MAX = 200;

/**
 * POST /api/subjects/reorder (managers): the category's subjects in use (not retired), every one of
 * them exactly once, in their new order. Retired subjects keep their place after them.
 */
export const ReorderSubjectsBodySchema = Type.Object(
  {
    category: SubjectCategorySchema,
    ids: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: SUBJECT_REORDER_MAX }),
  },
  { additionalProperties: false },
);
export type ReorderSubjectsBody = Static<typeof ReorderSubjectsBodySchema>;

/** Subjects in the managers' order: by category (as SUBJECT_CATEGORIES lists them), then by position. */
export function compareSubjects(a: Subject, b: Subject): number {
  return SUBJECT_CATEGORIES.indexOf(a.category) - SUBJECT_CATEGORIES.indexOf(b.category) || a.position - b.position;
}

export const SubjectParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const ListSubjectsQuerySchema = Type.Object(
  { all: Type.Optional(Type.Boolean({ description: 'include retired subjects (managers only)' })) },
  { additionalProperties: false },
);
