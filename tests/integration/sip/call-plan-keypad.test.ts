/**
 * The call plan's keypad (issue 15, docs/call-plan.md "Keypad", "Queues") through the real call path:
 * the patient's RFC 4733 keys go through rtpengine (its --dtmf-log-dest) to the sip app; the menu
 * picks a queue, only that queue's members ring; the callback key ends the call as callback-requested
 * after the confirmation; repeats, bursts and forged datagrams change nothing.
 */
import dgram from 'node:dgram';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { agentAt, callPlanHooks, patientCalls, type CallPlanContext } from '../../helpers/call-plan-stack.js';
import { DEFAULT_CALL_PLAN, type CallPlan } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { header } from '../../helpers/sip-message.js';
import { HOLD_MUSIC_HZ, PROMPT_TONES, readCall } from '../../helpers/call-path.js';

const test = suite<CallPlanContext>('call plan: the keypad, the menu and the queues');
callPlanHooks(test, { SKIP_INTRO: 'true', RING_TIMEOUT_SECONDS: '10' });

const TWO_QUEUES: CallPlan = {
  ...DEFAULT_CALL_PLAN,
  queues: [
    { id: 'front-desk', name: 'Front desk', digit: '1', memberIds: ['anna'], musicId: null },
    { id: 'nurses', name: 'Nurses', digit: '2', memberIds: ['ben'], musicId: null },
  ],
};

test('with two queues the patient hears the menu; an unknown key is ignored; 2 puts the call in the nurses queue and only its member rings', async (context) => {
  const { path, events, plans } = context;
  await plans.put(TWO_QUEUES);
  const anna = await agentAt(context, 'anna', 'Front 1');
  const ben = await agentAt(context, 'ben', 'Nurse 1');
  const { media, dialog, id } = await patientCalls(context);
  await events.waitFor({ callId: id, state: 'menu' });
  await media.waitForTone(PROMPT_TONES.menu.hz, 3_000);

  await media.pressKey('9');
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.is((await readCall(path.redis, id))?.state, 'menu', 'an unknown key changes nothing');

  const pressedAt = Date.now();
  await media.pressKey('2');
  const waiting = await events.waitFor({ callId: id, state: 'waiting' });
  console.log(`  key 2 to waiting: ${Date.now() - pressedAt} ms`);
  assert.is(waiting.call.queueId, 'nurses');
  const ring = await ben.nextInvite(3_000);
  assert.ok(ring, "the nurses' member rings");
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.is(anna.invites, 0, "the front desk's member is not rung");
  await dialog.hangUp();
  const abandoned = await events.waitFor({ callId: id, state: 'abandoned' });
  assert.is(abandoned.call.abandonedIn, 'ringing');
});

test("a queue whose members are all busy does not hold up a later call of another queue: the nurses' member is rung for the later call", async (context) => {
  const { events, plans } = context;
  await plans.put(TWO_QUEUES);
  // Anna, the front desk's only member, is not logged in; Ben takes the nurses' calls.
  const ben = await agentAt(context, 'ben', 'Nurse 2');
  const first = await patientCalls(context, '+48500000001');
  await events.waitFor({ callId: first.id, state: 'menu' });
  await first.media.waitForTone(PROMPT_TONES.menu.hz, 3_000);
  await first.media.pressKey('1');
  await events.waitFor({ callId: first.id, state: 'waiting' });
  const second = await patientCalls(context, '+48500000002');
  await events.waitFor({ callId: second.id, state: 'menu' });
  await second.media.waitForTone(PROMPT_TONES.menu.hz, 3_000);
  await second.media.pressKey('2');
  const ring = await ben.nextInvite(3_000);
  assert.is(header(ring.invite, 'x-deskline-call-id'), second.id, "Ben is rung for the nurses' call");
  assert.is((await readCall(context.path.redis, first.id))?.state, 'waiting', 'the front desk call still waits');
  await first.dialog.hangUp();
  await second.dialog.hangUp();
});

test('no key in the menu: after its second play the call waits in the first queue', async (context) => {
  const { events, plans } = context;
  await plans.put(TWO_QUEUES);
  const { media, dialog, id } = await patientCalls(context);
  const menuAt = (await events.waitFor({ callId: id, state: 'menu' })).call;
  const waiting = await events.waitFor({ callId: id, state: 'waiting' }, 6_000);
  const menuMs = (waiting.call.queuedAt ?? 0) - menuAt.startedAt;
  console.log(`  menu played for ${menuMs} ms before the first queue`);
  assert.ok(menuMs >= 2 * PROMPT_TONES.menu.seconds * 1000 - 100, `menu lasted ${menuMs} ms`);
  assert.is(waiting.call.queueId, 'front-desk');
  await media.waitForTone(HOLD_MUSIC_HZ, 3_000);
  await dialog.hangUp();
});

test('the callback key while waiting: callback-requested at once with queuedAt kept, the confirmation plays, then the clinic hangs up', async (context) => {
  const { path, events, plans } = context;
  await plans.put({ ...DEFAULT_CALL_PLAN, keypad: { callbackDigit: '5', voicemailDigit: null } });
  const { media, dialog, id } = await patientCalls(context);
  const waiting = await events.waitFor({ callId: id, state: 'waiting' });
  await media.waitForTone(HOLD_MUSIC_HZ, 3_000);

  await media.pressKey('5');
  const requested = await events.waitFor({ callId: id, state: 'callback-requested' });
  assert.is(requested.call.queuedAt, waiting.call.queuedAt, 'the place in the queue is kept');
  assert.is(await path.redis.zscore(RedisKeys.waitingCalls, id), null, 'out of the queue');
  const confirmation = await media.waitForTone(PROMPT_TONES['callback-confirmed'].hz, 3_000);
  const bye = await dialog.waitForBye(5_000);
  assert.ok(bye);
  const confirmedMs = Date.now() - confirmation.at;
  assert.ok(confirmedMs >= PROMPT_TONES['callback-confirmed'].seconds * 1000 - 300, `BYE after ${confirmedMs} ms`);
  const view = await readCall(path.redis, id);
  assert.is(view?.state, 'callback-requested');
  assert.equal(events.states(id), ['intro', 'waiting', 'callback-requested']);
});

test("a burst of keys counts once; the phone's repeated end packets count once; forged and malformed datagrams are ignored", async (context) => {
  const { path, events, plans } = context;
  await plans.put(TWO_QUEUES);
  const anna = await agentAt(context, 'anna', 'Front 2');
  const { media, dialog, id } = await patientCalls(context);
  await events.waitFor({ callId: id, state: 'menu' });
  await media.waitForTone(PROMPT_TONES.menu.hz, 3_000);

  // Forged: from an address that is not rtpengine's, naming the call and a key that would pick a queue.
  const forger = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => forger.bind(0, '127.0.0.2', () => resolve()));
  const forged = JSON.stringify({ callid: id, source_tag: 'x', type: 'DTMF', event: 2, duration: 100, volume: 10 });
  const dtmfPort = path.rtpengineProcess.dtmfPort;
  forger.send(forged, dtmfPort, '127.0.0.1');
  // Malformed, from rtpengine's address: not JSON, JSON of the wrong shape, a huge datagram.
  const local = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => local.bind(0, '127.0.0.1', () => resolve()));
  for (const junk of ['{"callid":', '[1,2,3]', JSON.stringify({ callid: id, event: 'two' }), 'x'.repeat(9000)])
    local.send(junk, dtmfPort, '127.0.0.1');
  await new Promise((resolve) => setTimeout(resolve, 500));
  forger.close();
  local.close();
  assert.is((await readCall(path.redis, id))?.state, 'menu', 'nothing forged or malformed was taken');

  // 1 then, within the burst window, 2: only 1 counts.
  void media.pressKey('1', { durationMs: 40 });
  await new Promise((resolve) => setTimeout(resolve, 120));
  await media.pressKey('2', { durationMs: 40 });
  const waiting = await events.waitFor({ callId: id, state: 'waiting' });
  assert.is(waiting.call.queueId, 'front-desk');
  await anna.nextInvite(3_000);
  await dialog.hangUp();
  await events.waitFor({ callId: id, state: 'abandoned' });
  const pressed = path.app.logs.filter((line) => line.msg === 'the patient pressed a key' && line['callId'] === id);
  assert.is(pressed.length, 1, `one key taken: ${JSON.stringify(pressed.map((line) => line['key']))}`);
  assert.ok(path.app.process.running, 'the sip app is still running');
});

// Last: it restarts the sip app.
test('a call in its menu when its sip app dies: the next instance puts it in the first queue, with the hold music', async (context) => {
  const { path, events, plans } = context;
  await plans.put(TWO_QUEUES);
  const { media, dialog, id } = await patientCalls(context);
  await events.waitFor({ callId: id, state: 'menu' });
  await path.crashApp();
  await path.startApp();
  const waiting = await events.waitFor({ callId: id, state: 'waiting' }, 10_000);
  assert.is(waiting.call.queueId, 'front-desk');
  media.forget();
  await media.waitForTone(HOLD_MUSIC_HZ, 3_000);
  await dialog.hangUp();
  const abandoned = await events.waitFor({ callId: id, state: 'abandoned' });
  assert.is(abandoned.call.abandonedIn, 'waiting');
});

test.run();
