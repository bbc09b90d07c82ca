/**
 * A sip app that is stopped (SIGTERM: `docker compose restart sip`, an upgrade) leaves its calls to the
 * next instance as a crash does, but tidily: no BYE, rtpengine's media left running (the patient hears
 * the hold music or the agent on), a ringing workstation CANCELled and the call waiting again, the
 * dialogs written down; the next instance adopts them. With SIP_END_CALLS_ON_STOP (the launcher's),
 * the stop hangs up every call as before. A stop that gets stuck, or a second signal, still exits.
 */
import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WAITING_FOR_RECONNECTS } from '@deskline/sip/calls/orphaned-calls';
import { QUEUE_CALL_ID_HEADER } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { header } from '../../helpers/sip-message.js';
import { waitFor } from '../../helpers/wait.js';
import { AGENT_TONE_HZ, AgentPhone } from '../../helpers/agent-phone.js';
import { CallEvents } from '../../helpers/call-events.js';
import {
  CLINIC_NUMBER,
  HOLD_MUSIC_HZ,
  INTRO_HZ,
  INTRO_SECONDS,
  activeCallIds,
  readCall,
  startCallPath,
  type CallPath,
} from '../../helpers/call-path.js';
import { Callers, assertHears, listen, maxGap } from '../../helpers/callers.js';
import { PATIENT_TONE_HZ } from '../../helpers/patient-phone.js';
import { Staff } from '../../helpers/staff.js';

const KEEPALIVE_SECONDS = 2;
const QUEUED_WITHIN_MS = INTRO_SECONDS * 1000 + 5_000;
/** A stop hands its calls over in well under this (it has 10 s before it gives up). */
const STOP_WITHIN_MS = 5_000;
const ADOPTED = 'adopted a call whose sip app instance is gone';

const test = suite<{ path: CallPath }>('graceful restart: a stopped sip app leaves its calls to the next instance');

test.before(async (context) => {
  // Long rings: the ringing call must still ring when the app is stopped.
  context.path = await startCallPath({
    appEnv: { RING_TIMEOUT_SECONDS: '60', PATIENT_KEEPALIVE_SECONDS: String(KEEPALIVE_SECONDS) },
  });
});

test.after(async (context) => {
  await context.path?.stop();
});

/** SIGTERM; asserts a clean, prompt exit and returns how long it took. */
async function stopApp(path: CallPath): Promise<number> {
  const started = Date.now();
  const status = await path.stopApp();
  const ms = Date.now() - started;
  assert.equal(status, { code: 0, signal: null }, 'the stop exits 0');
  assert.ok(ms < STOP_WITHIN_MS, `stopped in ${ms} ms`);
  return ms;
}

test('a waiting patient keeps the hold music through a stop and a start, with no BYE, and an agent answers after the restart; one in the intro joins the queue behind', async ({
  path,
}) => {
  const { redis } = path;
  const staff = new Staff(redis);
  const events = await CallEvents.open(path.redisUrl);
  const callers = await Callers.open(path);
  try {
    const firstFrom = events.mark();
    const first = await callers.call();
    const waiting = (await events.waitFor({ state: 'waiting', from: firstFrom }, QUEUED_WITHIN_MS)).call;
    const secondFrom = events.mark();
    const second = await callers.call();
    const intro = (await events.waitFor({ state: 'intro', from: secondFrom })).call;
    await second.phone.waitForTone(INTRO_HZ, 3_000);
    assertHears(await listen(first.phone, 'the music before the stop'), HOLD_MUSIC_HZ, 'before the stop');

    const stoppedFrom = events.mark();
    const stopAt = Date.now();
    const stopMs = await stopApp(path);
    // The intro caller was queued as the app stopped, behind the first, and hears the music.
    const joined = (await events.waitFor({ callId: intro.id, state: 'waiting', from: stoppedFrom })).call;
    assert.ok(joined.queuedAt && waiting.queuedAt && joined.queuedAt > waiting.queuedAt, 'queued after the first');
    assertHears(
      await listen(second.phone, 'the music after the intro was cut'),
      HOLD_MUSIC_HZ,
      'the intro caller, with no sip app',
    );
    assertHears(await listen(first.phone, 'the music with no sip app'), HOLD_MUSIC_HZ, 'while no sip app runs');
    assert.equal((await activeCallIds(redis)).sort(), [waiting.id, intro.id].sort());
    // A new call while no sip app runs is refused at once (a trunk can try elsewhere), not left ringing.
    const refusedAt = Date.now();
    const refused = await callers.line.call({ line: CLINIC_NUMBER, rtpPort: first.phone.port }).then(
      () => 'answered',
      (err: Error) => err.message,
    );
    console.log(`  a new call with no sip app: ${refused} after ${Date.now() - refusedAt} ms`);
    assert.match(refused, /refused: SIP\/2\.0 5\d\d/);

    const app = await path.startApp();
    await app.waitForLog('both calls adopted', () => app.logs.filter((entry) => entry.msg === ADOPTED).length === 2);
    assert.not.ok(app.logs.some((entry) => entry.msg === 'ended a call whose sip app instance is gone'));
    // The stopped instance said so (sip-app:stopped:<id>): not waited for as one that might be reconnecting.
    assert.not.ok(
      app.logs.some((entry) => entry.msg === WAITING_FOR_RECONNECTS),
      'adopted without the reconnect grace',
    );
    assert.equal(await redis.zrange(RedisKeys.waitingCalls, 0, -1), [waiting.id, intro.id]);
    assert.is((await readCall(redis, waiting.id))?.queuedAt, waiting.queuedAt, 'the waiting call keeps its queuedAt');
    assertHears(await listen(first.phone, 'the music after the restart'), HOLD_MUSIC_HZ, 'after the restart');
    const gap = maxGap(first.phone, stopAt, Date.now());
    const introGap = maxGap(second.phone, stopAt, Date.now());
    console.log(
      `  stop took ${stopMs} ms; longest silence the waiting patient heard from SIGTERM to after the adoption: ${gap} ms (the intro caller: ${introGap} ms)`,
    );
    assert.ok(gap < 1_000, `the waiting patient heard ${gap} ms of silence`);
    assert.ok(introGap < 1_000, `the intro caller heard ${introGap} ms of silence`);
    assert.is(first.dialog.requestsReceived('BYE').length, 0, 'no BYE to the waiting patient');
    assert.is(second.dialog.requestsReceived('BYE').length, 0, 'no BYE to the intro caller');

    // An agent becomes available: the first patient rings there, and they talk.
    const desk = await staff.workstation('Reception 1');
    const dora = await AgentPhone.register(path.kamailio, desk.id);
    callers.keep(dora);
    const bridgedFrom = events.mark();
    await staff.available('dora', desk.id);
    const ring = await dora.nextInvite();
    assert.is(header(ring.invite, QUEUE_CALL_ID_HEADER), waiting.id, 'the one who waited longest rings first');
    const agentMedia = await ring.answer();
    await events.waitFor({ callId: waiting.id, state: 'bridged', from: bridgedFrom });
    await first.phone.waitForTone(AGENT_TONE_HZ, 3_000);
    assertHears(await listen(first.phone, 'the agent'), AGENT_TONE_HZ, 'the patient hears the agent');
    assertHears(await listen(agentMedia, 'the patient'), PATIENT_TONE_HZ, 'the agent hears the patient');

    assert.is((await second.dialog.hangUp()).status, 200);
    await events.waitFor({ callId: intro.id, state: 'abandoned', from: bridgedFrom });
    assert.is((await ring.hangUp()).status, 200);
    await first.dialog.waitForBye();
    await events.waitFor({ callId: waiting.id, state: 'ended', from: bridgedFrom });
    await waitFor('dora available', async () => (await staff.agent('dora')).state === 'available');
    assert.equal(await activeCallIds(redis), []);
    await waitFor('rtpengine to hold no call', async () => (await path.rtpengine.list()).length === 0);
    await staff.leave('dora');
  } finally {
    await callers.close();
    await events.close();
  }
});

test('bridged calls talk on through a stop and a start, both ways, and a BYE from either side afterwards reaches the other; a ringing workstation is CANCELled at the stop and rings again after', async ({
  path,
}) => {
  const { redis } = path;
  const staff = new Staff(redis);
  const events = await CallEvents.open(path.redisUrl);
  const callers = await Callers.open(path);
  try {
    const desks = await Promise.all(
      ['Reception 2', 'Reception 3', 'Reception 4'].map((name) => staff.workstation(name)),
    );
    const [anna, ben, cleo] = await Promise.all(desks.map((desk) => AgentPhone.register(path.kamailio, desk.id)));
    if (!anna || !ben || !cleo) throw new Error('three phones');
    callers.keep(anna);
    callers.keep(ben);
    callers.keep(cleo);

    // Anna and Ben each talk with a patient; Cleo's phone rings with a third.
    const talk = async (agent: AgentPhone, userId: string, deskId: string) => {
      await staff.available(userId, deskId);
      const from = events.mark();
      const caller = await callers.call();
      const ring = await agent.nextInvite(QUEUED_WITHIN_MS);
      const media = await ring.answer();
      const call = (await events.waitFor({ state: 'bridged', from })).call;
      await caller.phone.waitForTone(AGENT_TONE_HZ, 3_000);
      return { caller, ring, media, call };
    };
    const withAnna = await talk(anna, 'anna', desks[0]!.id);
    const withBen = await talk(ben, 'ben', desks[1]!.id);
    await staff.available('cleo', desks[2]!.id);
    const ringingFrom = events.mark();
    const ringingCaller = await callers.call();
    const staleRing = await cleo.nextInvite(QUEUED_WITHIN_MS);
    const ringing = (await events.waitFor({ state: 'ringing', from: ringingFrom })).call;
    assert.is(ringing.agentUserId, 'cleo');

    const stoppedFrom = events.mark();
    const stopAt = Date.now();
    const cancelled = staleRing.waitForCancel(STOP_WITHIN_MS);
    const stopMs = await stopApp(path);
    // The ring was CANCELled by the stopping app (not by the next one: none runs yet).
    assert.ok(await cancelled);
    const again = (await events.waitFor({ callId: ringing.id, state: 'waiting', from: stoppedFrom })).call;
    assert.is(again.queuedAt, ringing.queuedAt, 'its place in the queue');
    assert.is(again.agentUserId, undefined);
    await waitFor('cleo available', async () => (await staff.agent('cleo')).state === 'available');
    assertHears(
      await listen(ringingCaller.phone, 'the music after the ring was cancelled'),
      HOLD_MUSIC_HZ,
      'the caller whose ring was cancelled, with no sip app',
    );

    // With no sip app at all, both conversations go on both ways.
    assertHears(
      await listen(withAnna.caller.phone, 'Anna with no sip app'),
      AGENT_TONE_HZ,
      'the patient hears Anna with no sip app',
    );
    assertHears(
      await listen(withAnna.media, 'the patient with no sip app'),
      PATIENT_TONE_HZ,
      'Anna hears the patient with no sip app',
    );

    const app = await path.startApp();
    await app.waitForLog('three calls adopted', () => app.logs.filter((entry) => entry.msg === ADOPTED).length === 3);
    const rering = await cleo.nextInvite(5_000);
    assert.is(header(rering.invite, QUEUE_CALL_ID_HEADER), ringing.id, 'the call rings again after the restart');
    assert.is.not(rering.callId, staleRing.callId, 'a new INVITE');
    await events.waitFor({ callId: ringing.id, state: 'ringing', from: stoppedFrom });

    for (const [name, talked] of [
      ['Anna', withAnna],
      ['Ben', withBen],
    ] as const) {
      const patientHears = assertHears(
        await listen(talked.caller.phone, `${name} after the restart`),
        AGENT_TONE_HZ,
        `the patient hears ${name}`,
      );
      const agentHears = assertHears(
        await listen(talked.media, 'the patient after the restart'),
        PATIENT_TONE_HZ,
        `${name} hears the patient`,
      );
      const patientGap = maxGap(talked.caller.phone, stopAt, Date.now());
      const agentGap = maxGap(talked.media, stopAt, Date.now());
      console.log(
        `  bridged with ${name} through the restart (stop ${stopMs} ms): patient hears ${patientHears.toFixed(1)} packets/s, agent ${agentHears.toFixed(1)}; longest silence: patient ${patientGap} ms, agent ${agentGap} ms`,
      );
      assert.ok(patientGap < 1_000 && agentGap < 1_000, `silences of ${patientGap} and ${agentGap} ms`);
      assert.is(talked.caller.dialog.requestsReceived('BYE').length, 0, `no BYE to ${name}'s patient`);
      assert.is((await readCall(redis, talked.call.id))?.state, 'bridged');
    }
    const ringGap = maxGap(ringingCaller.phone, stopAt, Date.now());
    console.log(`  the caller whose ring was cancelled: longest silence ${ringGap} ms`);
    assert.ok(ringGap < 1_000, `the ringing caller heard ${ringGap} ms of silence`);
    assert.is((await staff.agent('anna')).state, 'on-call');

    // Anna hangs up: her BYE reaches the patient. Ben's patient hangs up: Ben gets the BYE.
    assert.is((await withAnna.ring.hangUp()).status, 200);
    await withAnna.caller.dialog.waitForBye();
    await events.waitFor({ callId: withAnna.call.id, state: 'ended', from: stoppedFrom });
    assert.is((await withBen.caller.dialog.hangUp()).status, 200);
    await withBen.ring.waitForBye();
    await events.waitFor({ callId: withBen.call.id, state: 'ended', from: stoppedFrom });
    await waitFor(
      'anna and ben available',
      async () => (await staff.agent('anna')).state === 'available' && (await staff.agent('ben')).state === 'available',
    );

    assert.is((await ringingCaller.dialog.hangUp()).status, 200);
    await rering.waitForCancel();
    await events.waitFor({ callId: ringing.id, state: 'abandoned', from: stoppedFrom });
    assert.equal(await activeCallIds(redis), []);
    await waitFor('rtpengine to hold no call', async () => (await path.rtpengine.list()).length === 0);
    for (const userId of ['anna', 'ben', 'cleo']) await staff.leave(userId);
  } finally {
    await callers.close();
    await events.close();
  }
});

test('with SIP_END_CALLS_ON_STOP a stop hangs up: BYE to the waiting patient and to both sides of a bridged call', async ({
  path,
}) => {
  const { redis } = path;
  const staff = new Staff(redis);
  const events = await CallEvents.open(path.redisUrl);
  const callers = await Callers.open(path);
  try {
    await path.stopApp();
    await path.startApp({ SIP_END_CALLS_ON_STOP: 'true' });
    const desk = await staff.workstation('Reception 5');
    const eva = await AgentPhone.register(path.kamailio, desk.id);
    callers.keep(eva);
    await staff.available('eva', desk.id);
    const bridgedFrom = events.mark();
    const talking = await callers.call();
    const ring = await eva.nextInvite(QUEUED_WITHIN_MS);
    await ring.answer();
    const bridged = (await events.waitFor({ state: 'bridged', from: bridgedFrom })).call;
    const waitingFrom = events.mark();
    const waitingCaller = await callers.call();
    const waiting = (await events.waitFor({ state: 'waiting', from: waitingFrom }, QUEUED_WITHIN_MS)).call;

    const stoppedFrom = events.mark();
    const byes = Promise.all([
      talking.dialog.waitForBye(STOP_WITHIN_MS),
      waitingCaller.dialog.waitForBye(STOP_WITHIN_MS),
      ring.waitForBye(STOP_WITHIN_MS),
    ]);
    await stopApp(path);
    await byes;
    await events.waitFor({ callId: bridged.id, state: 'ended', from: stoppedFrom });
    await events.waitFor({ callId: waiting.id, state: 'abandoned', from: stoppedFrom });
    assert.equal(await activeCallIds(redis), []);
    assert.is((await staff.agent('eva')).state, 'available');
    await waitFor('rtpengine to hold no call', async () => (await path.rtpengine.list()).length === 0);

    // The next instance has nothing to adopt.
    const app = await path.startApp();
    assert.not.ok(app.logs.some((entry) => entry.msg === ADOPTED));
    await staff.leave('eva');
  } finally {
    await callers.close();
    await events.close();
  }
});

test('a stop stuck on Redis exits after its 10 s bound, and a second SIGTERM exits at once', async ({ path }) => {
  const redisPid = Number((await path.redis.info('server')).match(/process_id:(\d+)/)?.[1]);
  assert.ok(redisPid > 0, "redis-server's pid");
  const freeze = (signal: 'STOP' | 'CONT') => assert.is(spawnSync('kill', [`-${signal}`, String(redisPid)]).status, 0);
  try {
    // One SIGTERM: the stop waits on Redis, then gives up.
    freeze('STOP');
    let started = Date.now();
    let status = await path.stopApp();
    let ms = Date.now() - started;
    console.log(`  a stop stuck on Redis exited after ${ms} ms with ${JSON.stringify(status)}`);
    assert.equal(status, { code: 1, signal: null });
    assert.ok(ms >= 9_000 && ms < 13_000, `exited after ${ms} ms`);
    freeze('CONT');
    await path.startApp();

    // Two: the second ends it.
    freeze('STOP');
    const app = path.app;
    started = Date.now();
    app.process.signal('SIGTERM');
    await app.waitForLog('the stop to begin', (entry) => entry.msg === 'shutting down');
    app.process.signal('SIGTERM');
    status = await app.process.exited;
    ms = Date.now() - started;
    console.log(`  with a second SIGTERM it exited after ${ms} ms`);
    assert.equal(status, { code: 1, signal: null });
    assert.ok(ms < 2_000, `exited after ${ms} ms`);
  } finally {
    freeze('CONT');
  }
  await path.startApp();
});

test.run();
