import type { Static, TInteger } from '@sinclair/typebox';
import { Type } from './schema-builders.js';
import { CALLBACK_OUTCOMES, type CallbackOutcome } from './callbacks.js';
import { SubjectCategorySchema } from './subjects.js';

/**
 * Statistics for managers (issue 5, docs/call-board.md). Computed for one day in the clinic's time
 * zone (CLINIC_TIME_ZONE) from the call records the sip app keeps (`call-record:<id>`, indexed by
 * start time in `call-records`) and the callbacks (`callback:<id>`, indexed in `callbacks`), both kept
 * HISTORY_RETENTION_DAYS.
 */

/** How a patient's call ended, for the statistics. */
export const CALL_OUTCOMES = [
  'answered',
  // Issue 16 (protocol/src/outcomes.ts): hung up during the intro or the menu; hung up later (waiting,
  // ringing, the overflow offer, the voicemail greeting). Records written before issue 16 said
  // `abandoned-intro` and `abandoned-waiting`: signaling rewrites them at start (@deskline/store).
  'abandoned',
  'unanswered',
  // The call plan (issue 15): heard the closed message (outside the hours, or an overflow to it); asked
  // for a callback; left a voicemail message (`message-left`), which is not an abandoned call.
  'closed',
  'callback-requested',
  'voicemail',
] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

/** Written by the sip app when a call ends (JSON at `call-record:<id>`). */
export interface CallRecord {
  id: string;
  from: string;
  line: string;
  outcome: CallOutcome;
  /** Epoch ms. */
  startedAt: number;
  queuedAt?: number;
  answeredAt?: number;
  endedAt: number;
  /** Who answered. */
  agentUserId?: string;
  /** A `closed` or `voicemail` call that came outside the opening hours (or on a closure). */
  afterHours?: boolean;
}

/**
 * Waiting time of a call that reached the queue: from the end of the intro to the answer, or to the
 * hang-up of a patient nobody answered. Calls that ended during the intro have none.
 */
export function waitingMs(record: CallRecord): number | undefined {
  if (record.queuedAt === undefined) return undefined;
  const until = record.outcome === 'answered' ? record.answeredAt : record.endedAt;
  return until === undefined ? undefined : Math.max(0, until - record.queuedAt);
}

const NullableMsSchema = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]);

export const StatisticsFiguresSchema = Type.Object({
  /** Calls that arrived (total only; 0 per user). */
  received: Type.Integer(),
  answered: Type.Integer(),
  /** Hung up during the intro or the menu (issue 16: Abandoned). */
  abandoned: Type.Integer(),
  /** Hung up while waiting or ringing, or in the overflow offer or the voicemail greeting (issue 16: Unanswered). */
  unanswered: Type.Integer(),
  /** Calls that heard the closed message and were hung up on: outside the hours, or an overflow to it (issue 15). */
  closed: Type.Integer(),
  /** Calls whose patient pressed the callback key (issue 15). */
  callbackRequested: Type.Integer(),
  /** Calls that ended with a voicemail message kept (issue 15); not counted as abandoned. */
  voicemail: Type.Integer(),
  callbacks: Type.Integer(),
  /** Callbacks by outcome (ended ones; one in progress is counted in `callbacks` only). */
  callbackOutcomes: Type.Object(
    Object.fromEntries(CALLBACK_OUTCOMES.map((outcome) => [outcome, Type.Integer()])) as Record<
      CallbackOutcome,
      TInteger
    >,
  ),
  /** Over the calls that reached the queue (per user: the calls the user answered); null when none. */
  waitAverageMs: NullableMsSchema,
  /** 90th percentile, nearest-rank method; null when none. */
  waitP90Ms: NullableMsSchema,
});
export type StatisticsFigures = Static<typeof StatisticsFiguresSchema>;

export const UserStatisticsSchema = Type.Object({
  userId: Type.String(),
  name: Type.String(),
  figures: StatisticsFiguresSchema,
});
export type UserStatistics = Static<typeof UserStatisticsSchema>;

/**
 * The tasks closed that day under each subject category (issue 16), and under each of its subjects,
 * by the subject's category now (a subject moved since counts under its new one). Tasks are counted
 * by when they were closed, in the clinic's zone.
 */
export const CategoryStatisticsSchema = Type.Object({
  category: SubjectCategorySchema,
  /** Tasks closed that day with a subject of this category. */
  closed: Type.Integer(),
  /** This category's subjects that closed a task that day, in the managers' order. */
  subjects: Type.Array(Type.Object({ subjectId: Type.String(), name: Type.String(), closed: Type.Integer() })),
});
export type CategoryStatistics = Static<typeof CategoryStatisticsSchema>;

/** GET /api/statistics?date=YYYY-MM-DD (managers). */
export const DayStatisticsSchema = Type.Object({
  /** YYYY-MM-DD in `timeZone`. */
  date: Type.String(),
  timeZone: Type.String(),
  total: StatisticsFiguresSchema,
  /** Users with any answered call or callback that day, by name. */
  users: Type.Array(UserStatisticsSchema),
  /** Every subject category, in SUBJECT_CATEGORIES' order, with the tasks closed that day under it. */
  categories: Type.Array(CategoryStatisticsSchema),
  /** For the chart: calls received, answered and abandoned per hour of the day (0–23, local). */
  hours: Type.Array(
    Type.Object({
      hour: Type.Integer(),
      received: Type.Integer(),
      answered: Type.Integer(),
      abandoned: Type.Integer(),
    }),
  ),
});
export type DayStatistics = Static<typeof DayStatisticsSchema>;

export const StatisticsQuerySchema = Type.Object(
  {
    // A real calendar date is checked by the service, which says what is wrong in words.
    date: Type.Optional(
      Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: "YYYY-MM-DD in the clinic's zone; default today" }),
    ),
  },
  { additionalProperties: false },
);
