import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  compareSubjects,
  type CallRecord,
  type CallbackView,
  type StatisticsFigures,
  type Subject,
} from '@deskline/protocol';
import { categoryStatistics, computeDayStatistics, p90NearestRank } from '@deskline/signaling/services/statistics';

const ZONE = 'Europe/Warsaw';
/** 2026-03-10 00:00 in Warsaw (UTC+1). */
const MIDNIGHT = Date.parse('2026-03-09T23:00:00Z');
const MIN = 60_000;
const at = (hour: number, minute = 0): number => MIDNIGHT + hour * 60 * MIN + minute * MIN;

function call(
  id: string,
  outcome: CallRecord['outcome'],
  start: number,
  options: { waitMs?: number; agent?: string } = {},
): CallRecord {
  const queuedAt = outcome === 'abandoned' ? undefined : start + 10_000;
  const end = (queuedAt ?? start + 5_000) + (options.waitMs ?? 0);
  return {
    id,
    from: '+48600100200',
    line: '100',
    outcome,
    startedAt: start,
    ...(queuedAt !== undefined ? { queuedAt } : {}),
    ...(outcome === 'answered' ? { answeredAt: end, agentUserId: options.agent ?? 'anna' } : {}),
    endedAt: outcome === 'answered' ? end + 60_000 : end,
  };
}

function callback(id: string, userId: string, outcome?: CallbackView['outcome']): CallbackView {
  return {
    id,
    taskId: `task-${id}`,
    number: '+48600100200',
    userId,
    workstationId: 'ws-1',
    state: outcome ? 'ended' : 'ringing',
    ...(outcome ? { outcome, endedAt: at(12, 5) } : {}),
    startedAt: at(12),
  };
}

const NO_CALLBACKS = { answered: 0, 'no-answer': 0, busy: 0, rejected: 0, failed: 0, cancelled: 0 };

test('p90 by nearest rank: the ceil(0.9 n)-th smallest value', () => {
  assert.is(p90NearestRank([]), null);
  assert.is(p90NearestRank([7]), 7);
  assert.is(p90NearestRank([30, 10, 20]), 30, 'ceil(2.7) = 3rd');
  assert.is(p90NearestRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 9, 'ceil(9) = 9th');
  assert.is(p90NearestRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), 10, 'ceil(9.9) = 10th');
  assert.is(p90NearestRank(Array.from({ length: 20 }, (_, i) => 20 - i)), 18, 'unsorted input; ceil(18) = 18th');
});

test('an empty day: every count 0, no waiting figures, no users, 24 empty hours', () => {
  const day = computeDayStatistics({ date: '2026-03-10', timeZone: ZONE, calls: [], callbacks: [], names: new Map() });
  const empty: StatisticsFigures = {
    received: 0,
    answered: 0,
    abandoned: 0,
    unanswered: 0,
    closed: 0,
    callbackRequested: 0,
    voicemail: 0,
    callbacks: 0,
    callbackOutcomes: NO_CALLBACKS,
    waitAverageMs: null,
    waitP90Ms: null,
  };
  assert.equal(day, {
    date: '2026-03-10',
    timeZone: ZONE,
    total: empty,
    users: [],
    hours: Array.from({ length: 24 }, (_, hour) => ({ hour, received: 0, answered: 0, abandoned: 0 })),
    categories: [
      { category: 'information', closed: 0, subjects: [] },
      { category: 'visit-booked', closed: 0, subjects: [] },
      { category: 'visit-not-booked', closed: 0, subjects: [] },
    ],
  });
});

test("tasks closed by category: each subject's tasks under its category, in the managers' order; retired subjects count, unknown ones do not", () => {
  const subject = (id: string, category: Subject['category'], position: number, retired = false): Subject => ({
    id,
    name: id.toUpperCase(),
    retired,
    category,
    position,
    createdAt: 0,
  });
  const subjects = [
    subject('prices', 'information', 2),
    subject('hours', 'information', 1),
    subject('booked', 'visit-booked', 3),
    subject('old', 'visit-booked', 4, true),
    subject('idle', 'visit-not-booked', 5),
  ].sort(compareSubjects);
  assert.equal(categoryStatistics(['prices', 'hours', 'prices', 'old', 'booked', 'old', 'gone'], subjects), [
    {
      category: 'information',
      closed: 3,
      subjects: [
        { subjectId: 'hours', name: 'HOURS', closed: 1 },
        { subjectId: 'prices', name: 'PRICES', closed: 2 },
      ],
    },
    {
      category: 'visit-booked',
      closed: 3,
      subjects: [
        { subjectId: 'booked', name: 'BOOKED', closed: 1 },
        { subjectId: 'old', name: 'OLD', closed: 2 },
      ],
    },
    { category: 'visit-not-booked', closed: 0, subjects: [] },
  ]);
});

test('a day: totals, a row per user who answered or called back (sorted by name), waits, callbacks, hours', () => {
  const calls = [
    call('a1', 'answered', at(8, 5), { waitMs: 10_000, agent: 'anna' }),
    call('a2', 'answered', at(8, 40), { waitMs: 30_000, agent: 'anna' }),
    call('a3', 'answered', at(9, 15), { waitMs: 50_000, agent: 'ben' }),
    call('i1', 'abandoned', at(9, 20)),
    call('i2', 'abandoned', at(23, 59)),
    call('w1', 'unanswered', at(10), { waitMs: 90_000 }),
    call('w2', 'unanswered', at(10, 30), { waitMs: 20_000 }),
  ];
  const callbacks = [
    callback('c1', 'ben', 'answered'),
    callback('c2', 'ben', 'busy'),
    callback('c3', 'carl'),
    callback('c4', 'anna', 'no-answer'),
  ];
  const day = computeDayStatistics({
    date: '2026-03-10',
    timeZone: ZONE,
    calls,
    callbacks,
    names: new Map([
      ['anna', 'Anna Reception'],
      ['ben', 'Ben Adams'],
    ]),
  });

  // Waits of the calls that reached the queue: 10, 30, 50, 90, 20 s.
  assert.equal(day.total, {
    received: 7,
    answered: 3,
    abandoned: 2,
    unanswered: 2,
    closed: 0,
    callbackRequested: 0,
    voicemail: 0,
    callbacks: 4,
    callbackOutcomes: { ...NO_CALLBACKS, answered: 1, busy: 1, 'no-answer': 1 },
    waitAverageMs: 40_000,
    waitP90Ms: 90_000,
  });
  assert.equal(
    day.users.map((u) => [u.userId, u.name]),
    [
      ['ben', 'Ben Adams'],
      ['anna', 'Anna Reception'],
      ['carl', 'carl'],
    ].sort((a, b) => a[1]!.localeCompare(b[1]!)),
  );
  const anna = day.users.find((u) => u.userId === 'anna')!.figures;
  assert.equal(anna, {
    received: 0,
    answered: 2,
    abandoned: 0,
    unanswered: 0,
    closed: 0,
    callbackRequested: 0,
    voicemail: 0,
    callbacks: 1,
    callbackOutcomes: { ...NO_CALLBACKS, 'no-answer': 1 },
    waitAverageMs: 20_000,
    waitP90Ms: 30_000,
  });
  const ben = day.users.find((u) => u.userId === 'ben')!.figures;
  assert.is(ben.answered, 1);
  assert.is(ben.callbacks, 2);
  assert.equal(ben.callbackOutcomes, { ...NO_CALLBACKS, answered: 1, busy: 1 });
  assert.is(ben.waitAverageMs, 50_000);
  const carl = day.users.find((u) => u.userId === 'carl')!.figures;
  assert.is(carl.callbacks, 1, 'a callback in progress counts');
  assert.equal(carl.callbackOutcomes, NO_CALLBACKS, 'but has no outcome yet');
  assert.is(carl.waitAverageMs, null);

  const busy = day.hours.filter((h) => h.received > 0);
  assert.equal(busy, [
    { hour: 8, received: 2, answered: 2, abandoned: 0 },
    { hour: 9, received: 2, answered: 1, abandoned: 1 },
    { hour: 10, received: 2, answered: 0, abandoned: 2 },
    { hour: 23, received: 1, answered: 0, abandoned: 1 },
  ]);
});

test('an abandoned call that was ringing someone does not count for them', () => {
  const ringing: CallRecord = { ...call('w', 'unanswered', at(9), { waitMs: 5000 }) };
  const day = computeDayStatistics({
    date: '2026-03-10',
    timeZone: ZONE,
    calls: [ringing],
    callbacks: [],
    names: new Map(),
  });
  assert.equal(day.users, []);
  assert.is(day.total.waitAverageMs, 5000);
});

test.run();

test("the call plan's outcomes (issue 15): closed calls, callback requests and voicemail messages are counted once each, received includes them", () => {
  const day = computeDayStatistics({
    date: '2026-03-10',
    timeZone: ZONE,
    calls: [
      call('a', 'answered', at(9)),
      { ...call('b', 'closed', at(7)), afterHours: true },
      call('c', 'closed', at(10)),
      call('d', 'callback-requested', at(11), { waitMs: 90_000 }),
      call('e', 'voicemail', at(11, 30), { waitMs: 30_000 }),
      { ...call('f', 'voicemail', at(20)), afterHours: true },
    ],
    callbacks: [],
    names: new Map(),
  });
  assert.is(day.total.received, 6);
  assert.is(day.total.closed, 2);
  assert.is(day.total.callbackRequested, 1);
  assert.is(day.total.voicemail, 2);
  assert.is(day.total.unanswered, 0, 'none is a missed call');
  assert.is(day.total.abandoned, 0);
});
