import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { type PublicUser, type Subject, type Workstation } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { runCli } from '../../helpers/cli.js';
import { asUser, login, loginOk, useFreshApp } from '../../helpers/signaling.js';

const fixture = useFreshApp(test);
let env: NodeJS.ProcessEnv;

test.before(() => {
  env = { REDIS_URL: fixture.redisUrl };
});

const PASSWORD = 'piped in from stdin';
const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

const createAnna = () =>
  runCli(
    ['user', 'create', '--email', 'anna@clinic.example', '--name', 'Anna Reception', '--role', 'employee'],
    env,
    `${PASSWORD}\n`,
  );

test('user create reads the password from stdin, never prints it, and the user can log in to the API', async () => {
  const result = await createAnna();
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, /Created employee Anna Reception <anna@clinic.example>/);
  assert.not.ok(result.stdout.includes(PASSWORD) || result.stderr.includes(PASSWORD), 'the password is not echoed');
  const session = await loginOk(fixture.app, 'anna@clinic.example', PASSWORD);
  assert.is(session.info.user.displayName, 'Anna Reception');
});

test('user list shows what the API shows', async () => {
  await createAnna();
  const listed = await runCli(['user', 'list', '--json'], env);
  assert.is(listed.code, 0, listed.stderr);
  const fromCli = JSON.parse(listed.stdout) as PublicUser[];
  assert.equal(fromCli, await fixture.app.users.list());
  const text = await runCli(['user', 'list'], env);
  assert.match(text.stdout, /anna@clinic.example\s+employee\s+active\s+Anna Reception/);
});

test('a too-short password and a duplicate email are refused with a message and exit 1', async () => {
  const short = await runCli(
    ['user', 'create', '--email', 'ben@clinic.example', '--name', 'Ben', '--role', 'employee'],
    env,
    'short\n',
  );
  assert.is(short.code, 1);
  assert.match(short.stderr, /at least 12 characters/);
  await createAnna();
  const again = await createAnna();
  assert.is(again.code, 1);
  assert.match(again.stderr, /already exists/);
  assert.is(await fixture.app.users.count(), 1);
});

test('user disable ends the sessions of that user at once', async () => {
  await createAnna();
  const anna = await loginOk(fixture.app, 'anna@clinic.example', PASSWORD);
  const result = await runCli(['user', 'disable', '--email', 'anna@clinic.example'], env);
  assert.is(result.code, 0, result.stderr);
  assert.is((await asUser(fixture.app, anna, 'GET', '/api/me')).statusCode, 401);
  assert.is((await login(fixture.app, 'anna@clinic.example', PASSWORD)).statusCode, 403);
  assert.is((await runCli(['user', 'enable', '--email', 'anna@clinic.example'], env)).code, 0);
  assert.is((await login(fixture.app, 'anna@clinic.example', PASSWORD)).statusCode, 200);
});

test('user reset-password sets the new password and ends old sessions', async () => {
  await createAnna();
  const anna = await loginOk(fixture.app, 'anna@clinic.example', PASSWORD);
  const result = await runCli(
    ['user', 'reset-password', '--email', 'anna@clinic.example'],
    env,
    'a brand new password\n',
  );
  assert.is(result.code, 0, result.stderr);
  assert.is((await asUser(fixture.app, anna, 'GET', '/api/me')).statusCode, 401);
  assert.is((await login(fixture.app, 'anna@clinic.example', PASSWORD)).statusCode, 401);
  assert.is((await login(fixture.app, 'anna@clinic.example', 'a brand new password')).statusCode, 200);
  const unknown = await runCli(
    ['user', 'reset-password', '--email', 'nobody@clinic.example'],
    env,
    'a brand new password\n',
  );
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /No user with the email nobody@clinic.example/);
});

test('workstation create and list; the API lists the same', async () => {
  const created = await runCli(['workstation', 'create', '--name', 'Front desk phone', '--kind', 'sip-phone'], env);
  assert.is(created.code, 0, created.stderr);
  await runCli(['workstation', 'create', '--name', 'Reception 1'], env);
  const listed = await runCli(['workstation', 'list', '--json'], env);
  const fromCli = JSON.parse(listed.stdout) as Workstation[];
  assert.equal(
    fromCli.map((w) => [w.name, w.kind]),
    [
      ['Front desk phone', 'sip-phone'],
      ['Reception 1', 'browser'],
    ],
  );
  // With each one's registration (none here: tests/integration/signaling/cli-workstations.test.ts has them).
  assert.equal(
    fromCli,
    (await fixture.app.workstations.list()).map((w) => ({ ...w, registered: false })),
  );
  const badKind = await runCli(['workstation', 'create', '--name', 'X', '--kind', 'fax'], env);
  assert.is(badKind.code, 2);
  assert.match(badKind.stderr, /--kind must be one of: browser, sip-phone/);
});

test('seed-demo creates one manager, two employees, two browser workstations and a desk phone once, then nothing', async () => {
  const first = await runCli(['seed-demo', '--json'], { ...env, SIP_DOMAIN: 'clinic.test' });
  assert.is(first.code, 0, first.stderr);
  const seeded = JSON.parse(first.stdout) as {
    created: boolean;
    logins: Array<{ email: string; password: string; role: string }>;
    workstations: string[];
    deskPhones: Array<{ workstation: string; sipUser: string; sipPassword: string }>;
  };
  assert.is(seeded.created, true);
  assert.equal(seeded.logins.map((l) => l.role).sort(), ['employee', 'employee', 'manager']);
  for (const l of seeded.logins) assert.is((await login(fixture.app, l.email, l.password)).statusCode, 200);
  assert.equal(seeded.workstations, ['Reception 1', 'Reception 2', 'Desk phone 201']);
  assert.equal(
    (await fixture.app.workstations.list()).map((w) => [w.name, w.kind, w.sipUser]),
    [
      ['Desk phone 201', 'sip-phone', '201'],
      ['Reception 1', 'browser', undefined],
      ['Reception 2', 'browser', undefined],
    ],
  );
  const [phone] = seeded.deskPhones;
  assert.is(seeded.deskPhones.length, 1);
  assert.equal([phone?.workstation, phone?.sipUser], ['Desk phone 201', '201']);
  // Made for the realm the CLI was given: the one Kamailio runs with.
  assert.is(await fixture.db.hget(RedisKeys.sipCredentials, '201'), md5(`201:clinic.test:${phone?.sipPassword}`));
  const second = await runCli(['seed-demo', '--json'], env);
  assert.equal(JSON.parse(second.stdout), { created: false, logins: [], workstations: [], deskPhones: [] });
  assert.is(await fixture.app.users.count(), 3);
});

test('workstation create --kind sip-phone prints the SIP user and password once; reset-sip-password gives a new one', async () => {
  const created = await runCli(
    ['workstation', 'create', '--name', 'Front desk phone', '--kind', 'sip-phone', '--sip-user', '201'],
    env,
  );
  assert.is(created.code, 0, created.stderr);
  const password = /SIP password: (\S+)/.exec(created.stdout)?.[1] ?? '';
  assert.match(created.stdout, /SIP user: +201\n/);
  assert.match(created.stdout, /domain\/realm: deskline\.local/);
  assert.match(password, /^[A-Za-z2-9]{5}(-[A-Za-z2-9]{5}){3}$/);
  assert.is(await fixture.db.hget(RedisKeys.sipCredentials, '201'), md5(`201:deskline.local:${password}`));
  const listed = await runCli(['workstation', 'list'], env);
  assert.match(listed.stdout, /Front desk phone\s+sip-phone\s+201\s+/);
  assert.not.ok(listed.stdout.includes(password));

  const auto = await runCli(['workstation', 'create', '--name', 'Back office phone', '--kind', 'sip-phone'], env);
  assert.match(auto.stdout, /SIP user: +phone-1\n/);

  const reset = await runCli(['workstation', 'reset-sip-password', '--name', 'front desk phone'], env);
  assert.is(reset.code, 0, reset.stderr);
  const newPassword = /SIP password: (\S+)/.exec(reset.stdout)?.[1] ?? '';
  assert.ok(newPassword && newPassword !== password);
  assert.is(await fixture.db.hget(RedisKeys.sipCredentials, '201'), md5(`201:deskline.local:${newPassword}`));

  const taken = await runCli(
    ['workstation', 'create', '--name', 'Other', '--kind', 'sip-phone', '--sip-user', '201'],
    env,
  );
  assert.is(taken.code, 1);
  assert.match(taken.stderr, /The SIP user "201" is in use already/);
  const missing = await runCli(['workstation', 'reset-sip-password', '--name', 'Nowhere'], env);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /No workstation named "Nowhere"/);
});

test('subject create, rename, retire and restore work on the subjects the API lists', async () => {
  const created = await runCli(['subject', 'create', '--name', 'Prescription refill'], env);
  assert.is(created.code, 0, created.stderr);
  assert.match(created.stdout, /Created subject "Prescription refill"/);
  const renamed = await runCli(
    ['subject', 'rename', '--name', 'prescription REFILL', '--to', 'Repeat prescription'],
    env,
  );
  assert.is(renamed.code, 0, renamed.stderr);
  const retired = await runCli(['subject', 'retire', '--name', 'Visit booked'], env);
  assert.is(retired.code, 0, retired.stderr);

  const listed = await runCli(['subject', 'list', '--json'], env);
  const fromCli = JSON.parse(listed.stdout) as Subject[];
  assert.equal(
    fromCli.map((s) => [s.name, s.retired]),
    [
      ['Information', false],
      ['Repeat prescription', false],
      ['Visit not booked', false],
      ['Visit booked', true],
    ],
  );
  assert.equal(fromCli, await fixture.app.subjects.list({ all: true }));
  assert.match((await runCli(['subject', 'list'], env)).stdout, /Visit booked\s+retired\s+/);
  assert.is((await runCli(['subject', 'restore', '--name', 'Visit booked'], env)).code, 0);
  assert.is((await fixture.app.subjects.list()).length, 4);

  const duplicate = await runCli(['subject', 'create', '--name', 'information'], env);
  assert.is(duplicate.code, 1);
  assert.match(duplicate.stderr, /A subject named "Information" already exists/);
  const missing = await runCli(['subject', 'retire', '--name', 'Nothing'], env);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /No subject named "Nothing"/);
  const noTo = await runCli(['subject', 'rename', '--name', 'Information'], env);
  assert.is(noTo.code, 2);
  assert.match(noTo.stderr, /Missing --to/);
});

test('seed-demo creates the default subjects on a Redis that has none', async () => {
  await fixture.db.flushall();
  assert.is((await runCli(['seed-demo', '--json'], env)).code, 0);
  assert.equal(
    (await fixture.app.subjects.list()).map((s) => s.name),
    ['Information', 'Visit booked', 'Visit not booked'],
  );
  assert.is(await fixture.db.zcard('subjects'), 3);
});

test('usage errors exit 2, and an unreachable Redis is named', async () => {
  const unknown = await runCli(['user', 'fly'], env);
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown command "user fly"/);
  const missing = await runCli(['user', 'create', '--email', 'x@clinic.example'], env);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /Missing --name/);
  const down = await runCli(['user', 'list'], { REDIS_URL: 'redis://127.0.0.1:1' });
  assert.is(down.code, 1);
  assert.match(down.stderr, /Cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
});

test.run();
