import { PROMPT_WAIT_MINUTES, type CallRecord, type PromptName } from '@deskline/protocol';

/** The expected wait is announced only when at least this many calls were answered (and ended) in the last hour. */
export const MEANINGFUL_ANSWERED_CALLS = 3;
/** The window the expected wait is estimated over. */
export const EXPECTED_WAIT_WINDOW_MS = 60 * 60 * 1000;
/** Above this, no wait prompt: "about 60 minutes" would not be honest for a longer wait. */
const LONGEST_ANNOUNCED_MINUTES = 75;

/**
 * The expected wait of the caller at `position` (1 = next) from the calls answered in the last hour
 * (docs/call-plan.md, "Announcements while waiting"): position × the average time an answered call
 * lasted (answer to end) ÷ the number of staff who answered them, that is how long it takes, at the
 * last hour's pace, for the staff to finish the calls of everyone up to this caller. Undefined when
 * fewer than MEANINGFUL_ANSWERED_CALLS calls were answered: then nothing honest can be said.
 */
export function expectedWaitMs(position: number, answered: readonly CallRecord[]): number | undefined {
  const talks = answered.filter((record) => record.answeredAt !== undefined);
  if (talks.length < MEANINGFUL_ANSWERED_CALLS) return undefined;
  const handleMs =
    talks.reduce((sum, record) => sum + Math.max(0, record.endedAt - (record.answeredAt ?? record.endedAt)), 0) /
    talks.length;
  const staff = new Set(talks.map((record) => record.agentUserId ?? '')).size;
  return (position * handleMs) / Math.max(1, staff);
}

/**
 * The `wait-<m>` prompt nearest to `ms` (m in PROMPT_WAIT_MINUTES; a tie goes to the longer one, under
 * a minute is "about 1 minute"); undefined above LONGEST_ANNOUNCED_MINUTES.
 */
export function waitPrompt(ms: number): PromptName | undefined {
  const minutes = ms / 60_000;
  if (!Number.isFinite(minutes) || minutes > LONGEST_ANNOUNCED_MINUTES) return undefined;
  let best: number = PROMPT_WAIT_MINUTES[0];
  for (const candidate of PROMPT_WAIT_MINUTES) {
    if (Math.abs(candidate - minutes) <= Math.abs(best - minutes)) best = candidate;
  }
  return `wait-${best}`;
}
