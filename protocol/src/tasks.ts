import type { Static } from '@sinclair/typebox';
import { Type } from './schema-builders.js';
import { CallViewSchema } from './calls.js';
import { CALLBACK_OUTCOMES, CallbackViewSchema } from './callbacks.js';
import { literalUnion } from './literal-union.js';

/**
 * The call board (issue 5, docs/call-board.md). A task is what staff act on: one patient's call from
 * the moment it arrives until a subject closes it, and the callback work for a patient nobody
 * answered. One open task per patient number for the calls nobody answered: a patient who calls
 * again and is missed again counts another attempt on the same task instead of making a second one.
 *
 *   incoming ──answered──> on-the-line ──hang-up──> wrap-up ──subject + close──> closed
 *      │  (intro, waiting,                   └─(subject already set)──────────────────┘
 *      │   ringing)
 *      ├──hung up during the intro──> abandoned ──(abandoned callbacks on) call back──┐
 *      └──hung up waiting or ringing, asked for a callback,                            v
 *         left a message, heard the closed message──> unanswered ──call back──> calling-back ──answered──> on-the-line
 *                                                      ^   │                      │
 *           the patient calls again: incoming <────────┼───┘ (from either)        │
 *                                                      └─no answer, busy, failed, cancelled
 *
 * Abandoned vs Unanswered (protocol/src/outcomes.ts): a task is Unanswered once any of its calls
 * was missed the Unanswered way; it stays Abandoned only while every miss was a hang-up during the
 * intro. A failed callback leaves the task Unanswered. Both can be closed with a subject (the
 * patient was reached another way).
 */
export const TASK_STATUSES = [
  'incoming',
  'on-the-line',
  'wrap-up',
  'unanswered',
  'abandoned',
  'calling-back',
  'closed',
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** The board's tabs. */
export const TASK_TABS = ['pending', 'on-the-line', 'closed', 'unanswered', 'abandoned'] as const;
export type TaskTab = (typeof TASK_TABS)[number];

/** Which tab shows a task of this status. */
export function taskTab(status: TaskStatus): TaskTab {
  switch (status) {
    case 'incoming':
    case 'wrap-up':
      return 'pending';
    case 'on-the-line':
    case 'calling-back':
      return 'on-the-line';
    case 'unanswered':
      return 'unanswered';
    case 'abandoned':
      return 'abandoned';
    case 'closed':
      return 'closed';
  }
}

/**
 * Whether `viewer` sees the task in its tab. Pending shows an employee their own tasks (assigned to
 * them) and the unassigned ones; managers see all. Every other tab shows everyone every task.
 * Signaling applies this to GET /api/tasks; the panel applies it to pushed tasks.
 */
export function taskVisibleTo(
  task: Pick<TaskView, 'status' | 'assigneeUserId'>,
  viewer: { userId: string; role: string },
): boolean {
  if (viewer.role === 'manager' || taskTab(task.status) !== 'pending') return true;
  return task.assigneeUserId === undefined || task.assigneeUserId === viewer.userId;
}

/**
 * Why a task's voicemail message is gone: HISTORY_RETENTION_DAYS passed (the retention sweep deleted
 * it), or its audio file was found missing on the server (the metadata is kept for the sweep).
 */
export const VOICEMAIL_REMOVED_REASONS = ['retention', 'file-missing'] as const;
export type VoicemailRemovedReason = (typeof VOICEMAIL_REMOVED_REASONS)[number];

/** Kinds of problem an agent can report about a call. */
export const PROBLEM_KINDS = ['bad-audio', 'echo', 'call-dropped', 'other'] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];

export const TASK_COMMENT_MAX_LENGTH = 1000;
export const PROBLEM_NOTE_MAX_LENGTH = 500;

export const ProblemKindSchema = literalUnion(PROBLEM_KINDS);

export const TaskSchema = Type.Object({
  id: Type.String(),
  /** The patient's number as the trunk presented it; '' when withheld (no callback possible). */
  patient: Type.String(),
  status: literalUnion(TASK_STATUSES),
  /** Who owns it: the agent on the line, in wrap-up, or calling back. Unassigned while incoming, unanswered or abandoned. */
  assigneeUserId: Type.Optional(Type.String()),
  /** The patient's current call, or the last one (its state is the stage: intro, waiting, ringing…). */
  call: Type.Optional(CallViewSchema),
  /** The callback in progress, or the last one. */
  callback: Type.Optional(CallbackViewSchema),
  /** Calls from the patient in this task, oldest first. */
  callIds: Type.Array(Type.String()),
  /** How many of those calls nobody answered: the callback's attempts counter. */
  attempts: Type.Integer(),
  /** The callback attempts. */
  callbacks: Type.Array(
    Type.Object({
      callbackId: Type.String(),
      userId: Type.String(),
      /** Epoch ms the call was placed. */
      at: Type.Integer(),
      /** Absent while the callback is in progress. */
      outcome: Type.Optional(literalUnion(CALLBACK_OUTCOMES)),
    }),
  ),
  subjectId: Type.Optional(Type.String()),
  comment: Type.Optional(Type.String()),
  /** Problems the agents reported about its calls. */
  problems: Type.Array(
    Type.Object({
      kind: ProblemKindSchema,
      /** Optional words from the agent, at most PROBLEM_NOTE_MAX_LENGTH. */
      note: Type.Optional(Type.String()),
      /** The call it is about (the task's call at the time), when there was one. */
      callId: Type.Optional(Type.String()),
      userId: Type.String(),
      /** Epoch ms. */
      at: Type.Integer(),
    }),
  ),
  /**
   * The patient pressed the callback key while waiting (issue 15): the task is unanswered (to call
   * back) and the board lists it by the caller's place in the queue (its call's queuedAt).
   */
  callbackRequested: Type.Optional(Type.Boolean()),
  /**
   * The voicemail message the patient left (issue 15): the task is a "Voicemail" task in the
   * Unanswered tab, with a player (GET /api/voicemail/:id/audio) and the callback button. Once the
   * message is gone (`removed`), the task keeps its length and date but no id: nothing to play.
   */
  voicemail: Type.Optional(
    Type.Object({
      /** Absent once the message is removed. */
      id: Type.Optional(Type.String()),
      /** The message's length, ms. */
      durationMs: Type.Integer({ minimum: 0 }),
      /** Epoch ms. */
      createdAt: Type.Integer(),
      /** Why and when the message went (VOICEMAIL_REMOVED_REASONS). */
      removed: Type.Optional(
        Type.Object({
          reason: literalUnion(VOICEMAIL_REMOVED_REASONS),
          /** Epoch ms. */
          at: Type.Integer(),
        }),
      ),
    }),
  ),
  /** The subject that closed this patient's previous task, shown while on the line. */
  previousSubjectId: Type.Optional(Type.String()),
  /** Epoch ms. */
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
  closedAt: Type.Optional(Type.Integer()),
  closedByUserId: Type.Optional(Type.String()),
});
export type TaskView = Static<typeof TaskSchema>;

/** GET /api/tasks?tab=…[&limit=…]: a tab's tasks, newest change first (Closed: newest closed first). */
export const TaskListSchema = Type.Object({ tasks: Type.Array(TaskSchema) });
export type TaskListResponse = Static<typeof TaskListSchema>;

export const TASK_LIST_DEFAULT_LIMIT = 100;
export const TASK_LIST_MAX_LIMIT = 500;

export const ListTasksQuerySchema = Type.Object(
  {
    tab: literalUnion(TASK_TABS),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: TASK_LIST_MAX_LIMIT, default: TASK_LIST_DEFAULT_LIMIT })),
  },
  { additionalProperties: false },
);

export const TaskParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/** PATCH /api/tasks/:id. An absent field is left as it is; `subjectId: null` / `comment: ''` clear. */
export const UpdateTaskBodySchema = Type.Object(
  {
    subjectId: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()])),
    comment: Type.Optional(Type.String({ maxLength: TASK_COMMENT_MAX_LENGTH })),
  },
  { additionalProperties: false },
);

/** POST /api/tasks/:id/problems */
export const ReportProblemBodySchema = Type.Object(
  { kind: ProblemKindSchema, note: Type.Optional(Type.String({ maxLength: PROBLEM_NOTE_MAX_LENGTH })) },
  { additionalProperties: false },
);
export type ReportProblemRequest = Static<typeof ReportProblemBodySchema>;
