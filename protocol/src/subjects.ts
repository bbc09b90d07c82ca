/**
 * Subjects (issue 5): what a call was about, chosen by the employee from a list the managers keep.
 * A subject is never deleted, only retired: old tasks keep showing its name, but it is no longer
 * offered for new choices. Renaming keeps the id, so past tasks follow the new name.
 */
export interface Subject {
  id: string;
  name: string;
  /** Not offered for new choices; still readable for the tasks that have it. */
  retired: boolean;
  /** Epoch ms. */
  createdAt: number;
}

/** The subjects a new Deskline starts with; created once, when there are no subjects at all. */
export const DEFAULT_SUBJECTS: readonly string[] = ['Information', 'Visit booked', 'Visit not booked'];

/** Bounds of a subject's name, after spaces are tidied (trimmed, runs of spaces made one). */
export const SUBJECT_NAME_MIN_LENGTH = 1;
export const SUBJECT_NAME_MAX_LENGTH = 60;

/** POST /api/subjects (managers). */
export interface CreateSubjectRequest {
  name: string;
}

/** PATCH /api/subjects/:id (managers); an absent field is left as it is. */
export interface UpdateSubjectRequest {
  name?: string;
}
