import {
  compareSubjects,
  isWithheld,
  taskTab,
  taskVisibleTo,
  type CallbackOutcome,
  type Subject,
  type TaskTab,
  type TaskView,
} from '@deskline/protocol';

/** What the board needs to know of the person looking at it. */
export interface BoardViewer {
  userId: string;
  role: string;
}

/** Since when an incoming call has waited: the end of the intro, else the start of the call. */
export function waitingSinceOf(task: TaskView): number {
  return task.call?.queuedAt ?? task.call?.startedAt ?? task.createdAt;
}

/**
 * The order of a tab. Pending: the incoming calls first, in the order the patients called (the next
 * to be answered on top), then the wrap-ups, newest first. Closed: newest closed first. Unanswered:
 * the patients who asked for a callback first, in their order in the queue (their call's queuedAt),
 * then the others newest change first. On the line and Abandoned: newest change first.
 */
export function compareTasks(tab: TaskTab): (a: TaskView, b: TaskView) => number {
  switch (tab) {
    case 'pending':
      return (a, b) =>
        Number(a.status !== 'incoming') - Number(b.status !== 'incoming') ||
        (a.status === 'incoming' ? waitingSinceOf(a) - waitingSinceOf(b) : b.updatedAt - a.updatedAt) ||
        a.id.localeCompare(b.id);
    case 'closed':
      return (a, b) => (b.closedAt ?? b.updatedAt) - (a.closedAt ?? a.updatedAt) || a.id.localeCompare(b.id);
    case 'unanswered':
      return (a, b) =>
        Number(!a.callbackRequested) - Number(!b.callbackRequested) ||
        (a.callbackRequested ? waitingSinceOf(a) - waitingSinceOf(b) : b.updatedAt - a.updatedAt) ||
        a.id.localeCompare(b.id);
    case 'on-the-line':
    case 'abandoned':
      return (a, b) => b.updatedAt - a.updatedAt || a.id.localeCompare(b.id);
  }
}

/** The tasks of one tab that `viewer` sees (taskVisibleTo), in the tab's order. */
export function tabTasks(tasks: Iterable<TaskView>, tab: TaskTab, viewer: BoardViewer): TaskView[] {
  return [...tasks]
    .filter((task) => taskTab(task.status) === tab && taskVisibleTo(task, viewer))
    .sort(compareTasks(tab));
}

/**
 * The Closed tab's tasks: the list loaded from the server and the tasks pushed as closed since, each
 * task once, in its latest version.
 */
export function mergeTasks(...lists: Iterable<TaskView>[]): TaskView[] {
  const byId = new Map<string, TaskView>();
  for (const list of lists) {
    for (const task of list) {
      const known = byId.get(task.id);
      if (known === undefined || known.updatedAt <= task.updatedAt) byId.set(task.id, task);
    }
  }
  return [...byId.values()];
}

/** Whether `viewer` may change the task (the server checks too): managers any, others theirs or unassigned. */
export function canChangeTask(task: Pick<TaskView, 'status' | 'assigneeUserId'>, viewer: BoardViewer): boolean {
  if (task.status === 'closed') return false;
  return viewer.role === 'manager' || task.assigneeUserId === undefined || task.assigneeUserId === viewer.userId;
}

/**
 * The subjects to offer for a task: the active ones in the managers' order, and the task's own
 * subject even when it has been retired since (so the choice still shows; it is marked retired).
 */
export function subjectChoices(subjects: ReadonlyMap<string, Subject>, current: string | undefined): Subject[] {
  return [...subjects.values()]
    .filter((subject) => !subject.retired || subject.id === current)
    .sort((a, b) => Number(a.retired) - Number(b.retired) || compareSubjects(a, b));
}

/** A callback attempt's outcome, in words. */
export const CALLBACK_OUTCOME_LABELS: Record<CallbackOutcome, string> = {
  answered: 'answered',
  'no-answer': 'no answer',
  busy: 'busy',
  rejected: 'rejected',
  failed: 'failed',
  cancelled: 'cancelled',
};

/** A subject's name as a task shows it: marked when retired, or unnamed when no longer known. */
export function subjectLabel(subjects: ReadonlyMap<string, Subject>, subjectId: string): string {
  const subject = subjects.get(subjectId);
  if (subject === undefined) return 'a retired subject';
  return subject.retired ? `${subject.name} (retired)` : subject.name;
}

/**
 * Finds the calls to announce to screen readers ("New call from …"): the incoming calls that arrive
 * after the board went live. The first look (once connected) only learns the calls already there.
 */
export class NewCallWatcher {
  #known: Set<string> | undefined;

  /** The announcement for the incoming calls not seen before, or '' when there are none. */
  look(tasks: Iterable<TaskView>): string {
    const incoming = [...tasks].filter((task) => task.status === 'incoming' && task.call !== undefined);
    if (this.#known === undefined) {
      this.#known = new Set(incoming.map((task) => task.call!.id));
      return '';
    }
    const fresh = incoming.filter((task) => !this.#known!.has(task.call!.id));
    for (const task of fresh) this.#known.add(task.call!.id);
    return fresh
      .map((task) => (isWithheld(task.patient) ? 'New call, number withheld' : `New call from ${task.patient}`))
      .join('. ');
  }
}

const DAY_MS = 24 * 60 * 60_000;

/** Why a task's voicemail message can no longer be played, for the card in place of its player. */
export function voicemailRemovedText(message: NonNullable<TaskView['voicemail']>): string {
  switch (message.removed?.reason) {
    case 'retention': {
      const days = Math.floor((message.removed.at - message.createdAt) / DAY_MS);
      return `Message deleted after ${days} ${days === 1 ? 'day' : 'days'} (retention).`;
    }
    case 'file-missing':
      return "The message's recording is missing on the server: it cannot be played. Tell the clinic's IT.";
    case undefined:
      return 'The message is no longer available.';
  }
}
