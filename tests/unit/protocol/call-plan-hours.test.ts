/**
 * The call plan's clock (protocol/src/call-plan-hours.ts, docs/call-plan.md "Opening hours"): whether
 * the clinic is open at an instant and when that changes, in Europe/Warsaw across both DST changes,
 * midnight and '24:00', closures over several days; what validateCallPlan refuses; the preview's words.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DEFAULT_CALL_PLAN,
  UnknownTimeZoneError,
  openingAt,
  parseDateTime,
  previewCallPlan,
  validateCallPlan,
  type CallPlan,
  type WeeklyHours,
} from '@deskline/protocol';

const WARSAW = 'Europe/Warsaw';
const closedWeek: WeeklyHours = { mon: [], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] };
const plan = (change: Partial<CallPlan> = {}): CallPlan => ({ ...structuredClone(DEFAULT_CALL_PLAN), ...change });
const at = (iso: string): Date => new Date(iso);
const ms = (iso: string): number => Date.parse(iso);
const weekdays = (start: string, end: string): WeeklyHours => ({
  ...closedWeek,
  mon: [{ start, end }],
  tue: [{ start, end }],
  wed: [{ start, end }],
  thu: [{ start, end }],
  fri: [{ start, end }],
});

// 2027-03-28 is the last Sunday of March: at 01:00Z Warsaw's clocks go from 02:00 (CET) to 03:00 (CEST).
const spring = plan({ hours: { ...closedWeek, sun: [{ start: '01:00', end: '04:00' }] } });

test('spring forward: 01:00–04:00 lasts two hours (00:00Z to 02:00Z)', () => {
  assert.equal(openingAt(spring, WARSAW, at('2027-03-27T23:59:00Z')), {
    open: false,
    opensAt: ms('2027-03-28T00:00:00Z'),
  });
  assert.equal(openingAt(spring, WARSAW, at('2027-03-28T00:00:00Z')), {
    open: true,
    closesAt: ms('2027-03-28T02:00:00Z'),
  });
  assert.equal(openingAt(spring, WARSAW, at('2027-03-28T01:30:00Z')), {
    open: true,
    closesAt: ms('2027-03-28T02:00:00Z'),
  });
  const after = openingAt(spring, WARSAW, at('2027-03-28T02:00:00Z'));
  assert.equal(after, { open: false, opensAt: ms('2027-04-03T23:00:00Z') }, 'the next Sunday, 01:00 CEST');
});

test('spring forward: an interval opening at 02:30, a time the clocks skip, opens at 03:00 CEST (01:00Z)', () => {
  const p = plan({ hours: { ...closedWeek, sun: [{ start: '02:30', end: '05:00' }] } });
  assert.equal(openingAt(p, WARSAW, at('2027-03-28T00:30:00Z')), { open: false, opensAt: ms('2027-03-28T01:00:00Z') });
  assert.equal(openingAt(p, WARSAW, at('2027-03-28T01:00:00Z')), { open: true, closesAt: ms('2027-03-28T03:00:00Z') });
  assert.is(parseDateTime('2027-03-28T02:30', WARSAW), ms('2027-03-28T01:00:00Z'), 'a skipped wall time is the jump');
});

// 2027-10-31 is the last Sunday of October: at 01:00Z the clocks go from 03:00 (CEST) back to 02:00 (CET).
test('fall back: 01:00–04:00 lasts four hours (23:00Z to 03:00Z)', () => {
  const p = plan({ hours: { ...closedWeek, sun: [{ start: '01:00', end: '04:00' }] } });
  assert.equal(openingAt(p, WARSAW, at('2027-10-30T22:59:00Z')), { open: false, opensAt: ms('2027-10-30T23:00:00Z') });
  assert.equal(openingAt(p, WARSAW, at('2027-10-30T23:00:00Z')), { open: true, closesAt: ms('2027-10-31T03:00:00Z') });
  assert.equal(openingAt(p, WARSAW, at('2027-10-31T01:30:00Z')), { open: true, closesAt: ms('2027-10-31T03:00:00Z') });
  assert.is(openingAt(p, WARSAW, at('2027-10-31T03:00:00Z')).open, false);
});

test('fall back: a boundary inside the repeated hour is crossed on both passes', () => {
  const p = plan({ hours: { ...closedWeek, sun: [{ start: '01:00', end: '02:30' }] } });
  // 02:30 CEST (00:30Z) closes; at 03:00 CEST the clocks read 02:00 again (01:00Z): open until 02:30 CET (01:30Z).
  assert.equal(openingAt(p, WARSAW, at('2027-10-31T00:00:00Z')), { open: true, closesAt: ms('2027-10-31T00:30:00Z') });
  assert.equal(openingAt(p, WARSAW, at('2027-10-31T00:45:00Z')), { open: false, opensAt: ms('2027-10-31T01:00:00Z') });
  assert.equal(openingAt(p, WARSAW, at('2027-10-31T01:10:00Z')), { open: true, closesAt: ms('2027-10-31T01:30:00Z') });
});

test("midnight: Monday 20:00–24:00 and Tuesday 00:00–02:00 are one opening; '24:00' alone closes at midnight", () => {
  const p = plan({
    hours: { ...closedWeek, mon: [{ start: '20:00', end: '24:00' }], tue: [{ start: '00:00', end: '02:00' }] },
  });
  // 2027-01-04 is a Monday (CET, +01:00).
  assert.equal(openingAt(p, WARSAW, at('2027-01-04T22:00:00Z')), { open: true, closesAt: ms('2027-01-05T01:00:00Z') });
  assert.equal(openingAt(p, WARSAW, at('2027-01-04T23:00:00Z')), { open: true, closesAt: ms('2027-01-05T01:00:00Z') });
  const saturday = plan({ hours: { ...closedWeek, sat: [{ start: '22:00', end: '24:00' }] } });
  assert.equal(openingAt(saturday, WARSAW, at('2027-01-09T22:59:00Z')), {
    open: true,
    closesAt: ms('2027-01-09T23:00:00Z'),
  });
  assert.equal(openingAt(saturday, WARSAW, at('2027-01-09T23:00:00Z')), {
    open: false,
    opensAt: ms('2027-01-16T21:00:00Z'),
  });
});

test('open day and night: closes only for a closure to come', () => {
  const christmas = { from: '2027-12-25', to: '2027-12-25', kind: 'holiday', reason: 'Christmas Day' } as const;
  const p = plan({ closures: [christmas] });
  assert.equal(openingAt(p, WARSAW, at('2027-12-24T12:00:00Z')), { open: true, closesAt: ms('2027-12-24T23:00:00Z') });
  assert.equal(openingAt(p, WARSAW, at('2027-12-25T12:00:00Z')), {
    open: false,
    closure: christmas,
    opensAt: ms('2027-12-25T23:00:00Z'),
  });
  assert.equal(openingAt(p, WARSAW, at('2027-12-26T12:00:00Z')), { open: true }, 'the closure is past');
});

test('the default plan is always open and never closes', () => {
  assert.equal(openingAt(DEFAULT_CALL_PLAN, WARSAW, at('2027-03-28T01:30:00Z')), { open: true });
  assert.equal(openingAt(DEFAULT_CALL_PLAN, WARSAW, at('2027-10-31T01:30:00Z')), { open: true });
});

test('a closure over several days: closed from 00:00 of the first to 24:00 of the last, whatever the hours say', () => {
  const christmas = { from: '2027-12-24', to: '2027-12-26', kind: 'holiday', reason: 'Christmas' } as const;
  const p = plan({ hours: weekdays('08:00', '16:00'), closures: [christmas] });
  assert.equal(openingAt(p, WARSAW, at('2027-12-23T14:00:00Z')), { open: true, closesAt: ms('2027-12-23T15:00:00Z') });
  assert.equal(openingAt(p, WARSAW, at('2027-12-24T09:00:00Z')), {
    open: false,
    closure: christmas,
    opensAt: ms('2027-12-27T07:00:00Z'),
  });
  assert.equal(openingAt(p, WARSAW, at('2027-12-23T23:00:00Z')).open, false, '00:00 of the first day');
  // A closure ending on a Friday that overlaps a long one: the clinic opens on the Monday after.
  const long = { from: '2028-01-03', to: '2028-02-25', kind: 'closure', reason: 'Renovation' } as const;
  assert.equal(
    openingAt(plan({ hours: weekdays('08:00', '16:00'), closures: [long] }), WARSAW, at('2028-01-10T10:00:00Z')),
    {
      open: false,
      closure: long,
      opensAt: ms('2028-02-28T07:00:00Z'),
    },
  );
});

test('an unknown time zone: a clear error, and a problem in validateCallPlan', () => {
  assert.throws(
    () => openingAt(DEFAULT_CALL_PLAN, 'Europe/Atlantis', new Date()),
    (err: unknown) =>
      err instanceof UnknownTimeZoneError &&
      err.message === 'Unknown time zone "Europe/Atlantis": use an IANA name such as Europe/Warsaw.',
  );
  assert.equal(validateCallPlan(DEFAULT_CALL_PLAN, 'Europe/Atlantis', '2027-01-01'), [
    'Unknown time zone "Europe/Atlantis": use an IANA name such as Europe/Warsaw.',
  ]);
});

test('validateCallPlan: the default plan and an ordinary clinic are fine', () => {
  assert.equal(validateCallPlan(DEFAULT_CALL_PLAN, WARSAW, new Date()), []);
  const clinic = plan({
    hours: {
      ...weekdays('08:00', '12:00'),
      mon: [
        { start: '08:00', end: '12:00' },
        { start: '12:00', end: '24:00' },
      ],
    },
    keypad: { callbackDigit: '8', voicemailDigit: '9' },
    announcements: { intervalSeconds: 30, expectedWait: true, offerCallback: true },
    queues: [
      { id: 'appointments', name: 'Appointments', digit: '1', memberIds: [], musicId: null },
      { id: 'results', name: 'Test results', digit: '2', memberIds: [], musicId: null },
    ],
    overflow: 'callback-offer',
  });
  assert.equal(validateCallPlan(clinic, WARSAW, '2027-01-01'), []);
});

test('validateCallPlan: inverted, unsorted and overlapping intervals, bad closures, queues and keys, each in words', () => {
  const bad = plan({
    hours: {
      ...closedWeek,
      mon: [{ start: '16:00', end: '08:00' }],
      tue: [
        { start: '08:00', end: '12:00' },
        { start: '11:00', end: '16:00' },
      ],
      wed: [
        { start: '12:00', end: '16:00' },
        { start: '08:00', end: '10:00' },
      ],
      thu: [{ start: '24:00', end: '24:00' }],
    },
    closures: [
      { from: '2027-05-03', to: '2027-05-01', kind: 'closure', reason: 'Backwards' },
      { from: '2026-12-24', to: '2026-12-26', kind: 'holiday', reason: 'Old Christmas' },
      { from: '2027-02-30', to: '2027-03-01', kind: 'holiday', reason: 'No such day' },
    ],
    keypad: { callbackDigit: '1', voicemailDigit: '1' },
    announcements: { intervalSeconds: 5, expectedWait: true, offerCallback: false },
    queues: [
      { id: 'main', name: 'Reception', digit: '1', memberIds: [], musicId: null },
      { id: 'main', name: 'Results', digit: '1', memberIds: ['u1', 'u1'], musicId: null },
      { id: 'other', name: 'Other', digit: null, memberIds: [], musicId: null },
    ],
    maxWaitSeconds: 10,
  });
  assert.equal(validateCallPlan(bad, WARSAW, '2027-01-10'), [
    'Monday: 16:00–08:00 ends before it starts (an interval cannot cross midnight: end it at 24:00 and start the next day at 00:00).',
    'Tuesday: 08:00–12:00 and 11:00–16:00 overlap.',
    'Wednesday: the intervals are not in order (12:00–16:00 comes before 08:00–10:00).',
    'Thursday: 24:00–24:00 starts at 24:00; use 00:00 of the next day.',
    'Closure "Backwards" (2027-05-03 to 2027-05-01) ends before it starts.',
    'Closure "Old Christmas" (2026-12-24 to 2026-12-26) is entirely in the past.',
    'Closure "No such day" (2027-02-30 to 2027-03-01): 2027-02-30 is not a date.',
    'Key 1 cannot both ask for a callback and leave a message.',
    'Queue "Reception" uses key 1, the key that asks for a callback.',
    'Queue "Reception" uses key 1, the key that leaves a message.',
    'Two queues have the id "main".',
    'Queues "Reception" and "Results" both use key 1.',
    'Queue "Results" uses key 1, the key that asks for a callback.',
    'Queue "Results" uses key 1, the key that leaves a message.',
    'Queue "Results" names a member twice.',
    'Queue "Other" has no key: with more than one queue, every queue after the first needs one (the first takes calls with no choice).',
    'The announcement interval is 0 (off) or at least 10 s.',
    'The maximum wait is 0 (none) or at least 30 s.',
  ]);
});

test('validateCallPlan: a past closure already in the stored plan does not block a save; a new one does', () => {
  const old = { from: '2026-12-24', to: '2026-12-26', kind: 'holiday', reason: 'Christmas' } as const;
  const stored = plan({ closures: [old] });
  assert.equal(validateCallPlan(stored, WARSAW, '2027-01-10', stored), []);
  const added = plan({
    closures: [old, { from: '2027-01-01', to: '2027-01-01', kind: 'holiday', reason: 'New Year' }],
  });
  assert.equal(validateCallPlan(added, WARSAW, '2027-01-10', stored), [
    'Closure "New Year" (2027-01-01 to 2027-01-01) is entirely in the past.',
  ]);
  assert.equal(validateCallPlan(added, WARSAW, '2027-01-01', stored), [], "today's is not in the past");
});

test('validateCallPlan: a callback offer without a callback key', () => {
  const p = plan({
    announcements: { intervalSeconds: 30, expectedWait: false, offerCallback: true },
    nobodyAvailable: 'callback-offer',
  });
  assert.equal(validateCallPlan(p, WARSAW, '2027-01-01'), [
    'The announcements offer a callback, but no key asks for one: choose the callback key.',
    'When nobody is available, the call is offered a callback, but no key asks for one: choose the callback key.',
  ]);
});

test('previewCallPlan: what a caller hears, open and closed, in words', () => {
  const clinic = plan({
    hours: weekdays('08:00', '16:00'),
    closures: [{ from: '2027-12-25', to: '2027-12-25', kind: 'holiday', reason: 'Christmas Day' }],
    closedAction: 'voicemail',
    announcements: { intervalSeconds: 30, expectedWait: false, offerCallback: false },
    queues: [
      { id: 'appointments', name: 'Appointments', digit: '1', memberIds: [], musicId: null },
      { id: 'results', name: 'Test results', digit: '2', memberIds: [], musicId: null },
    ],
    maxWaitSeconds: 600,
  });
  assert.equal(previewCallPlan(clinic, WARSAW, at('2027-12-20T09:00:00Z')), {
    at: ms('2027-12-20T09:00:00Z'),
    open: true,
    closesAt: ms('2027-12-20T15:00:00Z'),
    steps: [
      'the intro',
      'the menu: 1 Appointments, 2 Test results (no choice: Appointments)',
      'hold music with the position every 30 s',
      'after 10 min: voicemail, up to 120 s',
    ],
  });
  const christmas = previewCallPlan(clinic, WARSAW, at('2027-12-25T11:00:00Z'));
  assert.equal(christmas.steps, ['the closed message (Christmas Day)', 'voicemail, up to 120 s']);
  assert.is(christmas.open, false);
  const sunday = previewCallPlan(
    { ...clinic, closedAction: 'hang-up', languages: ['pl', 'en'] },
    WARSAW,
    at('2027-12-19T11:00:00Z'),
  );
  assert.equal(sunday.steps, [
    'the closed message (outside the opening hours) (in Polish, then English)',
    'the clinic hangs up',
  ]);
  assert.is(sunday.opensAt, ms('2027-12-20T07:00:00Z'));
});

test('parseDateTime: an offset names an instant, none is the clinic wall clock, anything else is undefined', () => {
  assert.is(parseDateTime('2027-12-25T10:00:00+01:00', WARSAW), ms('2027-12-25T09:00:00Z'));
  assert.is(parseDateTime('2027-12-25T10:00:00Z', WARSAW), ms('2027-12-25T10:00:00Z'));
  assert.is(parseDateTime('2027-07-01T10:00', WARSAW), ms('2027-07-01T08:00:00Z'));
  assert.is(parseDateTime('2027-10-31T02:30', WARSAW), ms('2027-10-31T00:30:00Z'), 'the first pass');
  for (const bad of ['tomorrow', '2027-12-25', '2027-02-30T10:00', '2027-12-25T25:00', '2027-12-25 10:00', ''])
    assert.is(parseDateTime(bad, WARSAW), undefined, bad);
});

test.run();
