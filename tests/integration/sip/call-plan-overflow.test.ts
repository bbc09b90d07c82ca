/**
 * The call plan's overflow (issue 15, docs/call-plan.md "Overflow") through the real call path:
 * nobody who can take the queue on duty sends the call to plan.nobodyAvailable at once; the maximum
 * wait (counted from queuedAt, across rings that fail) to plan.overflow.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { agentAt, callPlanHooks, patientCalls, type CallPlanContext } from '../../helpers/call-plan-stack.js';
import { DEFAULT_CALL_PLAN } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { waitFor } from '../../helpers/wait.js';
import { HOLD_MUSIC_HZ, PROMPT_TONES, readCall } from '../../helpers/call-path.js';
import { isTone } from '../../helpers/patient-phone.js';

const RING_TIMEOUT_SECONDS = 2;
/** The shortest maximum wait a manager can set (MAX_WAIT_MIN_SECONDS). */
const MAX_WAIT_SECONDS = 30;

const test = suite<CallPlanContext>('call plan: the overflow');
callPlanHooks(test, { SKIP_INTRO: 'true', RING_TIMEOUT_SECONDS: String(RING_TIMEOUT_SECONDS) });

test('nobody logged in, nobodyAvailable closed-message: the closed prompt at once (no hold music), then the clinic hangs up', async (context) => {
  const { path, events, plans } = context;
  await plans.put({ ...DEFAULT_CALL_PLAN, nobodyAvailable: 'closed-message' });
  const { media, dialog, id } = await patientCalls(context);
  const closed = await events.waitFor({ callId: id, state: 'closed' });
  assert.is(closed.call.afterHours, undefined, 'an overflow, not outside the hours');
  await media.waitForTone(PROMPT_TONES.closed.hz, 3_000);
  await dialog.waitForBye(5_000);
  assert.not.ok(
    media.received.some((packet) => isTone(packet, HOLD_MUSIC_HZ)),
    'never waited',
  );
  assert.equal(events.states(id), ['intro', 'closed']);
  const view = await waitFor('the call to be over', async () => {
    const call = await readCall(path.redis, id);
    return call?.endedAt ? call : undefined;
  });
  assert.is(view.state, 'closed');
});

test('nobody logged in, nobodyAvailable callback-offer: the offer plays, the callback key asks for a callback', async (context) => {
  const { events, plans } = context;
  await plans.put({
    ...DEFAULT_CALL_PLAN,
    nobodyAvailable: 'callback-offer',
    keypad: { callbackDigit: '3', voicemailDigit: null },
  });
  const { media, dialog, id } = await patientCalls(context);
  await events.waitFor({ callId: id, state: 'offer' });
  await media.waitForTone(PROMPT_TONES['callback-offer'].hz, 3_000);
  await media.pressKey('3');
  await events.waitFor({ callId: id, state: 'callback-requested' });
  await media.waitForTone(PROMPT_TONES['callback-confirmed'].hz, 3_000);
  await dialog.waitForBye(5_000);
});

test('the callback offer without a key: after its second play the closed prompt, then the clinic hangs up (closed)', async (context) => {
  const { path, events, plans } = context;
  await plans.put({
    ...DEFAULT_CALL_PLAN,
    nobodyAvailable: 'callback-offer',
    keypad: { callbackDigit: '3', voicemailDigit: null },
  });
  const { media, dialog, id } = await patientCalls(context);
  const offer = await events.waitFor({ callId: id, state: 'offer' });
  const closed = await events.waitFor({ callId: id, state: 'closed' }, 6_000);
  const offerMs = closed.at - offer.at;
  assert.ok(offerMs >= 2 * PROMPT_TONES['callback-offer'].seconds * 1000 - 200, `offer for ${offerMs} ms`);
  await media.waitForTone(PROMPT_TONES.closed.hz, 3_000);
  await dialog.waitForBye(5_000);
  assert.is((await readCall(path.redis, id))?.state, 'closed');
});

test('someone on duty: the call waits (nobodyAvailable does not apply)', async (context) => {
  const { path, staff, events, plans } = context;
  await plans.put({ ...DEFAULT_CALL_PLAN, nobodyAvailable: 'closed-message' });
  const workstation = await staff.workstation('Front 9');
  context.users.push('carla');
  // On a workstation and unpaused, but not registered: on duty, yet nobody rings.
  await staff.available('carla', workstation.id);
  const { media, dialog, id } = await patientCalls(context);
  await events.waitFor({ callId: id, state: 'waiting' });
  await media.waitForTone(HOLD_MUSIC_HZ, 3_000);
  assert.ok(await path.redis.zscore(RedisKeys.waitingCalls, id));
  await dialog.hangUp();
});

test(`the maximum wait (${MAX_WAIT_SECONDS} s) counts from queuedAt across rings nobody answers, then the overflow`, async (context) => {
  const { events, plans } = context;
  await plans.put({ ...DEFAULT_CALL_PLAN, maxWaitSeconds: MAX_WAIT_SECONDS, overflow: 'closed-message' });
  const phone = await agentAt(context, 'dora', 'Front 10');
  const { media, dialog, id } = await patientCalls(context);
  const waiting = await events.waitFor({ callId: id, state: 'waiting' });
  // Dora's phone rings and is never answered: each ring ends after RING_TIMEOUT_SECONDS and she is rung again.
  await phone.nextInvite(3_000);
  const closed = await events.waitFor({ callId: id, state: 'closed' }, (MAX_WAIT_SECONDS + 10) * 1000);
  assert.is(closed.call.queuedAt, waiting.call.queuedAt, 'the place in the queue was kept across the rings');
  const waitedMs = closed.at - (waiting.call.queuedAt ?? 0);
  console.log(`  overflow after ${waitedMs} ms in the queue, ${phone.invites} rings`);
  assert.ok(waitedMs >= MAX_WAIT_SECONDS * 1000, `overflow after ${waitedMs} ms`);
  assert.ok(waitedMs <= (MAX_WAIT_SECONDS + RING_TIMEOUT_SECONDS + 2) * 1000, `overflow after ${waitedMs} ms`);
  assert.ok(phone.invites >= 2, 'rung more than once meanwhile');
  await media.waitForTone(PROMPT_TONES.closed.hz, 3_000);
  await dialog.waitForBye(5_000);
});

test.run();
