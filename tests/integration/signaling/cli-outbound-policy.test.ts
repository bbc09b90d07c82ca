/**
 * `deskline outbound-policy` (docs/security.md, "Callbacks: the outbound policy"): clinic IT reads,
 * changes and resets the callback policy from the command line, through the same store as the API,
 * and asks whether a number may be called back.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type OutboundPolicy } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { runCli } from '../../helpers/cli.js';
import { useFreshApp } from '../../helpers/signaling.js';

const fixture = useFreshApp(test, { CLINIC_COUNTRY: 'PL' });
let env: NodeJS.ProcessEnv;

test.before(() => {
  env = { REDIS_URL: fixture.redisUrl, CLINIC_COUNTRY: 'PL' };
});

test("show, set, check and reset: the API and Kamailio's prefixes follow; a bad policy is refused with a message and exit 1", async () => {
  const shown = await runCli(['outbound-policy', 'show'], env);
  assert.is(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /Allowed prefixes: \+48\n/);
  assert.match(
    shown.stdout,
    /Kinds allowed: {4}FIXED_LINE \(geographic \(landline\)\), MOBILE \(mobile\), FIXED_LINE_OR_MOBILE/,
  );

  const set = await runCli(
    ['outbound-policy', 'set', '--allow', '+48,+420', '--deny', '+4870', '--per-day', '7', '--max-seconds', '600'],
    env,
  );
  assert.is(set.code, 0, set.stderr);
  const policy = (await fixture.app.outboundPolicy.get()) satisfies OutboundPolicy;
  assert.equal(policy, {
    allowedPrefixes: ['+420', '+48'],
    deniedPrefixes: ['+4870'],
    allowedTypes: ['FIXED_LINE', 'MOBILE', 'FIXED_LINE_OR_MOBILE'],
    maxCallbacksPerDay: 7,
    maxDurationSeconds: 600,
  });
  assert.equal(await fixture.db.hgetall(RedisKeys.outboundPrefixes), {
    '+420': 'allow',
    '+48': 'allow',
    '+4870': 'deny',
  });

  const premium = await runCli(['outbound-policy', 'check', '--number', '+48701234567'], env);
  assert.is(premium.code, 1);
  assert.is(
    premium.stdout.trim(),
    "Refused: +48701234567 is outside the clinic's callback policy: numbers starting with +4870 are not allowed.",
  );
  const mobile = await runCli(['outbound-policy', 'check', '--number', '601234567'], env);
  assert.is(mobile.code, 0, mobile.stderr);
  assert.is(mobile.stdout.trim(), 'Allowed: +48601234567 (mobile) can be called back.');

  const bad = await runCli(['outbound-policy', 'set', '--allow', '48'], env);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /"48" is not an E\.164 prefix/);
  const badType = await runCli(['outbound-policy', 'set', '--types', 'MOBILE,EVERYTHING'], env);
  assert.is(badType.code, 2);
  assert.match(badType.stderr, /Unknown kind of number "EVERYTHING"/);
  assert.equal((await fixture.app.outboundPolicy.get()).allowedPrefixes, ['+420', '+48'], 'unchanged');

  const reset = await runCli(['outbound-policy', 'reset'], env);
  assert.is(reset.code, 0, reset.stderr);
  assert.equal(await fixture.db.hgetall(RedisKeys.outboundPrefixes), { '+48': 'allow' });
  assert.is((await fixture.app.outboundPolicy.get()).maxCallbacksPerDay, 50);
});

test.run();
