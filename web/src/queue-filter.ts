import type { CallView, QueueList } from '@deskline/protocol';

/** A queue as the board knows it (GET /api/queues). */
export type QueueSummary = QueueList['queues'][number];

/** The queue the board shows, or ALL_QUEUES. */
export const ALL_QUEUES = '';

/** Where this browser remembers the board's queue filter. */
const STORAGE_KEY = 'deskline:queue-filter';

/**
 * Whether the board shows a call (or a task, by its call) under the queue filter `queueId`. A call
 * not in a queue yet (in the intro or the menu, or one that came outside the opening hours) is shown
 * under every queue: nobody would see it otherwise.
 */
export function inQueue(call: Pick<CallView, 'queueId'> | undefined, queueId: string): boolean {
  return queueId === ALL_QUEUES || call?.queueId === undefined || call.queueId === queueId;
}

/** The filter in force: the chosen queue while the plan still has it and more than one queue, else all. */
export function queueFilterIn(chosen: string, queues: readonly QueueSummary[]): string {
  return queues.length > 1 && queues.some((queue) => queue.id === chosen) ? chosen : ALL_QUEUES;
}

/** The queue filter this browser remembers (ALL_QUEUES when none, or when storage is unavailable). */
export function rememberedQueueFilter(): string {
  try {
    return globalThis.window?.localStorage?.getItem(STORAGE_KEY) ?? ALL_QUEUES;
  } catch {
    return ALL_QUEUES;
  }
}

/** Remembers the queue filter in this browser, for the next page load. */
export function rememberQueueFilter(queueId: string): void {
  try {
    if (queueId === ALL_QUEUES) globalThis.window?.localStorage?.removeItem(STORAGE_KEY);
    else globalThis.window?.localStorage?.setItem(STORAGE_KEY, queueId);
  } catch {
    // Storage refused (a private window's quota): the filter holds until the page is reloaded.
  }
}
