/**
 * The distribution settings (issue 16) through the real call path: Redis, rtpengine, Kamailio, the
 * sip app, patients over UDP and agents' workstations over SIP WebSocket. The settings are written the
 * way signaling writes them (DistributionStore) while the sip app runs: it started with
 * RING_TIMEOUT_SECONDS=20, and the 3 s the settings say are what its rings last, with no restart.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_DISTRIBUTION, type DistributionSettings } from '@deskline/protocol';
import { DistributionStore, RedisKeys } from '@deskline/store';
import { header } from '../../helpers/sip-message.js';
import { waitFor } from '../../helpers/wait.js';
import type { IncomingRing } from '../../helpers/agent-phone.js';
import { activeCallIds } from '../../helpers/call-path.js';
import { agentAt, callPlanHooks, patientCalls, type CallPlanContext } from '../../helpers/call-plan-stack.js';

type Context = CallPlanContext;

const test = suite<Context>('distribution: ring timeout, fixed order, auto-pause and wrap-up on the real call path');

callPlanHooks(test, { SKIP_INTRO: 'true', RING_TIMEOUT_SECONDS: '20' });

test.after.each(async (context) => {
  await context.path.redis.del(RedisKeys.distribution);
});

async function nothingLeft(context: Context): Promise<void> {
  await waitFor('no active calls', async () => (await activeCallIds(context.path.redis)).length === 0);
  await waitFor('rtpengine to hold no call', async () => (await context.path.rtpengine.list()).length === 0);
}

function callIdOf(ring: IncomingRing): string {
  const id = header(ring.invite, 'x-deskline-call-id');
  if (!id) throw new Error(`the INVITE names no call:\n${ring.invite.raw}`);
  return id;
}

const set = (context: Context, settings: Partial<DistributionSettings>) =>
  new DistributionStore(context.path.redis).put({ ...DEFAULT_DISTRIBUTION, ...settings });

/** The workstation lets it ring out: resolves with the ms from the INVITE to the sip app's CANCEL. */
async function ringsOut(ring: IncomingRing): Promise<number> {
  await ring.waitForCancel(10_000);
  return Date.now() - ring.receivedAt;
}

test('Auto-pause after 2 unanswered rings (ring timeout 3 s, fixed order Anna, Ben): Anna is paused, and the next call goes to Ben at once', async (context) => {
  const { staff, events } = context;
  const anna = await agentAt(context, 'anna', 'Reception 1');
  const ben = await agentAt(context, 'ben', 'Reception 2');
  await set(context, {
    strategy: 'fixed-order',
    fixedOrder: ['anna', 'ben'],
    ringTimeoutSeconds: 3,
    autoPauseAfter: 2,
  });

  // The first call rings Anna (first in the order), rings out after 3 s, and goes round to Ben.
  const from = events.mark();
  const { dialog: first } = await patientCalls(context);
  const annaFirst = await anna.nextInvite();
  const rang = await ringsOut(annaFirst);
  console.log(`  Anna's workstation rang ${rang} ms (ring timeout 3 s in the settings, 20 s in RING_TIMEOUT_SECONDS)`);
  assert.ok(rang >= 2900 && rang < 4000, `${rang} ms`);
  const benFirst = await ben.nextInvite(2000);
  assert.is(callIdOf(benFirst), callIdOf(annaFirst), 'the same call, now on Ben');
  await benFirst.answer();
  await events.waitFor({ callId: callIdOf(benFirst), state: 'bridged', from });
  assert.is((await staff.agent('anna')).state, 'available', 'one unanswered ring: not paused yet');
  await first.hangUp();
  await benFirst.waitForBye();
  await waitFor('Ben available again', async () => (await staff.agent('ben')).state === 'available');

  // The second call rings Anna again (first in the order); her second unanswered ring pauses her.
  const { dialog: second } = await patientCalls(context);
  const annaSecond = await anna.nextInvite();
  await ringsOut(annaSecond);
  const cancelledAt = Date.now();
  const benSecond = await ben.nextInvite(2000);
  const latency = benSecond.receivedAt - cancelledAt;
  console.log(`  Anna auto-paused; the call rang Ben ${latency} ms after her ring was cancelled`);
  assert.ok(latency < 1000, `${latency} ms`);
  const paused = await context.path.redis.hgetall(RedisKeys.agent('anna'));
  assert.is(paused['state'], 'paused');
  assert.is(paused['pauseReason'], 'no-answer');

  // A third call goes straight to Ben: Anna's workstation stays silent.
  await second.hangUp();
  await benSecond.waitForCancel();
  const annaInvites = anna.invites;
  const { dialog: third } = await patientCalls(context);
  const benThird = await ben.nextInvite(3000);
  assert.is(anna.invites, annaInvites, "Anna's workstation did not ring");
  await third.hangUp();
  await benThird.waitForCancel();
  await nothingLeft(context);
});

test('Wrap-up time 10 s: a second waiting call rings the agent only after 10 ± 1 s, or at once after "ready now"', async (context) => {
  const { staff, events } = context;
  const carla = await agentAt(context, 'carla', 'Reception 3');
  await set(context, { wrapUpSeconds: 10 });

  const from = events.mark();
  const { dialog: first } = await patientCalls(context);
  const firstRing = await carla.nextInvite();
  await firstRing.answer();
  await events.waitFor({ callId: callIdOf(firstRing), state: 'bridged', from });
  const secondFrom = events.mark();
  const { dialog: second } = await patientCalls(context);
  await events.waitFor({ state: 'waiting', from: secondFrom });

  // She ends the first call; the second, already waiting, rings her only when the wrap-up is over.
  await firstRing.hangUp();
  const endedAt = Date.now();
  await first.waitForBye();
  await waitFor('the wrap-up', async () => (await staff.agent('carla')).state === 'paused');
  assert.is(await context.path.redis.hget(RedisKeys.agent('carla'), 'pauseReason'), 'wrap-up');
  const wrapUp = await context.path.redis.hmget(RedisKeys.agent('carla'), 'pausedAt', 'pausedUntil');
  const secondRing = await carla.nextInvite(15_000);
  const after = secondRing.receivedAt - endedAt;
  console.log(
    `  wrap-up 10 s: the waiting call rang ${after} ms after the first call ended (wrap-up from +${Number(wrapUp[0]) - endedAt} to +${Number(wrapUp[1]) - endedAt} ms)`,
  );
  assert.ok(after >= 9000 && after <= 11_000, `${after} ms`);

  // The second call answered and ended; a third waits; "Ready now" rings it at once.
  await secondRing.answer();
  await events.waitFor({ callId: callIdOf(secondRing), state: 'bridged', from: secondFrom });
  const thirdFrom = events.mark();
  const { dialog: third } = await patientCalls(context);
  await events.waitFor({ state: 'waiting', from: thirdFrom });
  await secondRing.hangUp();
  await second.waitForBye();
  await waitFor('the wrap-up', async () => (await staff.agent('carla')).state === 'paused');
  const readyAt = Date.now();
  await staff.resume('carla');
  const thirdRing = await carla.nextInvite(3000);
  const latency = thirdRing.receivedAt - readyAt;
  console.log(`  "ready now" -> the waiting call rang ${latency} ms later`);
  assert.ok(latency < 1000, `${latency} ms`);

  await third.hangUp();
  await thirdRing.waitForCancel();
  await nothingLeft(context);
});

test.run();
