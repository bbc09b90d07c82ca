/** Text for running times on screen. */

/** 83 000 ms → "01:23"; from an hour on, "1:02:03". A negative time (clocks apart) shows as "00:00". */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const mmss = `${String(minutes).padStart(2, '0')}:${String(seconds).padStart(2, '0')}`;
  return hours > 0 ? `${hours}:${mmss}` : mmss;
}

/** The same time as an ISO 8601 duration, for <time datetime>: 83 000 ms → "PT1M23S". */
export function isoDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  return `PT${Math.floor(total / 60)}M${total % 60}S`;
}

/** A countdown: the time left rounded up to the second, so it shows 00:00 only when the time is up. */
export function formatCountdown(ms: number): string {
  return formatDuration(Math.ceil(Math.max(0, ms) / 1000) * 1000);
}

const clockTime = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/** A moment as the wall clock shows it in the browser's language: "10:42" (or "10:42 AM"). */
export function formatClockTime(epochMs: number): string {
  return clockTime.format(epochMs);
}

/** A waiting time as minutes and seconds, to the nearest second: 83 400 ms → "1:23", an hour → "60:00". */
export function formatMinutesSeconds(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

/**
 * A time that is over, in words, for sentences: 5 000 ms → "5 s", 220 000 ms → "3 min 40 s", an hour
 * and two minutes → "1 h 2 min". ("after 03:40" could be read as hours and minutes.)
 */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  if (hours > 0) return minutes > 0 ? `${hours} h ${minutes} min` : `${hours} h`;
  if (minutes > 0) return seconds > 0 ? `${minutes} min ${seconds} s` : `${minutes} min`;
  return `${seconds} s`;
}
