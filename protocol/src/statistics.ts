/**
 * Statistics for managers (issue 5, docs/call-board.md). Computed for one day in the clinic's time
 * zone (CLINIC_TIME_ZONE) from the call records the sip app keeps (`call-record:<id>`, indexed by
 * start time in `call-records`) and the callbacks (`callback:<id>`, indexed in `callbacks`), both kept
 * HISTORY_RETENTION_DAYS.
 */

/** How a patient's call ended, for the statistics. */
export const CALL_OUTCOMES = ['answered', 'abandoned-intro', 'abandoned-waiting'] as const;
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

export interface StatisticsFigures {
  /** Calls that arrived (total only; 0 per user). */
  received: number;
  answered: number;
  abandonedDuringIntro: number;
  abandonedWhileWaiting: number;
  callbacks: number;
  /** Callbacks by outcome (ended ones; one in progress is counted in `callbacks` only). */
  callbackOutcomes: Record<import('./callbacks.js').CallbackOutcome, number>;
  /** Over the calls that reached the queue (per user: the calls the user answered); null when none. */
  waitAverageMs: number | null;
  /** 90th percentile, nearest-rank method; null when none. */
  waitP90Ms: number | null;
}

export interface UserStatistics {
  userId: string;
  name: string;
  figures: StatisticsFigures;
}

/** GET /api/statistics?date=YYYY-MM-DD (managers). */
export interface DayStatistics {
  /** YYYY-MM-DD in `timeZone`. */
  date: string;
  timeZone: string;
  total: StatisticsFigures;
  /** Users with any answered call or callback that day, by name. */
  users: UserStatistics[];
  /** For the chart: calls received, answered and abandoned per hour of the day (0–23, local). */
  hours: Array<{ hour: number; received: number; answered: number; abandoned: number }>;
}
