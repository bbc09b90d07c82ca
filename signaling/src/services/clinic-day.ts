/**
 * Calendar days in the clinic's time zone (CLINIC_TIME_ZONE), with only Intl: a day is 23, 24 or 25
 * hours long, and where it starts in epoch ms follows from the zone's UTC offsets around it.
 */
import { isKnownTimeZone, zoneFormatter } from '@deskline/protocol';

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 24 * 60 * 60 * 1000;

/** One formatter per zone, shared with the call plan's clock (protocol/src/call-plan-hours.ts). */
const formatter = zoneFormatter;

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The zone's wall clock at an instant. */
function wallClock(timeZone: string, at: number): WallClock {
  const parts: Partial<Record<Intl.DateTimeFormatPartTypes, number>> = {};
  for (const part of formatter(timeZone).formatToParts(at)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 0,
    day: parts.day ?? 0,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

/** Whether Intl knows the zone (an IANA name such as Europe/Warsaw, or UTC). */
export const isTimeZone = isKnownTimeZone;

/** The zone's UTC offset at an instant, in ms (Warsaw in summer: +7 200 000). */
export function zoneOffsetMs(timeZone: string, at: number): number {
  const wall = wallClock(timeZone, at);
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  // The formatter drops milliseconds; the offset is whole seconds.
  return asUtc - (at - (((at % 1000) + 1000) % 1000));
}

/** YYYY-MM-DD of a real calendar date, or undefined (2026-02-30, 2026-13-01, 26-1-1). */
export function parseDate(date: string): { year: number; month: number; day: number } | undefined {
  const match = DATE_PATTERN.exec(date);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day)
    return undefined;
  return { year, month, day };
}

function formatDate(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** The date (YYYY-MM-DD) in the zone at an instant. */
export function dateIn(timeZone: string, at: number): string {
  const wall = wallClock(timeZone, at);
  return formatDate(wall.year, wall.month, wall.day);
}

/** The hour of the day (0–23) on the zone's clock at an instant. */
export function hourIn(timeZone: string, at: number): number {
  return wallClock(timeZone, at).hour;
}

/**
 * The first instant of the date in the zone: the instant whose wall clock reads midnight. Midnight
 * as if in UTC, less the zone's offset; but the offset may change that day, so both the offset before
 * and the one after are tried and the one that holds at its own instant wins (the earlier one if both
 * do, as when clocks go back over midnight). Where clocks jump over midnight (Chile: 00:00 is 01:00),
 * neither holds and the day starts at the jump, midnight by the old offset.
 */
function startOfDate(timeZone: string, year: number, month: number, day: number): number {
  const wallMidnight = Date.UTC(year, month - 1, day);
  const before = zoneOffsetMs(timeZone, wallMidnight - DAY_MS);
  const after = zoneOffsetMs(timeZone, wallMidnight + DAY_MS);
  const candidates = [...new Set([before, after])]
    .map((offset) => wallMidnight - offset)
    .filter((at) => zoneOffsetMs(timeZone, at) === wallMidnight - at)
    .sort((a, b) => a - b);
  return candidates[0] ?? wallMidnight - before;
}

/**
 * The date's [start, end) in epoch ms in the zone: 24 hours long, 23 on the day clocks go forward,
 * 25 on the day they go back. Throws a RangeError for a date that is not YYYY-MM-DD of a real day.
 */
export function dayBounds(date: string, timeZone: string): { start: number; end: number } {
  const parsed = parseDate(date);
  if (!parsed) throw new RangeError(`not a date (YYYY-MM-DD): ${JSON.stringify(date)}`);
  const next = new Date(Date.UTC(parsed.year, parsed.month - 1, parsed.day + 1));
  return {
    start: startOfDate(timeZone, parsed.year, parsed.month, parsed.day),
    end: startOfDate(timeZone, next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate()),
  };
}
