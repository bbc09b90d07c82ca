import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_SUBJECTS, SESSION_COOKIE, type ApiError, type Subject } from '@deskline/protocol';
import { asUser, buildTestApp, createUser, loginOk, useFreshApp, type LoggedIn } from '../../helpers/signaling.js';

const fixture = useFreshApp(test);
let maria: LoggedIn;
let anna: LoggedIn;

test.before.each(async () => {
  const { app } = fixture;
  maria = await loginOk(app, 'maria@clinic.example', await createUser(app, 'maria@clinic.example', 'manager'));
  anna = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
});

const names = (subjects: Subject[]): string[] => subjects.map((s) => s.name);

async function list(who: LoggedIn, query = ''): Promise<Subject[]> {
  const response = await asUser(fixture.app, who, 'GET', `/api/subjects${query}`);
  assert.is(response.statusCode, 200, response.body);
  return response.json<Subject[]>();
}

async function byName(name: string): Promise<Subject> {
  const subject = (await list(maria, '?all=true')).find((s) => s.name === name);
  if (!subject) throw new Error(`no subject ${name}`);
  return subject;
}

test('a new Deskline has the three default subjects, in order, and everyone can list them', async () => {
  const subjects = await list(anna);
  assert.equal(
    names(subjects),
    DEFAULT_SUBJECTS.map((d) => d.name),
  );
  assert.equal(names(subjects), ['Information', 'Visit booked', 'Visit not booked']);
  for (const s of subjects) {
    assert.is(s.retired, false);
    assert.ok(Math.abs(s.createdAt - Date.now()) < 60_000);
  }
  assert.equal(await list(maria), subjects);
});

test('the defaults are created once: another start adds nothing, and a clinic that renamed or retired them keeps its choice', async () => {
  const { app, db, redisUrl } = fixture;
  const before = await app.subjects.list({ all: true });
  const second = await buildTestApp(redisUrl);
  await second.close();
  assert.equal(await app.subjects.list({ all: true }), before);
  assert.is(await db.zcard('subjects'), 3);

  const [information, booked, notBooked] = before;
  await app.subjects.rename(information!.id, 'General question');
  await app.subjects.retire(booked!.id);
  await app.subjects.retire(notBooked!.id);
  assert.is(await app.subjects.ensureDefaults(), 0);
  const third = await buildTestApp(redisUrl);
  await third.close();
  assert.equal(names(await app.subjects.list({ all: true })), ['General question', 'Visit booked', 'Visit not booked']);
  assert.equal(names(await app.subjects.list()), ['General question']);
});

test('a manager creates, renames, retires and restores a subject; the id stays the same throughout', async () => {
  const created = await asUser(fixture.app, maria, 'POST', '/api/subjects', { name: '  Prescription   refill ' });
  assert.is(created.statusCode, 201, created.body);
  const subject = created.json<Subject>();
  assert.equal(
    { ...subject, id: '', createdAt: 0, position: 0 },
    { id: '', name: 'Prescription refill', retired: false, category: 'information', position: 0, createdAt: 0 },
  );
  // Without a category, under Information, last there.
  assert.equal(names(await list(anna)), ['Information', 'Prescription refill', 'Visit booked', 'Visit not booked']);

  const renamed = await asUser(fixture.app, maria, 'PATCH', `/api/subjects/${subject.id}`, {
    name: 'Repeat prescription',
  });
  assert.is(renamed.statusCode, 200, renamed.body);
  assert.equal(renamed.json<Subject>(), { ...subject, name: 'Repeat prescription' });
  // The old name is free again, and a change of case alone is allowed.
  assert.is(
    (await asUser(fixture.app, maria, 'PATCH', `/api/subjects/${subject.id}`, { name: 'repeat Prescription' }))
      .statusCode,
    200,
  );
  assert.is((await byName('repeat Prescription')).id, subject.id);
  const reused = await asUser(fixture.app, maria, 'POST', '/api/subjects', { name: 'Prescription refill' });
  assert.is(reused.statusCode, 201, reused.body);

  const retired = await asUser(fixture.app, maria, 'POST', `/api/subjects/${subject.id}/retire`);
  assert.is(retired.statusCode, 200, retired.body);
  assert.equal(retired.json<Subject>(), { ...subject, name: 'repeat Prescription', retired: true });
  // A retired subject is still there to read for the tasks that have it.
  assert.equal(await fixture.app.subjects.get(subject.id), { ...subject, name: 'repeat Prescription', retired: true });

  const restored = await asUser(fixture.app, maria, 'POST', `/api/subjects/${subject.id}/restore`);
  assert.is(restored.statusCode, 200, restored.body);
  assert.is(restored.json<Subject>().retired, false);
  assert.equal(names(await list(anna)), [
    'Information',
    'repeat Prescription',
    'Prescription refill',
    'Visit booked',
    'Visit not booked',
  ]);
});

test('an empty PATCH changes nothing and answers the subject', async () => {
  const information = await byName('Information');
  const response = await asUser(fixture.app, maria, 'PATCH', `/api/subjects/${information.id}`, {});
  assert.is(response.statusCode, 200, response.body);
  assert.equal(response.json<Subject>(), information);
});

test('retired subjects are not offered in the default list; all=true lists them after the active ones, to employees too (old tasks name them)', async () => {
  const booked = await byName('Visit booked');
  assert.is((await asUser(fixture.app, maria, 'POST', `/api/subjects/${booked.id}/retire`)).statusCode, 200);
  assert.equal(names(await list(anna)), ['Information', 'Visit not booked']);
  assert.equal(names(await list(maria)), ['Information', 'Visit not booked']);
  const all = await list(maria, '?all=true');
  assert.equal(
    all.map((s) => [s.name, s.retired]),
    [
      ['Information', false],
      ['Visit not booked', false],
      ['Visit booked', true],
    ],
  );
  assert.equal(names(await list(maria, '?all=false')), ['Information', 'Visit not booked']);
  assert.equal(await list(anna, '?all=true'), all);
});

test('duplicate names are refused whatever their case, retired subjects included, with a clear message', async () => {
  const duplicate = await asUser(fixture.app, maria, 'POST', '/api/subjects', { name: 'visit BOOKED' });
  assert.is(duplicate.statusCode, 409);
  assert.is(duplicate.json<ApiError>().message, 'A subject named "Visit booked" already exists under Visit booked.');

  const information = await byName('Information');
  const clash = await asUser(fixture.app, maria, 'PATCH', `/api/subjects/${information.id}`, {
    name: 'Visit not booked',
  });
  assert.is(clash.statusCode, 409);
  assert.is(
    clash.json<ApiError>().message,
    'A subject named "Visit not booked" already exists under Visit not booked.',
  );
  assert.is((await byName('Information')).id, information.id);

  await asUser(fixture.app, maria, 'POST', `/api/subjects/${information.id}/retire`);
  const retiredName = await asUser(fixture.app, maria, 'POST', '/api/subjects', { name: 'information' });
  assert.is(retiredName.statusCode, 409);
  assert.is(
    retiredName.json<ApiError>().message,
    'A retired subject named "Information" exists under Information; restore it instead.',
  );
  assert.is((await fixture.app.subjects.list({ all: true })).length, 3);
});

test('bad names are refused with 400 and say why', async () => {
  const tooLong = 'x'.repeat(61);
  for (const name of ['', '   ', tooLong]) {
    const response = await asUser(fixture.app, maria, 'POST', '/api/subjects', { name });
    assert.is(response.statusCode, 400, name);
    assert.is(response.json<ApiError>().message, "A subject's name must be 1 to 60 characters long.");
  }
  const control = await asUser(fixture.app, maria, 'POST', '/api/subjects', { name: 'Bell\u0007' });
  assert.is(control.statusCode, 400);
  assert.is(control.json<ApiError>().message, "A subject's name must not contain control characters.");
  const information = await byName('Information');
  const rename = await asUser(fixture.app, maria, 'PATCH', `/api/subjects/${information.id}`, { name: ' ' });
  assert.is(rename.statusCode, 400);
  assert.is((await asUser(fixture.app, maria, 'POST', '/api/subjects', { title: 'Other' })).statusCode, 400);
  assert.is((await asUser(fixture.app, maria, 'POST', '/api/subjects', { name: 'x'.repeat(60) })).statusCode, 201);
  assert.equal(names(await list(anna)).length, 4);
});

test('an employee lists the subjects but gets 403 on every change', async () => {
  const information = await byName('Information');
  const attempts = [
    await asUser(fixture.app, anna, 'POST', '/api/subjects', { name: 'Gossip' }),
    await asUser(fixture.app, anna, 'PATCH', `/api/subjects/${information.id}`, { name: 'Gossip' }),
    await asUser(fixture.app, anna, 'POST', `/api/subjects/${information.id}/retire`),
    await asUser(fixture.app, anna, 'POST', `/api/subjects/${information.id}/restore`),
  ];
  for (const response of attempts) {
    assert.is(response.statusCode, 403);
    assert.is(response.json<ApiError>().message, 'Only a manager may do this.');
  }
  assert.equal(
    names(await fixture.app.subjects.list({ all: true })),
    DEFAULT_SUBJECTS.map((d) => d.name),
  );
});

test('without a session 401; without the CSRF token 403', async () => {
  assert.is((await fixture.app.inject({ method: 'GET', url: '/api/subjects' })).statusCode, 401);
  const noToken = await fixture.app.inject({
    method: 'POST',
    url: '/api/subjects',
    cookies: { [SESSION_COOKIE]: maria.cookie },
    payload: { name: 'Sneaky' },
  });
  assert.is(noToken.statusCode, 403);
  const information = await byName('Information');
  const noTokenRetire = await fixture.app.inject({
    method: 'POST',
    url: `/api/subjects/${information.id}/retire`,
    cookies: { [SESSION_COOKIE]: maria.cookie },
  });
  assert.is(noTokenRetire.statusCode, 403);
  assert.equal(
    names(await list(maria, '?all=true')),
    DEFAULT_SUBJECTS.map((d) => d.name),
  );
});

test('an unknown subject is 404 for rename, retire and restore', async () => {
  for (const [method, url, payload] of [
    ['PATCH', '/api/subjects/nope', { name: 'Anything' }],
    ['PATCH', '/api/subjects/nope', {}],
    ['POST', '/api/subjects/nope/retire', undefined],
    ['POST', '/api/subjects/nope/restore', undefined],
  ] as const) {
    const response = await asUser(fixture.app, maria, method, url, payload);
    assert.is(response.statusCode, 404, `${method} ${url}`);
    assert.is(response.json<ApiError>().message, 'No such subject.');
  }
  assert.is(await fixture.db.exists('subject:nope'), 0, 'nothing was written for the unknown id');
});

test.run();
