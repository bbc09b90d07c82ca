/**
 * An answered callback's patient whose line drops without a BYE: the sip app asks the trunk leg
 * with the patients' in-dialog OPTIONS keepalive (PATIENT_KEEPALIVE_SECONDS); Kamailio answers 408
 * when the phone does not answer within its fr_timer (10 s), and the callback ends as if the patient
 * had hung up: BYE to the browser, outcome `answered`, the task unlocked, rtpengine released.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisKeys } from '@deskline/store';
import { freePort } from '@deskline/scripts/free-port';
import { waitFor } from '../../helpers/wait.js';
import { startCallPath, type CallPath } from '../../helpers/call-path.js';
import {
  CallbackBrowser,
  callbackEvents,
  grantCallback,
  type BrowserCallbackCall,
} from '../../helpers/callback-browser.js';
import { patientSdp } from '../../helpers/patient-line.js';
import { TrunkPhone, type TrunkCall } from '../../helpers/trunk-phone.js';

const TIMEOUT = 10_000;
const KEEPALIVE_SECONDS = 1;
/** Kamailio's tm fr_timer: how long it waits for the phone before it answers our OPTIONS 408 itself. */
const KAMAILIO_FR_TIMER_MS = 10_000;
/** From the cut to the BYE at the browser: up to one keepalive interval, then Kamailio's timer, and some slack. */
const NOTICED_WITHIN_MS = KEEPALIVE_SECONDS * 1000 + KAMAILIO_FR_TIMER_MS + 3_000;
const SIP_USER = 'ws-reception-1';

interface Context {
  path: CallPath;
  trunk: TrunkPhone;
  browser: CallbackBrowser;
}

const test = suite<Context>('an answered callback whose patient vanishes');

test.before(async (context) => {
  const trunkPort = await freePort('127.0.0.1', ['udp']);
  context.path = await startCallPath({
    appEnv: {
      SKIP_INTRO: 'true',
      OUTBOUND_TRUNK: `127.0.0.1:${trunkPort}`,
      PATIENT_KEEPALIVE_SECONDS: String(KEEPALIVE_SECONDS),
    },
  });
  context.trunk = await TrunkPhone.open(context.path.kamailioPort, trunkPort);
  context.browser = await CallbackBrowser.connect(context.path.kamailio, SIP_USER);
});

test.after(async (context) => {
  await context.browser?.close();
  await context.trunk?.close().catch(() => undefined);
  await context.path?.stop();
});

/** A callback the patient answered. */
async function answeredCallback(
  context: Context,
  rtpPort: number,
): Promise<{ call: BrowserCallbackCall; atTrunk: TrunkCall; callbackId: string; taskId: string }> {
  const { grant, target } = await grantCallback(context.path.redis, {
    domain: context.path.kamailio.domain,
    sipUser: SIP_USER,
  });
  const call = await context.browser.call(target);
  const atTrunk = await context.trunk.nextCall(TIMEOUT);
  const ack = atTrunk.answer(patientSdp(rtpPort));
  assert.is((await call.final(TIMEOUT)).status, 200);
  await ack;
  await waitFor(
    'the answered event',
    async () => (await callbackEvents(context.path.redis, grant.callbackId)).some((v) => v.state === 'answered'),
    TIMEOUT,
  );
  return { call, atTrunk, callbackId: grant.callbackId, taskId: grant.taskId };
}

async function assertEndedAnswered(context: Context, callbackId: string, taskId: string): Promise<void> {
  const { redis } = context.path;
  const ended = await waitFor(
    'the callback to end',
    async () => (await callbackEvents(redis, callbackId)).find((v) => v.state === 'ended'),
    TIMEOUT,
  );
  assert.is(ended.outcome, 'answered');
  assert.equal(
    (await callbackEvents(redis, callbackId)).map((v) => v.state),
    ['dialing', 'answered', 'ended'],
  );
  assert.is(await redis.exists(RedisKeys.taskCallback(taskId)), 0, 'the task is unlocked');
  await waitFor('rtpengine to hold no call', async () => (await context.path.rtpengine.list()).length === 0, TIMEOUT);
}

test('a patient whose phone answers the keepalives stays on the line across more than three of them', async (context) => {
  const { call, atTrunk, callbackId, taskId } = await answeredCallback(context, 41_000);
  await new Promise((resolve) => setTimeout(resolve, 4.5 * KEEPALIVE_SECONDS * 1000));
  const options = context.trunk.optionsIn(atTrunk.callId);
  assert.ok(options >= 3, `${options} keepalives reached the phone`);
  assert.is(
    context.browser.endpoint.received.filter(
      (m) => m.method === 'BYE' && m.headers.some(([n, v]) => n.toLowerCase() === 'call-id' && v === call.callId),
    ).length,
    0,
    'no BYE to the browser',
  );
  assert.is((await callbackEvents(context.path.redis, callbackId)).at(-1)?.state, 'answered', 'still on the line');
  console.log(`  ${options} keepalives answered in ${4.5 * KEEPALIVE_SECONDS} s; the callback is still up`);
  const byeAnswer = call.hangUp();
  await atTrunk.waitForBye(TIMEOUT);
  assert.is((await byeAnswer).status, 200);
  await assertEndedAnswered(context, callbackId, taskId);
});

test("the patient's phone stops answering (no BYE): within a keepalive and Kamailio's fr_timer the browser gets BYE, the callback ends answered and frees the task", async (context) => {
  const { call, callbackId, taskId } = await answeredCallback(context, 41_002);
  context.trunk.stopAnsweringOptions();
  const cut = Date.now();
  try {
    await call.waitForBye(NOTICED_WITHIN_MS);
    const noticedMs = Date.now() - cut;
    console.log(
      `  phone silent -> BYE at the browser: ${(noticedMs / 1000).toFixed(1)} s (keepalive ${KEEPALIVE_SECONDS} s)`,
    );
    await assertEndedAnswered(context, callbackId, taskId);
    const ended = await context.path.app.waitForLog(
      'the callback end log',
      (line) => line.msg === 'callback ended' && line['callbackId'] === callbackId,
    );
    assert.is(ended['reason'], 'patient-vanished');
  } finally {
    context.trunk.endpoint.answerAutomatically('OPTIONS', 200, 'OK');
  }
});

test("the browser's WebSocket closes during an answered callback (no BYE): the keepalive towards the browser notices, the patient gets BYE, the callback ends answered and frees the task", async (context) => {
  const { kamailio, redis } = context.path;
  const browser = await CallbackBrowser.connect(kamailio, SIP_USER);
  const { grant, target } = await grantCallback(redis, { domain: kamailio.domain, sipUser: SIP_USER });
  const call = await browser.call(target);
  const atTrunk = await context.trunk.nextCall(TIMEOUT);
  const ack = atTrunk.answer(patientSdp(41_006));
  assert.is((await call.final(TIMEOUT)).status, 200);
  await ack;
  await waitFor(
    'the answered event',
    async () => (await callbackEvents(redis, grant.callbackId)).some((v) => v.state === 'answered'),
    TIMEOUT,
  );
  await new Promise((resolve) => setTimeout(resolve, 2.5 * KEEPALIVE_SECONDS * 1000));
  assert.ok(
    browser.endpoint.received.some((m) => m.method === 'OPTIONS'),
    'the browser is asked too',
  );
  await browser.close();
  const cut = Date.now();
  await atTrunk.waitForBye(NOTICED_WITHIN_MS);
  const noticedMs = Date.now() - cut;
  console.log(
    `  browser WebSocket closed -> BYE at the patient: ${(noticedMs / 1000).toFixed(1)} s (keepalive ${KEEPALIVE_SECONDS} s)`,
  );
  await assertEndedAnswered(context, grant.callbackId, grant.taskId);
  const ended = await context.path.app.waitForLog(
    'the callback end log',
    (line) => line.msg === 'callback ended' && line['callbackId'] === grant.callbackId,
  );
  assert.is(ended['reason'], 'browser-vanished');
});

// Last: the phone's socket is gone for good.
test("the patient's phone closes its socket (no BYE): the browser gets BYE, the callback ends answered and frees the task", async (context) => {
  const { call, callbackId, taskId } = await answeredCallback(context, 41_004);
  await context.trunk.close();
  const cut = Date.now();
  await call.waitForBye(NOTICED_WITHIN_MS);
  const noticedMs = Date.now() - cut;
  console.log(
    `  phone socket closed -> BYE at the browser: ${(noticedMs / 1000).toFixed(1)} s (keepalive ${KEEPALIVE_SECONDS} s)`,
  );
  await assertEndedAnswered(context, callbackId, taskId);
  const ended = await context.path.app.waitForLog(
    'the callback end log',
    (line) => line.msg === 'callback ended' && line['callbackId'] === callbackId,
  );
  assert.is(ended['reason'], 'patient-vanished');
});

test.run();
