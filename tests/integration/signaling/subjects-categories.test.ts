/**
 * Subjects by category (issue 16): the API's new operations (create in a category, move to another,
 * reorder), their bad input and permission checks, the migration of subjects stored before categories
 * existed, and the statistics' by-category breakdown. Against a real Redis.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CSRF_HEADER,
  SESSION_COOKIE,
  SUBJECT_REORDER_MAX,
  type ApiError,
  type DayStatistics,
  type Subject,
} from '@deskline/protocol';
import { RedisKeys, RedisStreams } from '@deskline/store';
import { asUser, buildTestApp, createUser, loginOk, useFreshApp, type LoggedIn } from '../../helpers/signaling.js';

const fixture = useFreshApp(test, { CLINIC_TIME_ZONE: 'Europe/Warsaw' });
let maria: LoggedIn;
let anna: LoggedIn;

test.before.each(async () => {
  const { app } = fixture;
  maria = await loginOk(app, 'maria@clinic.example', await createUser(app, 'maria@clinic.example', 'manager'));
  anna = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
});

async function list(who: LoggedIn = maria): Promise<Subject[]> {
  const response = await asUser(fixture.app, who, 'GET', '/api/subjects?all=true');
  assert.is(response.statusCode, 200, response.body);
  return response.json<Subject[]>();
}

/** The subjects in use as "category: name", in the managers' order. */
async function layout(): Promise<string[]> {
  return (await list()).filter((s) => !s.retired).map((s) => `${s.category}: ${s.name}`);
}

async function create(name: string, category?: string): Promise<Subject> {
  const response = await asUser(fixture.app, maria, 'POST', '/api/subjects', {
    name,
    ...(category ? { category } : {}),
  });
  assert.is(response.statusCode, 201, response.body);
  return response.json<Subject>();
}

const reorder = (who: LoggedIn, body: object) => asUser(fixture.app, who, 'POST', '/api/subjects/reorder', body);

test('the defaults are one per category; a subject is created last in the category asked for', async () => {
  assert.equal(await layout(), [
    'information: Information',
    'visit-booked: Visit booked',
    'visit-not-booked: Visit not booked',
  ]);
  const prices = await create('Prices', 'information');
  const surgery = await create('Surgery date', 'visit-booked');
  await create('No free slot', 'visit-not-booked');
  await create('Opening hours');
  assert.is(prices.category, 'information');
  assert.is(surgery.category, 'visit-booked');
  assert.equal(await layout(), [
    'information: Information',
    'information: Prices',
    'information: Opening hours',
    'visit-booked: Visit booked',
    'visit-booked: Surgery date',
    'visit-not-booked: Visit not booked',
    'visit-not-booked: No free slot',
  ]);
  // Employees read the same order, the one the board offers.
  assert.equal(
    (await list(anna)).map((s) => s.id),
    (await list()).map((s) => s.id),
  );
});

test("a manager reorders a category: only its subjects' places change, and every panel is told", async () => {
  const information = (await list()).find((s) => s.name === 'Information')!;
  const prices = await create('Prices', 'information');
  const hours = await create('Opening hours', 'information');
  const surgery = await create('Surgery date', 'visit-booked');
  const before = await list();
  const eventsBefore = await fixture.db.xlen(RedisStreams.boardEvents);

  const response = await reorder(maria, { category: 'information', ids: [hours.id, information.id, prices.id] });
  assert.is(response.statusCode, 200, response.body);
  assert.equal(
    response.json<Subject[]>().map((s) => s.name),
    ['Opening hours', 'Information', 'Prices'],
  );
  assert.equal(await layout(), [
    'information: Opening hours',
    'information: Information',
    'information: Prices',
    'visit-booked: Visit booked',
    'visit-booked: Surgery date',
    'visit-not-booked: Visit not booked',
  ]);
  const after = await list();
  for (const id of [surgery.id]) {
    assert.equal(
      after.find((s) => s.id === id),
      before.find((s) => s.id === id),
      'another category keeps its places',
    );
  }
  // The three that moved were announced (the panels' push reads them back).
  assert.is((await fixture.db.xlen(RedisStreams.boardEvents)) - eventsBefore, 3);

  // The same order again changes nothing.
  const same = await reorder(maria, { category: 'information', ids: [hours.id, information.id, prices.id] });
  assert.is(same.statusCode, 200);
  assert.equal(await list(), after);
});

test('retired subjects are not part of an order and keep their place; a restored one comes back where it was', async () => {
  const information = (await list()).find((s) => s.name === 'Information')!;
  const prices = await create('Prices', 'information');
  const hours = await create('Opening hours', 'information');
  assert.is((await asUser(fixture.app, maria, 'POST', `/api/subjects/${prices.id}/retire`)).statusCode, 200);
  const withRetired = await reorder(maria, { category: 'information', ids: [hours.id, information.id, prices.id] });
  assert.is(withRetired.statusCode, 409, 'a retired subject is not in the order');
  const ok = await reorder(maria, { category: 'information', ids: [hours.id, information.id] });
  assert.is(ok.statusCode, 200, ok.body);
  assert.equal(
    ok.json<Subject[]>().map((s) => [s.name, s.retired]),
    [
      ['Opening hours', false],
      ['Information', false],
      ['Prices', true],
    ],
  );
  await asUser(fixture.app, maria, 'POST', `/api/subjects/${prices.id}/restore`);
  assert.equal((await layout()).slice(0, 3), [
    'information: Opening hours',
    'information: Prices',
    'information: Information',
  ]);
});

test('a reorder that is not exactly the category is refused with 409 and changes nothing', async () => {
  const information = (await list()).find((s) => s.name === 'Information')!;
  const booked = (await list()).find((s) => s.name === 'Visit booked')!;
  const prices = await create('Prices', 'information');
  const before = await list();
  const message =
    'The order must list every subject in use under Information, each once, and no other; the list may have changed meanwhile: reload it and try again.';
  for (const ids of [
    [prices.id], // one missing
    [prices.id, information.id, booked.id], // another category's
    [prices.id, information.id, information.id], // twice
    [prices.id, prices.id], // twice, and one missing
    [prices.id, 'nope'], // unknown
    [], // none
  ]) {
    const response = await reorder(maria, { category: 'information', ids });
    assert.is(response.statusCode, 409, JSON.stringify(ids));
    assert.is(response.json<ApiError>().message, message);
  }
  assert.equal(await list(), before);
});

test('bad bodies: unknown category, wrong types, too many ids, a huge body; each a clear 4xx', async () => {
  const information = (await list()).find((s) => s.name === 'Information')!;
  const unknown = await reorder(maria, { category: 'visit-maybe', ids: [information.id] });
  assert.is(unknown.statusCode, 400);
  assert.match(unknown.json<ApiError>().message, /category/);
  const createUnknown = await asUser(fixture.app, maria, 'POST', '/api/subjects', { name: 'X', category: 'other' });
  assert.is(createUnknown.statusCode, 400);
  assert.match(createUnknown.json<ApiError>().message, /category/);
  const moveUnknown = await asUser(fixture.app, maria, 'PATCH', `/api/subjects/${information.id}`, {
    category: 'Information',
  });
  assert.is(moveUnknown.statusCode, 400);
  for (const body of [
    {},
    { category: 'information' },
    { category: 'information', ids: [information.id], extra: true },
    { category: 'information', ids: ['x'.repeat(65)] },
    { category: 'information', ids: [{}] },
  ]) {
    const response = await reorder(maria, body);
    assert.is(response.statusCode, 400, JSON.stringify(body));
  }
  // The validator takes a lone string (or numbers) for a list of ids, which then are not the category's.
  for (const ids of ['all', [1, 2]]) {
    const response = await reorder(maria, { category: 'information', ids });
    assert.is(response.statusCode, 409, JSON.stringify(ids));
  }
  const tooMany = await reorder(maria, {
    category: 'information',
    ids: Array.from({ length: SUBJECT_REORDER_MAX + 1 }, (_, i) => `id-${i}`),
  });
  assert.is(tooMany.statusCode, 400);
  const huge = await fixture.app.inject({
    method: 'POST',
    url: '/api/subjects/reorder',
    cookies: { [SESSION_COOKIE]: maria.cookie },
    headers: { [CSRF_HEADER]: maria.info.csrfToken, 'content-type': 'application/json' },
    payload: JSON.stringify({ category: 'information', ids: ['x'.repeat(10 * 1024 * 1024)] }),
  });
  assert.is(huge.statusCode, 413);
  assert.equal(await layout(), [
    'information: Information',
    'visit-booked: Visit booked',
    'visit-not-booked: Visit not booked',
  ]);
});

test('duplicate names are refused within a category and across them, saying where the other one is', async () => {
  await create('Prices', 'information');
  for (const category of ['information', 'visit-booked']) {
    const response = await asUser(fixture.app, maria, 'POST', '/api/subjects', { name: 'PRICES', category });
    assert.is(response.statusCode, 409);
    assert.is(response.json<ApiError>().message, 'A subject named "Prices" already exists under Information.');
  }
});

test('a subject moved to another category goes last there; its name may change in the same PATCH', async () => {
  const prices = await create('Prices', 'information');
  await create('Surgery date', 'visit-booked');
  const moved = await asUser(fixture.app, maria, 'PATCH', `/api/subjects/${prices.id}`, {
    name: 'Price of a visit',
    category: 'visit-booked',
  });
  assert.is(moved.statusCode, 200, moved.body);
  assert.equal(
    { ...moved.json<Subject>(), position: 0 },
    { ...prices, name: 'Price of a visit', category: 'visit-booked', position: 0 },
  );
  assert.equal(await layout(), [
    'information: Information',
    'visit-booked: Visit booked',
    'visit-booked: Surgery date',
    'visit-booked: Price of a visit',
    'visit-not-booked: Visit not booked',
  ]);
  const unknown = await asUser(fixture.app, maria, 'PATCH', '/api/subjects/nope', { category: 'visit-booked' });
  assert.is(unknown.statusCode, 404);
});

test('an employee may list but gets 403 on reorder and move; no session 401; no CSRF token 403', async () => {
  const before = await list();
  const information = before.find((s) => s.name === 'Information')!;
  const ids = before.filter((s) => s.category === 'information').map((s) => s.id);
  for (const response of [
    await reorder(anna, { category: 'information', ids }),
    await asUser(fixture.app, anna, 'PATCH', `/api/subjects/${information.id}`, { category: 'visit-booked' }),
    await asUser(fixture.app, anna, 'POST', '/api/subjects', { name: 'Gossip', category: 'visit-booked' }),
  ]) {
    assert.is(response.statusCode, 403);
    assert.is(response.json<ApiError>().message, 'Only a manager may do this.');
  }
  const anonymous = await fixture.app.inject({
    method: 'POST',
    url: '/api/subjects/reorder',
    payload: { category: 'information', ids },
  });
  assert.is(anonymous.statusCode, 401);
  const noToken = await fixture.app.inject({
    method: 'POST',
    url: '/api/subjects/reorder',
    cookies: { [SESSION_COOKIE]: maria.cookie },
    payload: { category: 'information', ids },
  });
  assert.is(noToken.statusCode, 403);
  const otherOrigin = await fixture.app.inject({
    method: 'POST',
    url: '/api/subjects/reorder',
    cookies: { [SESSION_COOKIE]: maria.cookie },
    headers: { [CSRF_HEADER]: anna.info.csrfToken },
    payload: { category: 'information', ids },
  });
  assert.is(otherOrigin.statusCode, 403, "another user's CSRF token");
  assert.equal(await list(), before);
});

// ----- The migration of subjects stored before categories (issue 16) -----------------------------

/** Subjects as Deskline stored them before issue 16: no category field. */
async function writeOldSubjects(subjects: { id: string; name: string; retired?: boolean }[]): Promise<void> {
  const db = fixture.db;
  await db.del(RedisKeys.subjects, RedisKeys.subjectNames);
  for (const [i, s] of subjects.entries()) {
    await db.hset(RedisKeys.subject(s.id), {
      id: s.id,
      name: s.name,
      nameKey: s.name.toLowerCase(),
      retired: s.retired ? '1' : '0',
      createdAt: String(1_700_000_000_000 + i),
    });
    await db.hset(RedisKeys.subjectNames, s.name.toLowerCase(), s.id);
    await db.zadd(RedisKeys.subjects, i + 1, s.id);
  }
}

/** A task closed with `subjectId` at `closedAt`, as the task store keeps it (task:<id>, tasks:closed). */
async function writeClosedTask(id: string, subjectId: string, closedAt: number): Promise<void> {
  const task = {
    id,
    status: 'closed',
    patient: '+48221234567',
    callIds: [],
    attempts: 0,
    callbacks: [],
    problems: [],
    subjectId,
    createdAt: closedAt - 60_000,
    updatedAt: closedAt,
    closedAt,
  };
  await fixture.db.set(RedisKeys.task(id), JSON.stringify(task));
  await fixture.db.zadd(RedisKeys.closedTasks, closedAt, id);
}

test('at start, subjects stored without a category are put under one, keeping id, name, order and retirement; their tasks still count', async () => {
  await writeOldSubjects([
    { id: 'old-info', name: 'Information' },
    { id: 'old-booked', name: 'Visit booked' },
    { id: 'old-not-booked', name: 'visit NOT booked' },
    { id: 'old-other', name: 'Prescription' },
    { id: 'old-retired', name: 'Referral', retired: true },
  ]);
  const now = Date.now();
  await writeClosedTask('t1', 'old-booked', now);
  await writeClosedTask('t2', 'old-booked', now);
  await writeClosedTask('t3', 'old-other', now);
  await writeClosedTask('t4', 'old-retired', now);
  await writeClosedTask('t5', 'old-not-booked', now);

  // A running clinic upgrades: two instances start at once, then one restarts.
  await fixture.app.close();
  const [first, second] = await Promise.all([buildTestApp(fixture.redisUrl), buildTestApp(fixture.redisUrl)]);
  await second.close();
  fixture.app = first;
  const stored = await Promise.all(
    ['old-info', 'old-booked', 'old-not-booked', 'old-other', 'old-retired'].map((id) =>
      fixture.db.hget(RedisKeys.subject(id), 'category'),
    ),
  );
  assert.equal(stored, ['information', 'visit-booked', 'visit-not-booked', 'information', 'information']);
  assert.is(await first.subjects.migrateCategories(), 0, 'a second run changes nothing');

  maria = await loginOk(first, 'maria@clinic.example', 'correct horse battery');
  const subjects = await list();
  assert.equal(
    subjects.map((s) => [s.id, s.name, s.category, s.retired]),
    [
      ['old-info', 'Information', 'information', false],
      ['old-other', 'Prescription', 'information', false],
      ['old-booked', 'Visit booked', 'visit-booked', false],
      ['old-not-booked', 'visit NOT booked', 'visit-not-booked', false],
      ['old-retired', 'Referral', 'information', true],
    ],
  );
  assert.is(await fixture.db.zcard(RedisKeys.subjects), 5, 'no defaults were added beside them');

  const day = (await asUser(first, maria, 'GET', '/api/statistics')).json<DayStatistics>();
  assert.equal(day.categories, [
    {
      category: 'information',
      closed: 2,
      subjects: [
        { subjectId: 'old-other', name: 'Prescription', closed: 1 },
        { subjectId: 'old-retired', name: 'Referral', closed: 1 },
      ],
    },
    { category: 'visit-booked', closed: 2, subjects: [{ subjectId: 'old-booked', name: 'Visit booked', closed: 2 }] },
    {
      category: 'visit-not-booked',
      closed: 1,
      subjects: [{ subjectId: 'old-not-booked', name: 'visit NOT booked', closed: 1 }],
    },
  ]);

  // A manager's later choice survives the next start.
  await first.subjects.move('old-other', 'visit-booked');
  const third = await buildTestApp(fixture.redisUrl);
  await third.close();
  assert.is(await fixture.db.hget(RedisKeys.subject('old-other'), 'category'), 'visit-booked');
});

test("statistics count a day's closed tasks under their subject's category now; other days' do not count", async () => {
  const subjects = await list();
  const information = subjects.find((s) => s.name === 'Information')!;
  const booked = subjects.find((s) => s.name === 'Visit booked')!;
  const now = Date.now();
  await writeClosedTask('today-1', information.id, now);
  await writeClosedTask('today-2', booked.id, now);
  await writeClosedTask('last-week', booked.id, now - 7 * 24 * 3_600_000);
  const totals = async () =>
    (await asUser(fixture.app, maria, 'GET', '/api/statistics')).json<DayStatistics>().categories.map((c) => c.closed);
  assert.equal(await totals(), [1, 1, 0]);
  await asUser(fixture.app, maria, 'PATCH', `/api/subjects/${information.id}`, { category: 'visit-not-booked' });
  assert.equal(await totals(), [0, 1, 1]);
});

test.run();
