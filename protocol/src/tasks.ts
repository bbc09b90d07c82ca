import type { CallView } from './calls.js';
import type { CallbackView } from './callbacks.js';

/**
 * The call board (issue 5, docs/call-board.md). A task is what staff act on: one patient's call from
 * the moment it arrives until a subject closes it, and the callback work for a patient nobody
 * answered. One open callback task per patient number: a patient who calls again and is missed again
 * counts another attempt on the same task instead of making a second one.
 *
 *   incoming ──answered──> on-the-line ──hang-up──> wrap-up ──subject + close──> closed
 *      │  (intro, waiting,                   └─(subject already set)──────────────────┘
 *      │   ringing)
 *      └──patient hung up──> abandoned ──call back──> calling-back ──answered──> on-the-line
 *              ^   │                                      │
 *              │   └──the patient calls again: incoming   └─no answer, busy, failed, cancelled─┐
 *              └───────────────────────────────────────────────────────────────────────────────┘
 *
 * An abandoned task can also be closed with a subject (the patient was reached another way).
 */
export const TASK_STATUSES = ['incoming', 'on-the-line', 'wrap-up', 'abandoned', 'calling-back', 'closed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** The board's tabs. */
export const TASK_TABS = ['pending', 'on-the-line', 'closed', 'abandoned'] as const;
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
export function taskVisibleTo(task: Pick<TaskView, 'status' | 'assigneeUserId'>, viewer: { userId: string; role: string }): boolean {
  if (viewer.role === 'manager' || taskTab(task.status) !== 'pending') return true;
  return task.assigneeUserId === undefined || task.assigneeUserId === viewer.userId;
}

/** Kinds of problem an agent can report about a call. */
export const PROBLEM_KINDS = ['bad-audio', 'echo', 'call-dropped', 'other'] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];

export interface ProblemReport {
  kind: ProblemKind;
  /** Optional words from the agent, at most PROBLEM_NOTE_MAX_LENGTH. */
  note?: string;
  /** The call it is about (the task's call at the time), when there was one. */
  callId?: string;
  userId: string;
  /** Epoch ms. */
  at: number;
}

export const TASK_COMMENT_MAX_LENGTH = 1000;
export const PROBLEM_NOTE_MAX_LENGTH = 500;

/** One callback attempt as the task lists it. */
export interface TaskCallbackAttempt {
  callbackId: string;
  userId: string;
  /** Epoch ms the call was placed. */
  at: number;
  /** Absent while the callback is in progress. */
  outcome?: import('./callbacks.js').CallbackOutcome;
}

export interface TaskView {
  id: string;
  /** The patient's number as the trunk presented it; '' when withheld (no callback possible). */
  patient: string;
  status: TaskStatus;
  /** Who owns it: the agent on the line, in wrap-up, or calling back. Unassigned while incoming or abandoned. */
  assigneeUserId?: string;
  /** The patient's current call, or the last one (its state is the stage: intro, waiting, ringing…). */
  call?: CallView;
  /** The callback in progress, or the last one. */
  callback?: CallbackView;
  /** Calls from the patient in this task, oldest first. */
  callIds: string[];
  /** How many of those calls nobody answered: the callback's attempts counter. */
  attempts: number;
  callbacks: TaskCallbackAttempt[];
  subjectId?: string;
  comment?: string;
  problems: ProblemReport[];
  /** The subject that closed this patient's previous task, shown while on the line. */
  previousSubjectId?: string;
  /** Epoch ms. */
  createdAt: number;
  updatedAt: number;
  closedAt?: number;
  closedByUserId?: string;
}

/** GET /api/tasks?tab=…[&limit=…]: a tab's tasks, newest change first (Closed: newest closed first). */
export interface TaskListResponse {
  tasks: TaskView[];
}

/** PATCH /api/tasks/:id. An absent field is left as it is; `subjectId: null` / `comment: ''` clear. */
export interface UpdateTaskRequest {
  subjectId?: string | null;
  comment?: string;
}

/** POST /api/tasks/:id/problems */
export interface ReportProblemRequest {
  kind: ProblemKind;
  note?: string;
}

/**
 * POST /api/tasks/:id/close: 409 `subject-required` without a subject; 409 while a call or a callback
 * is in progress.
 */
export type CloseTaskRequest = Record<string, never>;
