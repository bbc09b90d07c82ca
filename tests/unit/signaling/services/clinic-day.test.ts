import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  dateIn,
  dayBounds,
  hourIn,
  isTimeZone,
  parseDate,
  zoneOffsetMs,
} from '@deskline/signaling/services/clinic-day';

const HOUR = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const length = (bounds: { start: number; end: number }): number => (bounds.end - bounds.start) / HOUR;

test('an ordinary day in Warsaw: 24 hours from local midnight (UTC+1 in winter, UTC+2 in summer)', () => {
  const winter = dayBounds('2026-01-15', 'Europe/Warsaw');
  assert.is(iso(winter.start), '2026-01-14T23:00:00.000Z');
  assert.is(iso(winter.end), '2026-01-15T23:00:00.000Z');
  const summer = dayBounds('2026-07-01', 'Europe/Warsaw');
  assert.is(iso(summer.start), '2026-06-30T22:00:00.000Z');
  assert.is(length(summer), 24);
});

test('the day clocks go forward in Warsaw (29 March 2026, 02:00 -> 03:00) has 23 hours', () => {
  const day = dayBounds('2026-03-29', 'Europe/Warsaw');
  assert.is(iso(day.start), '2026-03-28T23:00:00.000Z');
  assert.is(iso(day.end), '2026-03-29T22:00:00.000Z');
  assert.is(length(day), 23);
  // Its neighbours are whole days, and the days follow on without a gap.
  assert.is(dayBounds('2026-03-28', 'Europe/Warsaw').end, day.start);
  assert.is(dayBounds('2026-03-30', 'Europe/Warsaw').start, day.end);
  assert.is(length(dayBounds('2026-03-30', 'Europe/Warsaw')), 24);
});

test('the day clocks go back in Berlin (25 October 2026, 03:00 -> 02:00) has 25 hours', () => {
  const day = dayBounds('2026-10-25', 'Europe/Berlin');
  assert.is(iso(day.start), '2026-10-24T22:00:00.000Z');
  assert.is(iso(day.end), '2026-10-25T23:00:00.000Z');
  assert.is(length(day), 25);
  // The hour from 02:00 to 03:00 happens twice; both are hour 2 of that day.
  assert.is(hourIn('Europe/Berlin', Date.parse('2026-10-25T00:30:00Z')), 2);
  assert.is(hourIn('Europe/Berlin', Date.parse('2026-10-25T01:30:00Z')), 2);
  assert.is(dateIn('Europe/Berlin', day.end - 1), '2026-10-25');
  assert.is(dateIn('Europe/Berlin', day.end), '2026-10-26');
});

test('where clocks jump over midnight (Santiago, 6 September 2026: 00:00 is 01:00) the day starts at the jump', () => {
  const day = dayBounds('2026-09-06', 'America/Santiago');
  assert.is(iso(day.start), '2026-09-06T04:00:00.000Z');
  assert.is(dateIn('America/Santiago', day.start), '2026-09-06');
  assert.is(hourIn('America/Santiago', day.start), 1);
  assert.is(dateIn('America/Santiago', day.start - 1), '2026-09-05');
  assert.is(length(day), 23);
});

test('zones east and west of UTC, and UTC itself', () => {
  assert.is(iso(dayBounds('2026-05-10', 'UTC').start), '2026-05-10T00:00:00.000Z');
  assert.is(iso(dayBounds('2026-05-10', 'Asia/Kolkata').start), '2026-05-09T18:30:00.000Z');
  assert.is(iso(dayBounds('2026-05-10', 'America/New_York').start), '2026-05-10T04:00:00.000Z');
  assert.is(iso(dayBounds('2026-05-10', 'Pacific/Kiritimati').start), '2026-05-09T10:00:00.000Z');
  assert.is(zoneOffsetMs('Europe/Warsaw', Date.parse('2026-07-01T12:00:00.123Z')), 2 * HOUR);
  assert.is(zoneOffsetMs('America/New_York', Date.parse('2026-01-01T12:00:00Z')), -5 * HOUR);
});

test('month and year ends roll over', () => {
  assert.is(iso(dayBounds('2026-12-31', 'Europe/Warsaw').end), '2026-12-31T23:00:00.000Z');
  assert.is(iso(dayBounds('2028-02-29', 'UTC').end), '2028-03-01T00:00:00.000Z');
});

test('only real YYYY-MM-DD dates are taken', () => {
  assert.equal(parseDate('2026-02-28'), { year: 2026, month: 2, day: 28 });
  for (const bad of [
    '2026-02-29',
    '2026-13-01',
    '2026-00-10',
    '2026-1-1',
    '26-01-01',
    '2026-01-01T00:00',
    '',
    'today',
  ]) {
    assert.is(parseDate(bad), undefined, bad);
    assert.throws(() => dayBounds(bad, 'UTC'), RangeError);
  }
});

test('time zones are IANA names Intl knows', () => {
  assert.ok(isTimeZone('Europe/Warsaw'));
  assert.ok(isTimeZone('UTC'));
  assert.not.ok(isTimeZone('Europe/Atlantis'));
  assert.not.ok(isTimeZone('+02:00x'));
});

test.run();
