/**
 * The call plan's overflow (issue 15, docs/call-plan.md "Overflow") through the real call path:
 * nobody who can take the queue on duty sends the call to plan.nobodyAvailable at once; the maximum
 * wait (counted from queuedAt, across rings that fail) to plan.overflow.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_CALL_PLAN } from '@deskline/protocol';
import { CallPlanStore, RedisKeys } from '@deskline/store';
import { waitFor } from '../../helpers/wait.js';
import { AgentPhone } from '../../helpers/agent-phone.js';
import { CallEvents } from '../../helpers/call-events.js';
import {
  CLINIC_NUMBER,
  HOLD_MUSIC_HZ,
  PROMPT_TONES,
  activeCallIds,
  readCall,
  startCallPath,
  type CallPath,
} from '../../helpers/call-path.js';
import { PatientLine, type PatientDialog } from '../../helpers/patient-line.js';
import { PatientPhone, isTone } from '../../helpers/patient-phone.js';
import { Staff } from '../../helpers/staff.js';

const RING_TIMEOUT_SECONDS = 2;
/** The shortest maximum wait a manager can set (MAX_WAIT_MIN_SECONDS). */
const MAX_WAIT_SECONDS = 30;

interface Context {
  path: CallPath;
  staff: Staff;
  events: CallEvents;
  line: PatientLine;
  plans: CallPlanStore;
  open: Array<{ close(): unknown }>;
  users: string[];
}

const test = suite<Context>('call plan: the overflow');

test.before(async (context) => {
  context.path = await startCallPath({
    appEnv: { SKIP_INTRO: 'true', RING_TIMEOUT_SECONDS: String(RING_TIMEOUT_SECONDS) },
  });
  context.staff = new Staff(context.path.redis);
  context.events = await CallEvents.open(context.path.redisUrl);
  context.line = await PatientLine.open(context.path.kamailioPort);
  context.plans = new CallPlanStore(context.path.redis);
  context.open = [];
  context.users = [];
});

test.after.each(async (context) => {
  try {
    for (const item of context.open.splice(0)) await item.close();
    for (const user of context.users.splice(0)) await context.staff.leave(user);
    await waitFor('no active calls', async () => (await activeCallIds(context.path.redis)).length === 0);
  } catch (err) {
    console.error('cleanup after the test failed:', err);
  }
});

test.after(async (context) => {
  await context.line?.close();
  await context.events?.close();
  await context.path?.stop();
});

async function patientCalls(context: Context): Promise<{ media: PatientPhone; dialog: PatientDialog; id: string }> {
  const from = context.events.mark();
  const media = await PatientPhone.open();
  context.open.push(media);
  const dialog = await context.line.call({ line: CLINIC_NUMBER, rtpPort: media.port });
  const intro = await context.events.waitFor({ state: 'intro', from });
  return { media, dialog, id: intro.call.id };
}

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
  const { staff, events, plans } = context;
  await plans.put({ ...DEFAULT_CALL_PLAN, maxWaitSeconds: MAX_WAIT_SECONDS, overflow: 'closed-message' });
  const workstation = await staff.workstation('Front 10');
  const phone = await AgentPhone.register(context.path.kamailio, workstation.id);
  context.open.push(phone);
  context.users.push('dora');
  await staff.available('dora', workstation.id);
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
