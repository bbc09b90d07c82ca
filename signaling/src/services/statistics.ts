import type { Redis } from 'ioredis';
import {
  CALLBACK_OUTCOMES,
  SUBJECT_CATEGORIES,
  waitingMs,
  type CallRecord,
  type CategoryStatistics,
  type Subject,
  type TaskView,
  type CallbackOutcome,
  type CallbackView,
  type DayStatistics,
  type StatisticsFigures,
  type UserStatistics,
} from '@deskline/protocol';
import { RedisKeys, parseCallRecord } from '@deskline/store';
import { ClientError } from '../errors.js';
import { dateIn, dayBounds, hourIn, parseDate } from './clinic-day.js';
import type { SubjectStore } from './subject-store.js';
import type { UserStore } from './user-store.js';

/** The 90th percentile by the nearest-rank method: the smallest value with at least 90 % of them at or below it. */
export function p90NearestRank(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(0.9 * sorted.length) - 1] ?? null;
}

function average(values: readonly number[]): number | null {
  return values.length === 0 ? null : Math.round(values.reduce((sum, value) => sum + value, 0) / values.length);
}

function noCallbackOutcomes(): Record<CallbackOutcome, number> {
  return Object.fromEntries(CALLBACK_OUTCOMES.map((outcome) => [outcome, 0])) as Record<CallbackOutcome, number>;
}

/** The figures of a set of calls and callbacks; `received` and the abandoned counts are what the calls say. */
function figures(
  calls: readonly CallRecord[],
  callbacks: readonly CallbackView[],
  options: { perUser: boolean },
): StatisticsFigures {
  const callbackOutcomes = noCallbackOutcomes();
  for (const callback of callbacks) {
    if (callback.state === 'ended' && callback.outcome) callbackOutcomes[callback.outcome] += 1;
  }
  const waits = calls.map(waitingMs).filter((ms): ms is number => ms !== undefined);
  const count = (outcome: CallRecord['outcome']): number => calls.filter((call) => call.outcome === outcome).length;
  return {
    received: options.perUser ? 0 : calls.length,
    answered: count('answered'),
    abandoned: count('abandoned'),
    unanswered: count('unanswered'),
    closed: count('closed'),
    callbackRequested: count('callback-requested'),
    voicemail: count('voicemail'),
    callbacks: callbacks.length,
    callbackOutcomes,
    waitAverageMs: average(waits),
    waitP90Ms: p90NearestRank(waits),
  };
}

export interface DayInput {
  date: string;
  timeZone: string;
  /** The calls that started that day. */
  calls: readonly CallRecord[];
  /** The callbacks that started that day. */
  callbacks: readonly CallbackView[];
  /** Display names by userId; a user no longer there is shown by id. */
  names: ReadonlyMap<string, string>;
  /** The subject of each task closed that day (one entry per task; a task closed without one is left out). */
  closedSubjectIds?: readonly string[];
  /** Every subject, retired ones included, in the managers' order (SubjectStore.list({ all: true })). */
  subjects?: readonly Subject[];
}

/** The tasks closed per category and per subject; a subject no longer known counts nowhere. */
export function categoryStatistics(
  closedSubjectIds: readonly string[],
  subjects: readonly Subject[],
): CategoryStatistics[] {
  const counts = new Map<string, number>();
  for (const id of closedSubjectIds) counts.set(id, (counts.get(id) ?? 0) + 1);
  return SUBJECT_CATEGORIES.map((category) => {
    const rows = subjects
      .filter((subject) => subject.category === category && (counts.get(subject.id) ?? 0) > 0)
      .map((subject) => ({ subjectId: subject.id, name: subject.name, closed: counts.get(subject.id) ?? 0 }));
    return { category, closed: rows.reduce((sum, row) => sum + row.closed, 0), subjects: rows };
  });
}

/**
 * A day's statistics (docs/call-board.md, "Statistics"): the totals, a row per user who answered a
 * call or made a callback (their calls' waits only), and the calls per local hour.
 */
export function computeDayStatistics(input: DayInput): DayStatistics {
  const userIds = new Set<string>();
  for (const call of input.calls) if (call.outcome === 'answered' && call.agentUserId) userIds.add(call.agentUserId);
  for (const callback of input.callbacks) userIds.add(callback.userId);
  const users: UserStatistics[] = [...userIds]
    .map((userId) => ({
      userId,
      name: input.names.get(userId) ?? userId,
      figures: figures(
        input.calls.filter((call) => call.outcome === 'answered' && call.agentUserId === userId),
        input.callbacks.filter((callback) => callback.userId === userId),
        { perUser: true },
      ),
    }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.userId.localeCompare(b.userId));

  const hours = Array.from({ length: 24 }, (_, hour) => ({ hour, received: 0, answered: 0, abandoned: 0 }));
  for (const call of input.calls) {
    const slot = hours[hourIn(input.timeZone, call.startedAt)];
    if (!slot) continue;
    slot.received += 1;
    if (call.outcome === 'answered') slot.answered += 1;
    else slot.abandoned += 1;
  }

  return {
    date: input.date,
    timeZone: input.timeZone,
    total: figures(input.calls, input.callbacks, { perUser: false }),
    users,
    hours,
    categories: categoryStatistics(input.closedSubjectIds ?? [], input.subjects ?? []),
  };
}

/** Reads a day's call records and callbacks from Redis and computes the statistics. */
export class StatisticsService {
  constructor(
    private readonly redis: Redis,
    private readonly users: UserStore,
    private readonly subjects: SubjectStore,
    readonly timeZone: string,
  ) {}

  /** Today's date in the clinic's zone. */
  today(now = Date.now()): string {
    return dateIn(this.timeZone, now);
  }

  async day(date: string): Promise<DayStatistics> {
    if (!parseDate(date)) throw new ClientError(400, `"${date}" is not a date: use YYYY-MM-DD, e.g. ${this.today()}.`);
    const { start, end } = dayBounds(date, this.timeZone);
    const [calls, callbacks, closedTasks, subjects] = await Promise.all([
      this.read(RedisKeys.callRecords, RedisKeys.callRecord, start, end, parseCallRecord),
      this.read(RedisKeys.callbacks, RedisKeys.callback, start, end, (json) => JSON.parse(json) as CallbackView),
      this.read(RedisKeys.closedTasks, RedisKeys.task, start, end, (json) => JSON.parse(json) as TaskView),
      this.subjects.list({ all: true }),
    ]);
    const closedSubjectIds = closedTasks.flatMap((task) =>
      task.status === 'closed' && task.subjectId !== undefined ? [task.subjectId] : [],
    );
    const userIds = new Set([
      ...calls.map((call) => call.agentUserId),
      ...callbacks.map((callback) => callback.userId),
    ]);
    const names = new Map<string, string>();
    for (const userId of userIds) {
      if (!userId) continue;
      const user = await this.users.get(userId);
      if (user) names.set(userId, user.displayName);
    }
    return computeDayStatistics({
      date,
      timeZone: this.timeZone,
      calls,
      callbacks,
      names,
      closedSubjectIds,
      subjects,
    });
  }

  /** The JSON documents an index names with a start in [start, end); those expired meanwhile are skipped. */
  private async read<T>(
    index: string,
    key: (id: string) => string,
    start: number,
    end: number,
    decode: (json: string) => T,
  ): Promise<T[]> {
    const ids = await this.redis.zrangebyscore(index, start, `(${end}`);
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map(key));
    return values.filter((value): value is string => value !== null).map(decode);
  }
}
