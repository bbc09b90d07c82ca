/**
 * The outbound policy as the employee meets it in the web app's own Softphone (headless Chromium,
 * web/src/services/softphone.ts), on the real call path (Kamailio, rtpengine, the sip app, a SIP peer
 * at OUTBOUND_TRUNK): a grant the policy refuses when the sip app dials, and an answered callback
 * hung up at the policy's longest duration, each ends with words saying why
 * (docs/security.md, "Callbacks: the outbound policy").
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OutboundPolicyStore } from '@deskline/outbound-policy';
import { MAX_DURATION_BYE_REASON, type Workstation } from '@deskline/protocol';
import { freePort } from '@deskline/scripts/free-port';
import { workstationCredentials } from '../../helpers/kamailio.js';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { startCallPath, type CallPath } from '../../helpers/call-path.js';
import { CALLBACK_NUMBER, grantCallback } from '../../helpers/callback-browser.js';
import { patientSdp } from '../../helpers/patient-line.js';
import { header } from '../../helpers/sip-message.js';
import { TrunkPhone } from '../../helpers/trunk-phone.js';
import { PhonePageServer, SoftphonePage } from '../../helpers/browser-phone.js';

const TIMEOUT = 10_000;
const MAX_SECONDS = 5;
const WORKSTATION: Workstation = { id: 'reception-1', name: 'Reception 1', kind: 'browser' };

interface Context {
  path: CallPath;
  trunk: TrunkPhone;
  pages: PhonePageServer;
  browser: TestBrowser;
  phone: SoftphonePage;
  policy: OutboundPolicyStore;
}

const test = suite<Context>('the callback policy in the softphone');

test.before(async (context) => {
  const trunkPort = await freePort('127.0.0.1', ['udp']);
  context.path = await startCallPath({ appEnv: { SKIP_INTRO: 'true', OUTBOUND_TRUNK: `127.0.0.1:${trunkPort}` } });
  context.trunk = await TrunkPhone.open(context.path.kamailioPort, trunkPort);
  context.pages = await PhonePageServer.start();
  context.browser = await launchBrowser();
  const { kamailio } = context.path;
  const credentials = await workstationCredentials(kamailio, WORKSTATION.id);
  context.phone = await SoftphonePage.register(
    context.browser.context,
    context.pages.url,
    WORKSTATION,
    credentials,
    TIMEOUT,
  );
  context.policy = new OutboundPolicyStore(context.path.redis, 'PL');
});

test.after(async (context) => {
  await context.browser?.close();
  await context.pages?.close();
  await context.trunk?.close();
  await context.path?.stop();
});

test('a number the policy refuses when the sip app dials: the softphone says the policy does not allow it; nothing reaches the trunk', async (context) => {
  const { path, trunk, phone } = context;
  const { target } = await grantCallback(path.redis, {
    domain: path.kamailio.domain,
    sipUser: `ws-${WORKSTATION.id}`,
    number: '+48701234567',
  });
  const calls = trunk.calls;
  assert.ok(await phone.call(target, '+48701234567'));
  const ended = await phone.waitForCall('ended', "call.state === 'ended'", TIMEOUT);
  assert.is(ended.endReason, "The clinic's callback policy does not allow calling this number.");
  assert.is(trunk.calls, calls);
  await phone.reset();
});

test('the longest callback: both sides get a BYE with the reason, and the softphone says why the call ended', async (context) => {
  const { path, trunk, phone, policy } = context;
  await policy.set({ ...(await policy.get()), maxDurationSeconds: MAX_SECONDS });
  const { target } = await grantCallback(path.redis, { domain: path.kamailio.domain, sipUser: `ws-${WORKSTATION.id}` });
  assert.ok(await phone.call(target, CALLBACK_NUMBER));
  const atTrunk = await trunk.nextCall(TIMEOUT);
  await atTrunk.answer(patientSdp(40_020));
  const inCall = await phone.waitForCall('in call', "call.state === 'in-call'", TIMEOUT);
  const bye = await atTrunk.waitForBye(MAX_SECONDS * 1000 + TIMEOUT);
  assert.is(header(bye, 'reason'), MAX_DURATION_BYE_REASON);
  const ended = await phone.waitForCall('ended', "call.state === 'ended'", MAX_SECONDS * 1000 + TIMEOUT);
  console.log(`  in call -> ended in the browser: ${ended.at - inCall.at} ms (max ${MAX_SECONDS} s)`);
  assert.is(ended.endReason, "The call reached the longest callback the clinic's policy allows.");
  assert.ok(
    ended.at - inCall.at >= MAX_SECONDS * 1000 - 500 && ended.at - inCall.at < MAX_SECONDS * 1000 + 1500,
    `${ended.at - inCall.at} ms`,
  );
  await phone.reset();
});

test.run();
