import {
  ANNOUNCEMENT_INTERVAL_MIN_SECONDS,
  DATE_PATTERN,
  MAX_WAIT_MIN_SECONDS,
  WEEKDAYS,
  type CallPlan,
  type Closure,
  type OpeningInterval,
  type OverflowTarget,
  type PromptLanguage,
  type Weekday,
} from './call-plan.js';
import type { CallPlanPreview } from './call-plan-api.js';

/**
 * The call plan's clock (issue 15, docs/call-plan.md "Opening hours"): whether the clinic is open at
 * an instant, when that changes, what is wrong with a plan a manager is saving, and what a caller
 * would hear. Pure: Intl only, so that the sip app, signaling and the web app agree.
 *
 * The hours are wall-clock times in the clinic's time zone: the clinic is open while the clock on
 * its wall shows a time inside one of the day's intervals. On the day the clocks go forward
 * (Europe/Warsaw: the last Sunday of March, 02:00 → 03:00) the skipped times never show, so an
 * interval 01:00–04:00 lasts two hours and one opening at 02:30 opens at 03:00. On the day they go
 * back (the last Sunday of October, 03:00 → 02:00) the repeated hour shows twice, so 01:00–04:00
 * lasts four hours, and a boundary inside the repeated hour (e.g. 02:30) is crossed on both passes.
 * A closure closes whole calendar days, from 00:00 of `from` to 24:00 of `to`.
 */

/** The time zone is not one this runtime knows (Intl refuses it). */
export class UnknownTimeZoneError extends Error {
  override name = 'UnknownTimeZoneError';
  constructor(readonly timeZone: string) {
    super(`Unknown time zone "${timeZone}": use an IANA name such as Europe/Warsaw.`);
  }
}

export type Opening = { open: true; closesAt?: number } | { open: false; closure?: Closure; opensAt?: number };

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** How far ahead openingAt looks for the next change, beyond the last closure: one week and a day. */
const LOOKAHEAD_DAYS = 8;
/** ... and never further than this (a closure may run for months). */
const MAX_LOOKAHEAD_DAYS = 400;

interface WallClock {
  /** YYYY-MM-DD */
  date: string;
  weekday: Weekday;
  /** Seconds since the wall clock's 00:00. */
  seconds: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * The zone's wall-clock formatter (en-US, 24 h, year to second), one per zone: making one is slow,
 * using one is cheap. Throws UnknownTimeZoneError for a zone Intl does not know.
 */
export function zoneFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
    } catch {
      throw new UnknownTimeZoneError(timeZone);
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether Intl knows the time zone. */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    zoneFormatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall clock's fields at `at` (whole seconds), as numbers. */
function fields(timeZone: string, at: number): [number, number, number, number, number, number] {
  const parts: Record<string, number> = {};
  for (const part of zoneFormatter(timeZone).formatToParts(new Date(at))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return [parts['year']!, parts['month']!, parts['day']!, parts['hour']!, parts['minute']!, parts['second']!];
}

/** The zone's offset from UTC at `at`, in ms. */
function offsetAt(timeZone: string, at: number): number {
  const [y, mo, d, h, mi, s] = fields(timeZone, at);
  const whole = Math.floor(at / 1000) * 1000;
  return Date.UTC(y, mo - 1, d, h, mi, s) - whole;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

function wallClock(timeZone: string, at: number): WallClock {
  const [y, mo, d, h, mi, s] = fields(timeZone, at);
  const weekday = WEEKDAYS[(new Date(Date.UTC(y, mo - 1, d)).getUTCDay() + 6) % 7]!;
  return { date: `${pad(y, 4)}-${pad(mo)}-${pad(d)}`, weekday, seconds: h * 3600 + mi * 60 + s };
}

/** "HH:MM" as minutes since 00:00 ("24:00" is 1440). */
export function minutesOf(time: string): number {
  return Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));
}

/** The calendar date `days` after `date` (YYYY-MM-DD). */
export function addDays(date: string, days: number): string {
  const t = Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) + days * DAY_MS;
  const d = new Date(t);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

function weekdayOf(date: string): Weekday {
  const t = Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10)));
  return WEEKDAYS[(new Date(t).getUTCDay() + 6) % 7]!;
}

/** The calendar date (YYYY-MM-DD) in the zone at `at`. */
export function dateInZone(timeZone: string, at: Date | number): string {
  return wallClock(timeZone, typeof at === 'number' ? at : at.getTime()).date;
}

/**
 * The instants at which the zone's wall clock shows `minutes` on `date`: one, two (the repeated hour
 * when the clocks go back) or, for a time the clocks skip, the instant they skip to.
 */
export function instantsOf(timeZone: string, date: string, minutes: number): number[] {
  const local =
    Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) + minutes * MINUTE_MS;
  const offsets = new Set([
    offsetAt(timeZone, local - DAY_MS),
    offsetAt(timeZone, local),
    offsetAt(timeZone, local + DAY_MS),
  ]);
  const found = [...offsets]
    .map((offset) => local - offset)
    .filter((at) => offsetAt(timeZone, at) === local - at)
    .sort((a, b) => a - b);
  if (found.length > 0) return [...new Set(found)];
  // Skipped: the first instant whose wall clock is past it, found between the two offsets' readings.
  const candidates = [...offsets].map((offset) => local - offset).sort((a, b) => a - b);
  let low = candidates[0]!;
  let high = candidates[candidates.length - 1]!;
  // low's wall clock is before `local`, high's after it; the jump lies between.
  while (high - low > 1000) {
    const mid = Math.floor((low + high) / 2000) * 1000;
    if (mid + offsetAt(timeZone, mid) < local) low = mid;
    else high = mid;
  }
  return [high];
}

/** The instant the zone's offset changes on `date`, if it does (e.g. the clocks go forward or back). */
function transitionOn(timeZone: string, date: string): number | undefined {
  let low = instantsOf(timeZone, date, 0)[0]!;
  let high = instantsOf(timeZone, addDays(date, 1), 0)[0]!;
  const before = offsetAt(timeZone, low);
  if (offsetAt(timeZone, high) === before) return undefined;
  while (high - low > 1000) {
    const mid = Math.floor((low + high) / 2000) * 1000;
    if (offsetAt(timeZone, mid) === before) low = mid;
    else high = mid;
  }
  return high;
}

/**
 * An ISO 8601 date-time as epoch ms: with an offset or Z it names an instant; without one
 * (`2026-12-25T10:00`, as a datetime-local input gives it) it is a wall-clock time in `timeZone` (a
 * time the clocks skip is the instant they skip to; a repeated one, its first pass). undefined when
 * the text is not such a date-time.
 */
export function parseDateTime(text: string, timeZone: string): number | undefined {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?$/.exec(text);
  if (match === null || !isCalendarDate(match[1]!)) return undefined;
  const [, date, hours, minutes, seconds, zone] = match;
  if (Number(hours) > 23 || Number(minutes) > 59 || Number(seconds ?? 0) > 59) return undefined;
  if (zone !== undefined) {
    const at = Date.parse(text);
    return Number.isNaN(at) ? undefined : at;
  }
  const instant = instantsOf(timeZone, date!, Number(hours) * 60 + Number(minutes))[0]!;
  return instant + Number(seconds ?? 0) * 1000;
}

function closureOn(plan: CallPlan, date: string): Closure | undefined {
  return plan.closures.find((closure) => closure.from <= date && date <= closure.to);
}

function openOnWallClock(intervals: readonly OpeningInterval[], seconds: number): boolean {
  return intervals.some((i) => minutesOf(i.start) * 60 <= seconds && seconds < minutesOf(i.end) * 60);
}

function statusAt(plan: CallPlan, timeZone: string, at: number): { open: boolean; closure?: Closure } {
  const clock = wallClock(timeZone, at);
  const closure = closureOn(plan, clock.date);
  if (closure !== undefined) return { open: false, closure };
  return { open: openOnWallClock(plan.hours[clock.weekday], clock.seconds) };
}

/**
 * Whether the clinic is open at `at` by its call plan, in `timeZone` (CLINIC_TIME_ZONE): when open,
 * when it closes next (`closesAt`, epoch ms; absent when it never does); when closed, the closure
 * that closes it (if one does) and when it opens next (`opensAt`; absent when it does not within
 * about a year). Throws UnknownTimeZoneError for a zone Intl does not know.
 */
export function openingAt(plan: CallPlan, timeZone: string, at: Date): Opening {
  const now = at.getTime();
  const current = statusAt(plan, timeZone, now);
  const today = wallClock(timeZone, now).date;
  // Open day and night with no closure to come (the default plan): nothing to look for.
  if (current.open && alwaysOpen(plan) && plan.closures.every((closure) => closure.to < today)) return { open: true };
  const lastClosure = plan.closures.reduce((last, c) => (c.to > last ? c.to : last), today);
  const lastDay = addDays(lastClosure > today ? lastClosure : today, LOOKAHEAD_DAYS);
  const limit = addDays(today, MAX_LOOKAHEAD_DAYS);
  const changeAt = nextChange(plan, timeZone, now, current.open, today, lastDay < limit ? lastDay : limit);
  if (current.open) return changeAt === undefined ? { open: true } : { open: true, closesAt: changeAt };
  return {
    open: false,
    ...(current.closure !== undefined ? { closure: current.closure } : {}),
    ...(changeAt !== undefined ? { opensAt: changeAt } : {}),
  };
}

function alwaysOpen(plan: CallPlan): boolean {
  return WEEKDAYS.every((day) => plan.hours[day].some((i) => i.start === '00:00' && i.end === '24:00'));
}

/**
 * The first instant after `now` at which the clinic's state is no longer `open`. The state can only
 * change where the wall clock reaches a day's 00:00 or an interval's start or end, so only those
 * instants are looked at, day by day up to `lastDay`.
 */
function nextChange(
  plan: CallPlan,
  timeZone: string,
  now: number,
  open: boolean,
  firstDay: string,
  lastDay: string,
): number | undefined {
  for (let date = firstDay; date <= lastDay; date = addDays(date, 1)) {
    const closed = closureOn(plan, date) !== undefined;
    const minutes = new Set<number>([0]);
    // A closed day changes nothing inside it; its 00:00 and the next day's are enough.
    if (!closed) {
      for (const interval of plan.hours[weekdayOf(date)]) {
        minutes.add(minutesOf(interval.start));
        if (interval.end !== '24:00') minutes.add(minutesOf(interval.end));
      }
    }
    const instants = [...minutes].flatMap((m) => instantsOf(timeZone, date, m));
    // When the clocks go back, the wall clock jumps back across boundaries without reaching them.
    const shift = transitionOn(timeZone, date);
    if (shift !== undefined) instants.push(shift);
    instants.sort((a, b) => a - b);
    for (const instant of instants) {
      if (instant <= now) continue;
      if (statusAt(plan, timeZone, instant).open !== open) return instant;
    }
  }
  return undefined;
}

/** The weekdays in words, for the manager's screen and the problems. */
export const WEEKDAY_NAMES: Record<Weekday, string> = {
  mon: 'Monday',
  tue: 'Tuesday',
  wed: 'Wednesday',
  thu: 'Thursday',
  fri: 'Friday',
  sat: 'Saturday',
  sun: 'Sunday',
};

/** The prompt languages in words. */
export const LANGUAGE_NAMES: Record<PromptLanguage, string> = { en: 'English', pl: 'Polish' };

const sameClosure = (a: Closure, b: Closure): boolean =>
  a.from === b.from && a.to === b.to && a.kind === b.kind && a.reason === b.reason;

/** Whether YYYY-MM-DD names a day of the calendar (not 2027-02-30). */
function isCalendarDate(date: string): boolean {
  return DATE_PATTERN.test(date) && addDays(date, 0) === date;
}

/**
 * What is wrong with a call plan that already matches CallPlanSchema, in words a manager reads next
 * to the form; [] when nothing is. `today` is now (its date in `timeZone` is used) or a YYYY-MM-DD.
 * A closure that ended before today is refused only when it is new: one that is also in `previous`
 * (the stored plan) is history, kept as it was, so that it never blocks a save.
 */
export function validateCallPlan(
  plan: CallPlan,
  timeZone: string,
  today: Date | string,
  previous?: CallPlan,
): string[] {
  const problems: string[] = [];
  if (!isKnownTimeZone(timeZone)) {
    problems.push(new UnknownTimeZoneError(timeZone).message);
  }

  for (const day of WEEKDAYS) {
    const intervals = plan.hours[day];
    intervals.forEach((interval, index) => {
      const text = `${interval.start}–${interval.end}`;
      if (interval.start === '24:00')
        problems.push(`${WEEKDAY_NAMES[day]}: ${text} starts at 24:00; use 00:00 of the next day.`);
      else if (minutesOf(interval.end) <= minutesOf(interval.start))
        problems.push(
          `${WEEKDAY_NAMES[day]}: ${text} ends before it starts (an interval cannot cross midnight: end it at 24:00 and start the next day at 00:00).`,
        );
      const before = intervals[index - 1];
      if (before === undefined) return;
      const previousText = `${before.start}–${before.end}`;
      if (minutesOf(interval.start) < minutesOf(before.start))
        problems.push(`${WEEKDAY_NAMES[day]}: the intervals are not in order (${previousText} comes before ${text}).`);
      else if (minutesOf(interval.start) < minutesOf(before.end))
        problems.push(`${WEEKDAY_NAMES[day]}: ${previousText} and ${text} overlap.`);
    });
  }

  const todayDate = typeof today === 'string' ? today : isKnownTimeZone(timeZone) ? dateInZone(timeZone, today) : '';
  for (const closure of plan.closures) {
    const text = `Closure "${closure.reason}" (${closure.from} to ${closure.to})`;
    const badDate = [closure.from, closure.to].find((date) => !isCalendarDate(date));
    if (badDate !== undefined) problems.push(`${text}: ${badDate} is not a date.`);
    else if (closure.to < closure.from) problems.push(`${text} ends before it starts.`);
    else if (
      todayDate !== '' &&
      closure.to < todayDate &&
      !(previous?.closures ?? []).some((old) => sameClosure(old, closure))
    )
      problems.push(`${text} is entirely in the past.`);
  }

  const { callbackDigit, voicemailDigit } = plan.keypad;
  if (callbackDigit !== null && callbackDigit === voicemailDigit)
    problems.push(`Key ${callbackDigit} cannot both ask for a callback and leave a message.`);
  const ids = new Set<string>();
  const digits = new Map<string, string>();
  plan.queues.forEach((queue, index) => {
    if (ids.has(queue.id)) problems.push(`Two queues have the id "${queue.id}".`);
    ids.add(queue.id);
    if (queue.digit !== null) {
      const other = digits.get(queue.digit);
      if (other !== undefined) problems.push(`Queues "${other}" and "${queue.name}" both use key ${queue.digit}.`);
      else digits.set(queue.digit, queue.name);
      if (queue.digit === callbackDigit)
        problems.push(`Queue "${queue.name}" uses key ${queue.digit}, the key that asks for a callback.`);
      if (queue.digit === voicemailDigit)
        problems.push(`Queue "${queue.name}" uses key ${queue.digit}, the key that leaves a message.`);
    } else if (index > 0) {
      problems.push(
        `Queue "${queue.name}" has no key: with more than one queue, every queue after the first needs one (the first takes calls with no choice).`,
      );
    }
    if (new Set(queue.memberIds).size !== queue.memberIds.length)
      problems.push(`Queue "${queue.name}" names a member twice.`);
  });

  if (new Set(plan.languages).size !== plan.languages.length) problems.push('A language is listed twice.');
  if (plan.announcements.offerCallback && callbackDigit === null)
    problems.push('The announcements offer a callback, but no key asks for one: choose the callback key.');
  const interval = plan.announcements.intervalSeconds;
  if (interval > 0 && interval < ANNOUNCEMENT_INTERVAL_MIN_SECONDS)
    problems.push(`The announcement interval is 0 (off) or at least ${ANNOUNCEMENT_INTERVAL_MIN_SECONDS} s.`);
  if (plan.maxWaitSeconds > 0 && plan.maxWaitSeconds < MAX_WAIT_MIN_SECONDS)
    problems.push(`The maximum wait is 0 (none) or at least ${MAX_WAIT_MIN_SECONDS} s.`);
  for (const [what, target] of [
    ['After the maximum wait', plan.overflow],
    ['When nobody is available', plan.nobodyAvailable],
  ] as const) {
    if (target === 'callback-offer' && callbackDigit === null)
      problems.push(`${what}, the call is offered a callback, but no key asks for one: choose the callback key.`);
  }
  return problems;
}

function duration(seconds: number): string {
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  if (seconds > 60) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${seconds} s`;
}

function overflowInWords(plan: CallPlan, target: OverflowTarget): string {
  switch (target) {
    case 'voicemail':
      return `voicemail, up to ${plan.voicemail.maxSeconds} s`;
    case 'callback-offer':
      return `the callback offer ("press ${plan.keypad.callbackDigit ?? '?'} to be called back"), then the closed message`;
    case 'closed-message':
      return 'the closed message, then the clinic hangs up';
  }
}

/**
 * What a caller would hear at `at`, step by step, in words: e.g. ["the intro", "the menu: 1
 * Appointments, 2 Test results", "hold music with the position every 30 s", "after 10 min:
 * voicemail, up to 120 s"], or ["the closed message (Christmas Day)", "voicemail, up to 120 s"].
 */
export function previewCallPlan(plan: CallPlan, timeZone: string, at: Date): CallPlanPreview {
  const opening = openingAt(plan, timeZone, at);
  const languages =
    plan.languages.length > 1 ? ` (in ${plan.languages.map((l) => LANGUAGE_NAMES[l]).join(', then ')})` : '';
  if (!opening.open) {
    const why = opening.closure !== undefined ? opening.closure.reason : 'outside the opening hours';
    return {
      at: at.getTime(),
      open: false,
      ...(opening.closure !== undefined ? { closure: opening.closure } : {}),
      ...(opening.opensAt !== undefined ? { opensAt: opening.opensAt } : {}),
      steps: [
        `the closed message (${why})${languages}`,
        plan.closedAction === 'voicemail' ? `voicemail, up to ${plan.voicemail.maxSeconds} s` : 'the clinic hangs up',
      ],
    };
  }
  const steps = [`the intro${languages}`];
  const first = plan.queues[0]!;
  if (plan.queues.length > 1) {
    const choices = plan.queues.filter((q) => q.digit !== null).map((q) => `${q.digit} ${q.name}`);
    steps.push(`the menu: ${choices.join(', ')} (no choice: ${first.name})`);
  }
  if (plan.nobodyAvailable !== null)
    steps.push(`if nobody who takes the queue is available: ${overflowInWords(plan, plan.nobodyAvailable)}`);
  const { intervalSeconds, expectedWait, offerCallback } = plan.announcements;
  let hold = 'hold music';
  if (intervalSeconds > 0) {
    const said = ['the position', expectedWait ? 'the expected wait' : '', offerCallback ? 'the callback offer' : ''];
    const parts = said.filter(Boolean);
    const list = parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}` : parts[0];
    hold += ` with ${list} every ${duration(intervalSeconds)}`;
  }
  steps.push(hold);
  if (plan.keypad.callbackDigit !== null) steps.push(`key ${plan.keypad.callbackDigit}: a callback, keeping the place`);
  if (plan.keypad.voicemailDigit !== null) steps.push(`key ${plan.keypad.voicemailDigit}: voicemail`);
  if (plan.maxWaitSeconds > 0)
    steps.push(`after ${duration(plan.maxWaitSeconds)}: ${overflowInWords(plan, plan.overflow)}`);
  return {
    at: at.getTime(),
    open: true,
    ...(opening.closesAt !== undefined ? { closesAt: opening.closesAt } : {}),
    steps,
  };
}
