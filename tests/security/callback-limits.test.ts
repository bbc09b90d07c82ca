/**
 * The outbound policy where the sip app dials (docs/security.md, "Callbacks: the outbound policy"),
 * through the real call path: Redis, Kamailio, rtpengine and the sip app are real processes, the
 * patient's phone is a SIP peer at OUTBOUND_TRUNK and the browser plays SIP over WebSocket (as in
 * tests/integration/sip/callback.test.ts). An answered callback is hung up on both sides at the
 * policy's longest duration; a grant for a number the policy refuses (written straight into Redis,
 * as if signaling had been bypassed, or after the policy changed) never reaches the trunk.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OutboundPolicyStore } from '@deskline/outbound-policy';
import { MAX_DURATION_BYE_REASON } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { freePort } from '@deskline/scripts/free-port';
import { startCallPath, type CallPath } from '../helpers/call-path.js';
import { CALLBACK_NUMBER, CallbackBrowser, callbackEvents, grantCallback } from '../helpers/callback-browser.js';
import { patientSdp } from '../helpers/patient-line.js';
import { header } from '../helpers/sip-message.js';
import { TrunkPhone } from '../helpers/trunk-phone.js';
import { waitFor } from '../helpers/wait.js';

const TIMEOUT = 10_000;
const MAX_SECONDS = 5;
const SIP_USER = 'ws-reception-1';

interface Context {
  path: CallPath;
  trunk: TrunkPhone;
  browser: CallbackBrowser;
  policy: OutboundPolicyStore;
}

const test = suite<Context>('callback limits');

test.before(async (context) => {
  const trunkPort = await freePort('127.0.0.1', ['udp']);
  context.path = await startCallPath({
    appEnv: { SKIP_INTRO: 'true', OUTBOUND_TRUNK: `127.0.0.1:${trunkPort}`, CLINIC_COUNTRY: 'PL' },
  });
  context.trunk = await TrunkPhone.open(context.path.kamailioPort, trunkPort);
  context.browser = await CallbackBrowser.connect(context.path.kamailio, SIP_USER);
  context.policy = new OutboundPolicyStore(context.path.redis, 'PL');
});

test.after(async (context) => {
  await context.browser?.close();
  await context.trunk?.close().catch(() => undefined);
  await context.path?.stop();
});

test("the policy's longest callback: both the browser and the patient get a BYE at the maximum, the callback ends answered, reason max-duration", async (context) => {
  const { redis, app } = context.path;
  await context.policy.set({ ...(await context.policy.get()), maxDurationSeconds: MAX_SECONDS });
  const { grant, target } = await grantCallback(redis, { domain: context.path.kamailio.domain, sipUser: SIP_USER });
  const logsBefore = app.logs.length;
  const call = await context.browser.call(target);
  const atTrunk = await context.trunk.nextCall(TIMEOUT);
  assert.is(atTrunk.number, CALLBACK_NUMBER);
  const ack = atTrunk.answer(patientSdp(40_010));
  assert.is((await call.final(TIMEOUT)).status, 200);
  await ack;
  const answeredAt = Date.now();
  const [[atBrowser, browserBye], [atPatient, patientBye]] = await Promise.all([
    call.waitForBye(MAX_SECONDS * 1000 + TIMEOUT).then((bye) => [Date.now() - answeredAt, bye] as const),
    atTrunk.waitForBye(MAX_SECONDS * 1000 + TIMEOUT).then((bye) => [Date.now() - answeredAt, bye] as const),
  ]);
  for (const bye of [browserBye, patientBye])
    assert.is(header(bye, 'reason'), MAX_DURATION_BYE_REASON, 'the BYE says why (RFC 3326)');
  console.log(`  max ${MAX_SECONDS} s: BYE at the browser after ${atBrowser} ms, at the patient after ${atPatient} ms`);
  for (const ms of [atBrowser, atPatient])
    assert.ok(ms >= MAX_SECONDS * 1000 - 200 && ms < MAX_SECONDS * 1000 + 1000, `BYE after ${ms} ms`);
  const ended = await waitFor(
    'the callback to end',
    async () => (await callbackEvents(redis, grant.callbackId)).find((v) => v.state === 'ended'),
    TIMEOUT,
  );
  assert.is(ended.outcome, 'answered');
  const line = await app.waitForLog(
    'the callback ended',
    (l) => l['msg'] === 'callback ended' && l['callbackId'] === grant.callbackId,
    { from: logsBefore },
  );
  assert.is(line['reason'], 'max-duration');
  await waitFor('rtpengine to hold no call', async () => (await context.path.rtpengine.list()).length === 0, TIMEOUT);
});

for (const [number, why] of [
  ['+48701234567', 'premium rate'],
  ['+4915112345678', 'foreign'],
  ['*100#', 'a service code'],
] as const) {
  test(`a grant for ${number} (${why}) that did not come through signaling's check: the browser gets 403, nothing reaches the trunk`, async (context) => {
    const { redis } = context.path;
    const { grant, target } = await grantCallback(redis, {
      domain: context.path.kamailio.domain,
      sipUser: SIP_USER,
      number,
    });
    const calls = context.trunk.calls;
    const response = await (await context.browser.call(target)).final(TIMEOUT);
    assert.is(`${response.status} ${response.reason}`, '403 Outside Callback Policy');
    const ended = await waitFor(
      'the callback to end',
      async () => (await callbackEvents(redis, grant.callbackId)).find((v) => v.state === 'ended'),
      TIMEOUT,
    );
    assert.is(ended.outcome, 'failed');
    assert.is(await redis.exists(RedisKeys.taskCallback(grant.taskId)), 0, 'the task is unlocked');
    assert.is(context.trunk.calls, calls, 'nothing reached the trunk');
  });
}

test('the policy changed after the grant: the sip app checks the policy in force when it dials', async (context) => {
  const { redis } = context.path;
  const { grant, target } = await grantCallback(redis, { domain: context.path.kamailio.domain, sipUser: SIP_USER });
  await context.policy.set({ ...(await context.policy.get()), deniedPrefixes: ['+48601'] });
  try {
    const calls = context.trunk.calls;
    const response = await (await context.browser.call(target)).final(TIMEOUT);
    assert.is(`${response.status} ${response.reason}`, '403 Outside Callback Policy');
    assert.is(context.trunk.calls, calls, 'nothing reached the trunk');
    await waitFor(
      'the callback to end',
      async () => (await callbackEvents(redis, grant.callbackId)).some((v) => v.state === 'ended'),
      TIMEOUT,
    );
  } finally {
    await context.policy.set({ ...(await context.policy.get()), deniedPrefixes: [] });
  }
});

test.run();
