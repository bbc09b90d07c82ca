import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { PublicUser, Workstation } from '@deskline/protocol';
import { runCli } from '../../helpers/cli.js';
import { asUser, login, loginOk, useFreshApp } from '../../helpers/signaling.js';

const fixture = useFreshApp(test);
let env: NodeJS.ProcessEnv;

test.before(() => {
  env = { REDIS_URL: fixture.redisUrl };
});

const PASSWORD = 'piped in from stdin';

const createAnna = () =>
  runCli(['user', 'create', '--email', 'anna@clinic.example', '--name', 'Anna Reception', '--role', 'employee'], env, `${PASSWORD}\n`);

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
  const short = await runCli(['user', 'create', '--email', 'ben@clinic.example', '--name', 'Ben', '--role', 'employee'], env, 'short\n');
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
  const result = await runCli(['user', 'reset-password', '--email', 'anna@clinic.example'], env, 'a brand new password\n');
  assert.is(result.code, 0, result.stderr);
  assert.is((await asUser(fixture.app, anna, 'GET', '/api/me')).statusCode, 401);
  assert.is((await login(fixture.app, 'anna@clinic.example', PASSWORD)).statusCode, 401);
  assert.is((await login(fixture.app, 'anna@clinic.example', 'a brand new password')).statusCode, 200);
  const unknown = await runCli(['user', 'reset-password', '--email', 'nobody@clinic.example'], env, 'a brand new password\n');
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
  assert.equal(fromCli, await fixture.app.workstations.list());
  const badKind = await runCli(['workstation', 'create', '--name', 'X', '--kind', 'fax'], env);
  assert.is(badKind.code, 2);
  assert.match(badKind.stderr, /--kind must be one of: browser, sip-phone/);
});

test('seed-demo creates one manager, two employees and two workstations once, then nothing', async () => {
  const first = await runCli(['seed-demo', '--json'], env);
  assert.is(first.code, 0, first.stderr);
  const seeded = JSON.parse(first.stdout) as { created: boolean; logins: Array<{ email: string; password: string; role: string }> };
  assert.is(seeded.created, true);
  assert.equal(seeded.logins.map((l) => l.role).sort(), ['employee', 'employee', 'manager']);
  for (const l of seeded.logins) assert.is((await login(fixture.app, l.email, l.password)).statusCode, 200);
  assert.is((await fixture.app.workstations.list()).length, 2);
  const second = await runCli(['seed-demo', '--json'], env);
  assert.equal(JSON.parse(second.stdout), { created: false, logins: [], workstations: [] });
  assert.is(await fixture.app.users.count(), 3);
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
