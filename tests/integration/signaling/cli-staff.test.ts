/**
 * The Staff screen's operations from the real `deskline` tool (docs/managers.md, "Staff"): adding a
 * user with a setup link or a generated password, roles, password resets by link or generated
 * password, who is where, and taking someone off a workstation; each as the app sees it afterwards.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SessionInfo, TeamMember } from '@deskline/protocol';
import { runCli } from '../../helpers/cli.js';
import { Staff } from '../../helpers/staff.js';
import { asUser, createUser, login, loginOk, useFreshApp } from '../../helpers/signaling.js';

const fixture = useFreshApp(test);
let env: NodeJS.ProcessEnv;
const PASSWORD = 'a password of my own';

test.before(() => {
  env = { REDIS_URL: fixture.redisUrl, PUBLIC_ORIGIN: 'https://phones.clinic.example' };
});

const addBen = (...flags: string[]) =>
  runCli(
    ['user', 'create', '--email', 'ben@clinic.example', '--name', 'Ben Reception', '--role', 'employee', ...flags],
    env,
  );

/** The setup link's token, from the line the tool printed. */
function tokenIn(stdout: string): string {
  const match = /https:\/\/phones\.clinic\.example\/#setup=([A-Za-z0-9_-]+)/.exec(stdout);
  assert.ok(match, stdout);
  return match[1]!;
}

const setUp = (token: string) =>
  fixture.app.inject({ method: 'POST', url: '/api/auth/setup', payload: { token, password: PASSWORD } });

test('user create --setup-link prints a one-time link at PUBLIC_ORIGIN that sets the password and logs in', async () => {
  const result = await addBen('--setup-link');
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, /Created employee Ben Reception <ben@clinic.example>/);
  assert.match(result.stdout, /Setup link for ben@clinic.example \(once, until \d{4}-\d\d-\d\dT/);
  const used = await setUp(tokenIn(result.stdout));
  assert.is(used.statusCode, 200, used.body);
  assert.is(used.json<SessionInfo>().user.email, 'ben@clinic.example');
  assert.is((await setUp(tokenIn(result.stdout))).statusCode, 400, 'once');
});

test('user create --generate-password prints the password once; it logs in', async () => {
  const result = await addBen('--generate-password');
  assert.is(result.code, 0, result.stderr);
  const password = /Password for ben@clinic.example, shown this once:\n {2}(\S+)/.exec(result.stdout)?.[1];
  assert.ok(password, result.stdout);
  assert.is((await login(fixture.app, 'ben@clinic.example', password)).statusCode, 200);
  const both = await addBen('--generate-password', '--setup-link');
  assert.is(both.code, 2);
  assert.match(both.stderr, /not both/);
});

test('user create with a duplicate e-mail says so and exits 1', async () => {
  await addBen('--setup-link');
  const again = await addBen('--setup-link');
  assert.is(again.code, 1);
  assert.match(again.stderr, /^deskline: A user with the email ben@clinic.example already exists\./);
});

test('user set-role promotes and demotes; the last manager is refused', async () => {
  await createUser(fixture.app, 'maria@clinic.example', 'manager');
  await createUser(fixture.app, 'anna@clinic.example', 'employee');
  const promoted = await runCli(['user', 'set-role', '--email', 'anna@clinic.example', '--role', 'manager'], env);
  assert.is(promoted.code, 0, promoted.stderr);
  assert.match(promoted.stdout, /anna@clinic.example is now a manager\./);
  assert.is((await fixture.app.users.findByEmail('anna@clinic.example'))?.role, 'manager');
  assert.is((await runCli(['user', 'set-role', '--email', 'anna@clinic.example', '--role', 'employee'], env)).code, 0);
  const last = await runCli(['user', 'set-role', '--email', 'maria@clinic.example', '--role', 'employee'], env);
  assert.is(last.code, 1);
  assert.match(last.stderr, /maria is the last manager: make someone else a manager first\./);
  assert.is((await fixture.app.users.findByEmail('maria@clinic.example'))?.role, 'manager');
  const bad = await runCli(['user', 'set-role', '--email', 'anna@clinic.example', '--role', 'admin'], env);
  assert.is(bad.code, 2);
  const disableLast = await runCli(['user', 'disable', '--email', 'maria@clinic.example'], env);
  assert.is(disableLast.code, 1);
  assert.match(disableLast.stderr, /is the last manager/);
});

for (const flag of ['--setup-link', '--generate-password'] as const) {
  test(`user reset-password ${flag} voids the old password and ends sessions`, async () => {
    await createUser(fixture.app, 'anna@clinic.example', 'employee');
    const anna = await loginOk(fixture.app, 'anna@clinic.example', 'correct horse battery');
    const result = await runCli(['user', 'reset-password', '--email', 'anna@clinic.example', flag], env);
    assert.is(result.code, 0, result.stderr);
    assert.is((await asUser(fixture.app, anna, 'GET', '/api/me')).statusCode, 401);
    assert.is((await login(fixture.app, 'anna@clinic.example', 'correct horse battery')).statusCode, 401);
    if (flag === '--setup-link') assert.is((await setUp(tokenIn(result.stdout))).statusCode, 200);
    else {
      const password = /shown this once:\n {2}(\S+)/.exec(result.stdout)?.[1] ?? '';
      assert.is((await login(fixture.app, 'anna@clinic.example', password)).statusCode, 200);
    }
  });
}

test('user where shows who has the app open and on which workstation; user force-off takes them off', async () => {
  await createUser(fixture.app, 'maria@clinic.example', 'manager');
  await createUser(fixture.app, 'anna@clinic.example', 'employee');
  const anna = (await fixture.app.users.findByEmail('anna@clinic.example'))!;
  const staff = new Staff(fixture.db);
  const workstation = await staff.workstation('Reception 1');
  await staff.available(anna.id, workstation.id);

  const where = await runCli(['user', 'where', '--json'], env);
  assert.is(where.code, 0, where.stderr);
  const team = JSON.parse(where.stdout) as TeamMember[];
  assert.equal(team, await fixture.app.team.list());
  assert.is(team.find((m) => m.userId === anna.id)?.workstation?.name, 'Reception 1');
  assert.match((await runCli(['user', 'where'], env)).stdout, /anna\s+away\s+available\s+Reception 1/);

  const forced = await runCli(['user', 'force-off', '--email', 'anna@clinic.example'], env);
  assert.is(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /anna@clinic.example is off their workstation/);
  assert.equal(await staff.agent(anna.id), {});
  const member = (await fixture.app.team.member(anna.id))!;
  assert.is(member.forcedOff?.by, 'clinic IT (command line)');
  const again = await runCli(['user', 'force-off', '--email', 'anna@clinic.example'], env);
  assert.is(again.code, 1);
  assert.match(again.stderr, /anna is not on a workstation\./);
  const nobody = await runCli(['user', 'force-off', '--email', 'nobody@clinic.example'], env);
  assert.is(nobody.code, 1);
  assert.match(nobody.stderr, /No user with the email nobody@clinic.example/);
});

test.run();
