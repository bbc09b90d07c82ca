/**
 * Callbacks through the real call path: Redis, Kamailio, rtpengine and the sip app are real
 * processes; the patient's phone behind the outbound trunk is a SIP peer over UDP at OUTBOUND_TRUNK
 * (the test decides when it rings, answers, is busy or hangs up); the browser's side is SIP over
 * WebSocket with a WebRTC-shaped offer. The grant is written as signaling writes it. Audio through a
 * real browser: tests/e2e/sip/callback-audio.test.ts.
 */
import { spawn } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type CallbackView } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { freePort } from '@deskline/scripts/free-port';
import { waitFor } from '../../helpers/wait.js';
import { CLINIC_NUMBER, startCallPath, type CallPath } from '../../helpers/call-path.js';
import { CALLBACK_NUMBER, CallbackBrowser, callbackEvents, grantCallback } from '../../helpers/callback-browser.js';
import { patientSdp } from '../../helpers/patient-line.js';
import { TrunkPhone } from '../../helpers/trunk-phone.js';

const TIMEOUT = 10_000;
const RING_SECONDS = 2;
const SIP_USER = 'ws-reception-1';

interface Context {
  path: CallPath;
  trunkPort: number;
  trunk: TrunkPhone;
  browser: CallbackBrowser;
}

const test = suite<Context>('callbacks');

test.before(async (context) => {
  const trunkPort = await freePort('127.0.0.1', ['udp']);
  context.trunkPort = trunkPort;
  context.path = await startCallPath({
    appEnv: {
      SKIP_INTRO: 'true',
      OUTBOUND_TRUNK: `127.0.0.1:${trunkPort}`,
      CALLBACK_RING_SECONDS: String(RING_SECONDS),
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

function grant(context: Context, sipUser = SIP_USER) {
  return grantCallback(context.path.redis, { domain: context.path.kamailio.domain, sipUser });
}

/** The callback is over in Redis: ended with `outcome` after `states`, its lock gone, kept for the statistics. */
async function assertEnded(
  context: Context,
  callbackId: string,
  taskId: string,
  outcome: string,
  states: string[],
  mayMiss: string[] = [],
): Promise<CallbackView> {
  const { redis } = context.path;
  const ended = await waitFor(
    'the callback to end',
    async () => (await callbackEvents(redis, callbackId)).find((v) => v.state === 'ended'),
    TIMEOUT,
  );
  assert.is(ended.outcome, outcome);
  assert.ok(ended.endedAt && ended.endedAt >= ended.startedAt);
  const seen: string[] = (await callbackEvents(redis, callbackId)).map((v) => v.state);
  const expected = states.filter((state) => !mayMiss.includes(state) || seen.includes(state));
  assert.equal(seen, expected);
  assert.is(await redis.exists(RedisKeys.taskCallback(taskId)), 0, 'the task is unlocked');
  const stored = JSON.parse((await redis.get(RedisKeys.callback(callbackId))) ?? '{}') as CallbackView;
  assert.equal(stored, ended, 'callback:<id> holds the last view');
  const ttlDays = (await redis.pttl(RedisKeys.callback(callbackId))) / 86_400_000;
  assert.ok(ttlDays > 89 && ttlDays <= 90, `callback:<id> kept ${ttlDays} days`);
  assert.is(Number(await redis.zscore(RedisKeys.callbacks, callbackId)), ended.startedAt);
  await waitFor('rtpengine to hold no call', async () => (await context.path.rtpengine.list()).length === 0, TIMEOUT);
  return ended;
}

test("the patient answers: the trunk is called at the grant's number from the clinic line, the browser gets 100, 180 and 200, events dialing, ringing, answered; the employee's BYE ends it (answered) and frees the task", async (context) => {
  const { redis } = context.path;
  const { grant: granted, target } = await grant(context);
  const call = await context.browser.call(target);
  await call.provisional(100);
  const atTrunk = await context.trunk.nextCall(TIMEOUT);
  const toTrunkMs = atTrunk.at - call.sentAt;
  assert.is(atTrunk.number, CALLBACK_NUMBER, "the grant's number");
  assert.match(
    atTrunk.invite.uri ?? '',
    new RegExp(`@127\\.0\\.0\\.1:${context.trunk.endpoint.localPort}$`),
    'at OUTBOUND_TRUNK',
  );
  assert.match(atTrunk.invite.body, /RTP\/AVP/, 'plain RTP towards the trunk');
  assert.not.match(atTrunk.invite.body, /a=(ice-ufrag|fingerprint|msid|ssrc|rtcp-fb)/);
  assert.match(atTrunk.invite.body, /PCMU\/8000/);
  assert.match(
    atTrunk.invite.headers.find(([n]) => n.toLowerCase() === 'from')?.[1] ?? '',
    new RegExp(`sip:${CLINIC_NUMBER}@`),
    'the patient sees the clinic line',
  );

  atTrunk.ring();
  await call.provisional(180, TIMEOUT);
  const ringingMs = Date.now() - call.sentAt;
  await waitFor(
    'the ringing event',
    async () => (await callbackEvents(redis, granted.callbackId)).some((v) => v.state === 'ringing'),
    TIMEOUT,
  );
  const ack = atTrunk.answer(patientSdp(40_000));
  const ok = await call.final(TIMEOUT);
  await ack;
  assert.is(ok.status, 200, ok.startLine);
  assert.match(ok.body, /UDP\/TLS\/RTP\/SAVPF/, 'the browser gets a WebRTC answer');
  assert.match(ok.body, /a=fingerprint:/);
  assert.match(ok.body, /a=ice-ufrag:/);
  console.log(
    `  browser INVITE -> INVITE at the trunk: ${toTrunkMs} ms; -> 180 at the browser (trunk rings at once): ${ringingMs} ms`,
  );

  const answered = await waitFor(
    'the answered event',
    async () => (await callbackEvents(redis, granted.callbackId)).find((v) => v.state === 'answered'),
    TIMEOUT,
  );
  assert.ok(answered.answeredAt);
  const lockTtl = await redis.ttl(RedisKeys.taskCallback(granted.taskId));
  assert.ok(lockTtl > 30, `the lock was extended beyond the grant's 30 s: ${lockTtl} s`);
  assert.is(await redis.get(RedisKeys.taskCallback(granted.taskId)), granted.callbackId);

  const byeAnswer = call.hangUp();
  await atTrunk.waitForBye(TIMEOUT);
  assert.is((await byeAnswer).status, 200);
  const ended = await assertEnded(context, granted.callbackId, granted.taskId, 'answered', [
    'dialing',
    'ringing',
    'answered',
    'ended',
  ]);
  assert.equal(
    { taskId: ended.taskId, number: ended.number, userId: ended.userId, workstationId: ended.workstationId },
    { taskId: granted.taskId, number: granted.number, userId: granted.userId, workstationId: granted.workstationId },
  );

  // A token works once.
  const calls = context.trunk.calls;
  const again = await (await context.browser.call(target)).final();
  assert.is(again.status, 404, again.startLine);
  assert.is(context.trunk.calls, calls, 'nothing reached the trunk');
  assert.is((await callbackEvents(redis, granted.callbackId)).length, 4, 'no second callback');
});

test('the patient hangs up: the browser gets BYE, the callback ends answered', async (context) => {
  const { grant: granted, target } = await grant(context);
  const call = await context.browser.call(target);
  const atTrunk = await context.trunk.nextCall(TIMEOUT);
  const ack = atTrunk.answer(patientSdp(40_002));
  assert.is((await call.final(TIMEOUT)).status, 200);
  await ack;
  await waitFor(
    'the answered event',
    async () => (await callbackEvents(context.path.redis, granted.callbackId)).some((v) => v.state === 'answered'),
    TIMEOUT,
  );
  const byeAnswer = atTrunk.hangUp();
  await call.waitForBye(TIMEOUT);
  assert.is((await byeAnswer).status, 200);
  await assertEnded(context, granted.callbackId, granted.taskId, 'answered', ['dialing', 'answered', 'ended']);
});

test('an INVITE from another workstation than the granted one is refused 403, and spends the token', async (context) => {
  const { redis, kamailio } = context.path;
  const { grant: granted, target } = await grant(context, 'ws-reception-2');
  const calls = context.trunk.calls;
  const response = await (await context.browser.call(target)).final();
  assert.is(response.status, 403, response.startLine);
  const owner = await CallbackBrowser.connect(kamailio, 'ws-reception-2');
  try {
    assert.is((await (await owner.call(target)).final()).status, 404, 'the grant is gone');
  } finally {
    await owner.close();
  }
  assert.equal(await callbackEvents(redis, granted.callbackId), [], 'no callback was started');
  assert.is(context.trunk.calls, calls, 'nothing reached the trunk');
});

test('a token nobody granted (or expired) is refused 404', async (context) => {
  const response = await (
    await context.browser.call(`sip:cb-${'0'.repeat(32)}@${context.path.kamailio.domain}`)
  ).final();
  assert.is(response.status, 404, response.startLine);
});

for (const [status, reason, rings, outcome, toBrowser] of [
  [486, 'Busy Here', false, 'busy', 486],
  [600, 'Busy Everywhere', false, 'busy', 486],
  [603, 'Decline', true, 'rejected', 603],
  [480, 'Temporarily Unavailable', false, 'no-answer', 480],
  [408, 'Request Timeout', true, 'no-answer', 480],
  // Kamailio's own answer when the trunk does not answer at all.
  [408, 'Request Timeout', false, 'failed', 408],
  [404, 'Not Found', false, 'failed', 404],
  [500, 'Server Internal Error', false, 'failed', 500],
  [407, 'Proxy Authentication Required', false, 'failed', 502],
] as const) {
  test(`the trunk answers ${status}${rings ? ' after ringing' : ''}: the browser gets ${toBrowser}, the callback ends ${outcome}`, async (context) => {
    const { grant: granted, target } = await grant(context);
    const call = await context.browser.call(target);
    const atTrunk = await context.trunk.nextCall(TIMEOUT);
    if (rings) {
      atTrunk.ring();
      await call.provisional(180, TIMEOUT);
    }
    await atTrunk.refuse(status, reason);
    const response = await call.final(TIMEOUT);
    assert.is(response.status, toBrowser, response.startLine);
    await assertEnded(
      context,
      granted.callbackId,
      granted.taskId,
      outcome,
      rings ? ['dialing', 'ringing', 'ended'] : ['dialing', 'ended'],
    );
  });
}

test('nobody answers within CALLBACK_RING_SECONDS: the trunk gets CANCEL, the browser 480, the callback ends no-answer', async (context) => {
  const { grant: granted, target } = await grant(context);
  const call = await context.browser.call(target);
  const atTrunk = await context.trunk.nextCall(TIMEOUT);
  atTrunk.ring();
  await call.provisional(180, TIMEOUT);
  const cancelled = atTrunk.waitForCancel(RING_SECONDS * 1000 + TIMEOUT);
  const response = await call.final(RING_SECONDS * 1000 + TIMEOUT);
  const rang = Date.now() - atTrunk.at;
  assert.is(response.status, 480, response.startLine);
  await cancelled;
  // The sip app's ring timer starts when it sends the INVITE, a little before the trunk's clock
  // (atTrunk.at) sees it, and Node's timers and Date.now() differ by up to a millisecond: 1999 ms
  // measured here is a ring of RING_SECONDS.
  assert.ok(rang >= RING_SECONDS * 1000 - 50 && rang < RING_SECONDS * 1000 + 1000, `ended after ${rang} ms`);
  await assertEnded(context, granted.callbackId, granted.taskId, 'no-answer', ['dialing', 'ringing', 'ended']);
});

test("the employee hangs up while the patient's phone rings: CANCEL reaches the trunk, the browser gets 487, the callback ends cancelled", async (context) => {
  const { grant: granted, target } = await grant(context);
  const call = await context.browser.call(target);
  const atTrunk = await context.trunk.nextCall(TIMEOUT);
  atTrunk.ring();
  await call.provisional(180, TIMEOUT);
  const cancel = call.cancel();
  assert.is((await context.browser.endpoint.finalResponse(cancel)).status, 200);
  assert.is((await call.final()).status, 487);
  await atTrunk.waitForCancel(TIMEOUT);
  await assertEnded(context, granted.callbackId, granted.taskId, 'cancelled', ['dialing', 'ringing', 'ended']);
});

test("the sip app stops (SIGTERM) while the patient's phone rings: CANCEL to the trunk, 503 to the browser, the callback ends failed and frees the task", async (context) => {
  const { grant: granted, target } = await grant(context);
  const call = await context.browser.call(target);
  const atTrunk = await context.trunk.nextCall(TIMEOUT);
  atTrunk.ring();
  await call.provisional(180, TIMEOUT);
  const cancelled = atTrunk.waitForCancel(TIMEOUT);
  const stopped = context.path.app.stop();
  assert.is((await call.final(TIMEOUT)).status, 503);
  await cancelled;
  assert.is((await stopped).code, 0);
  await assertEnded(context, granted.callbackId, granted.taskId, 'failed', ['dialing', 'ringing', 'ended']);
  await context.path.startApp();
});

test('the sip app crashes during an answered callback: once its lock has expired, the next instance records it ended (failed) and frees its media', async (context) => {
  const { redis } = context.path;
  const { grant: granted, target } = await grant(context);
  const call = await context.browser.call(target);
  const atTrunk = await context.trunk.nextCall(TIMEOUT);
  const ack = atTrunk.answer(patientSdp(40_004));
  assert.is((await call.final(TIMEOUT)).status, 200);
  await ack;
  await waitFor(
    'the answered event',
    async () => (await callbackEvents(redis, granted.callbackId)).some((v) => v.state === 'answered'),
    TIMEOUT,
  );
  await context.path.crashApp();
  const ttl = await redis.ttl(RedisKeys.taskCallback(granted.taskId));
  assert.ok(ttl > 0 && ttl <= 60, `the lock expires on its own within a minute: ${ttl} s`);
  // Its expiry, without waiting for it.
  await redis.del(RedisKeys.taskCallback(granted.taskId));
  await context.path.startApp();
  await assertEnded(context, granted.callbackId, granted.taskId, 'failed', ['dialing', 'answered', 'ended']);
});

test("the README's tester path: sipp -sn uas at OUTBOUND_TRUNK answers a callback, and the employee's hang-up reaches it", async (context) => {
  // sipp takes the trunk's port; Kamailio's retransmissions of the INVITE cover sipp's start.
  await context.trunk.close();
  const sipp = new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(
      'sipp',
      [
        '-sn',
        'uas',
        '-i',
        '127.0.0.1',
        '-p',
        String(context.trunkPort),
        '-m',
        '1',
        '-nostdin',
        '-timeout',
        '20s',
        '-timeout_error',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
  const { grant: granted, target } = await grant(context);
  const call = await context.browser.call(target);
  const ok = await call.final(TIMEOUT);
  assert.is(ok.status, 200, ok.startLine);
  await waitFor(
    'the answered event',
    async () => (await callbackEvents(context.path.redis, granted.callbackId)).some((v) => v.state === 'answered'),
    TIMEOUT,
  );
  assert.is((await call.hangUp()).status, 200);
  const result = await sipp;
  if (result.code !== 0) console.log(result.output.slice(-6000));
  assert.is(result.code, 0);
  // sipp's uas sends its 180 and 200 back to back over UDP, and Kamailio's UDP workers may relay the
  // 200 first: the sip app then never sees the 180 (after a final answer it is stale), and the
  // callback goes from dialing straight to answered, which its machine allows.
  await assertEnded(
    context,
    granted.callbackId,
    granted.taskId,
    'answered',
    ['dialing', 'ringing', 'answered', 'ended'],
    ['ringing'],
  );
});

test.run();
