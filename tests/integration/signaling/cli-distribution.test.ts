/**
 * `deskline distribution show|set` (docs/managers.md, "Distribution"): clinic IT reads and changes how
 * calls are distributed, checked as the API checks it; bad values change nothing. The command line
 * has no user: whoever can reach Redis is trusted as a manager (the permission check is the API's).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_DISTRIBUTION, type DistributionSettings } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { runCli } from '../../helpers/cli.js';
import { createUser, useFreshApp } from '../../helpers/signaling.js';

const fixture = useFreshApp(test);
let env: NodeJS.ProcessEnv;

test.before(() => {
  env = { REDIS_URL: fixture.redisUrl };
});

test('show prints the defaults; set changes the given settings, and the API serves them', async () => {
  const shown = await runCli(['distribution', 'show', '--json'], env);
  assert.is(shown.code, 0, shown.stderr);
  assert.equal(JSON.parse(shown.stdout), DEFAULT_DISTRIBUTION);
  const words = await runCli(['distribution', 'show'], env);
  assert.match(words.stdout, /Ring strategy: longest-idle\n/);
  assert.match(words.stdout, /Ring timeout: {2}the sip app's RING_TIMEOUT_SECONDS\n/);
  assert.match(words.stdout, /Auto-pause: {4}off/);

  await createUser(fixture.app, 'anna@clinic.example', 'employee');
  await createUser(fixture.app, 'ben@clinic.example', 'employee');
  const anna = await fixture.app.users.findByEmail('anna@clinic.example');
  const ben = await fixture.app.users.findByEmail('ben@clinic.example');
  const set = await runCli(
    [
      'distribution',
      'set',
      '--strategy',
      'fixed-order',
      '--order',
      'ben@clinic.example,anna@clinic.example',
      '--wrap-up',
      '10',
      '--auto-pause',
      '2',
      '--ring-timeout',
      '3',
    ],
    env,
  );
  assert.is(set.code, 0, set.stderr);
  assert.match(set.stdout, /^Distribution settings saved; the next call follows them:\n/);
  assert.match(set.stdout, /Fixed order: {3}.*<ben@clinic\.example>, .*<anna@clinic\.example>\n/);
  assert.match(set.stdout, /Auto-pause: {4}after 2 unanswered rings in a row/);
  const expected: DistributionSettings = {
    strategy: 'fixed-order',
    fixedOrder: [ben!.id, anna!.id],
    wrapUpSeconds: 10,
    autoPauseAfter: 2,
    ringTimeoutSeconds: 3,
  };
  assert.equal(await fixture.app.distribution.get(), expected);

  // Only what is given changes; "default" gives the ring timeout back to RING_TIMEOUT_SECONDS.
  const again = await runCli(['distribution', 'set', '--wrap-up', '0', '--ring-timeout', 'default'], env);
  assert.is(again.code, 0, again.stderr);
  const { ringTimeoutSeconds: _timeout, ...rest } = expected;
  assert.equal(await fixture.app.distribution.get(), { ...rest, wrapUpSeconds: 0 });
  assert.equal(JSON.parse((await runCli(['distribution', 'show', '--json'], env)).stdout), {
    ...rest,
    wrapUpSeconds: 0,
  });
});

test('bad values are refused with the problem and a non-zero exit; nothing changes', async () => {
  assert.is((await runCli(['distribution', 'set', '--wrap-up', '5'], env)).code, 0);
  const before = await fixture.db.hgetall(RedisKeys.distribution);
  const cases: Array<[string[], number, RegExp]> = [
    [['--wrap-up', '601'], 1, /not saved:\n {2}- \/wrapUpSeconds: Expected integer to be less or equal to 600/],
    [['--auto-pause=-1'], 2, /--auto-pause must be a whole number\./],
    [['--ring-timeout', '1'], 1, /- \/ringTimeoutSeconds: Expected integer to be greater or equal to 2/],
    [['--ring-timeout', 'soon'], 2, /--ring-timeout must be a whole number\./],
    [['--strategy', 'ring-all'], 1, /- \/strategy: /],
    [['--order', 'nobody@clinic.example'], 1, /No user with the email nobody@clinic\.example\./],
  ];
  for (const [args, code, message] of cases) {
    const result = await runCli(['distribution', 'set', ...args], env);
    assert.is(result.code, code, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
  }
  assert.equal(await fixture.db.hgetall(RedisKeys.distribution), before);
});

test.run();
