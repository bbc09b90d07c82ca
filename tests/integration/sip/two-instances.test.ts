/**
 * Two sip app instances behind one Kamailio (SIP_APP_ADDRESSES): a rolling restart (A stops, A
 * starts, B stops, B starts) loses no call, and a crash of one (SIGKILL) neither. Kamailio sends each
 * new call to a connected instance; the survivor adopts the calls of the one that stopped (at once:
 * it says so) or died (its Redis connection is gone); in-dialog requests reach whichever instance
 * holds the dialog now, whatever Contact they name, and nothing else.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { QUEUE_CALL_ID_HEADER, type CallView } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { header } from '../../helpers/sip-message.js';
import { waitFor } from '../../helpers/wait.js';
import { AGENT_TONE_HZ, AgentPhone } from '../../helpers/agent-phone.js';
import { CallEvents } from '../../helpers/call-events.js';
import { Callers, assertHears, listen, maxGap, type Caller } from '../../helpers/callers.js';
import {
  HOLD_MUSIC_HZ,
  INTRO_SECONDS,
  activeCallIds,
  deskCallIdOf,
  ownerOf,
  readCall,
  startCallPath,
  type CallPath,
} from '../../helpers/call-path.js';
import { PATIENT_TONE_HZ } from '../../helpers/patient-phone.js';
import { instanceIdOf, type RunningSipApp } from '../../helpers/sip-app.js';
import { Staff } from '../../helpers/staff.js';

const QUEUED_WITHIN_MS = INTRO_SECONDS * 1000 + 5_000;
const ADOPTED = 'adopted a call whose sip app instance is gone';
/** The goal for a patient on hold through any restart. */
const MAX_SILENCE_MS = 1_000;
/** A survivor notices a crash within its 1 s watch; slack for a loaded machine. */
const TAKEOVER_AFTER_CRASH_MS = 4_000;
const TAKEOVER_AFTER_STOP_MS = 4_000;

const test = suite<{ path: CallPath }>('two sip app instances: rolling restarts and crashes lose no call');

test.before(async (context) => {
  context.path = await startCallPath({
    instances: 2,
    appEnv: { RING_TIMEOUT_SECONDS: '30', PATIENT_KEEPALIVE_SECONDS: '5' },
  });
});

test.after(async (context) => {
  await context.path?.stop();
});

interface Waiting extends Caller {
  call: CallView;
}

/** A new patient's call, answered and waiting with the music; asserts it went to instance `expectedOwner` when given. */
async function callAndWait(
  path: CallPath,
  callers: Callers,
  events: CallEvents,
  expectedOwner?: string,
): Promise<Waiting> {
  const from = events.mark();
  const caller = await callers.call();
  // (Not just the next call to wait: an adoption puts other calls back in the queue meanwhile.)
  const callId = await deskCallIdOf(path, caller.dialog.callId);
  const call = (await events.waitFor({ callId, state: 'waiting', from }, QUEUED_WITHIN_MS)).call;
  if (expectedOwner)
    assert.is(await ownerOf(path, call.id), expectedOwner, 'the new call went to the running instance');
  await caller.phone.waitForTone(HOLD_MUSIC_HZ, 3_000);
  return { ...caller, call };
}

/** Epoch ms of the first `msg` the app logged from index `from` on, waiting for `count` of them. */
async function loggedAt(
  app: RunningSipApp,
  msg: string,
  count: number,
  from: number,
  timeoutMs: number,
): Promise<number> {
  await app.waitForLog(
    `${count} × "${msg}"`,
    () => app.logs.slice(from).filter((line) => line.msg === msg).length >= count,
    { timeoutMs },
  );
  const first = app.logs.slice(from).find((line) => line.msg === msg);
  return Number(first?.['time']);
}

test('rolling restart (A stops, A starts, B stops, B starts): every waiting patient keeps the music, new calls go to the running instance, and an agent answers each afterwards', async ({
  path,
}) => {
  const { redis } = path;
  const staff = new Staff(redis);
  const events = await CallEvents.open(path.redisUrl);
  const callers = await Callers.open(path);
  const figures: string[] = [];
  try {
    // Kamailio takes the instances in turn: four callers, two on each.
    const patients: Waiting[] = [];
    for (let i = 0; i < 4; i++) patients.push(await callAndWait(path, callers, events));
    const owners = await Promise.all(patients.map((patient) => ownerOf(path, patient.call.id)));
    const idA = instanceIdOf(path.appAt(0));
    const idB = instanceIdOf(path.appAt(1));
    assert.is(owners.filter((owner) => owner === idA).length, 2, `two calls on A (${owners.join(', ')})`);
    assert.is(owners.filter((owner) => owner === idB).length, 2, 'two on B');
    const startedAt = Date.now();

    const restart = async (index: 0 | 1): Promise<void> => {
      const name = index === 0 ? 'A' : 'B';
      const survivor = path.appAt(1 - index);
      const survivorId = instanceIdOf(survivor);
      const held = (
        await Promise.all(
          patients.map(async (patient) =>
            (await ownerOf(path, patient.call.id)) === instanceIdOf(path.appAt(index)) ? 1 : 0,
          ),
        )
      ).reduce<number>((a, b) => a + b, 0);
      const logFrom = survivor.logs.length;
      const stopAt = Date.now();
      const status = await path.stopAppAt(index);
      assert.equal(status, { code: 0, signal: null }, `${name} exits 0`);
      const adoptedAt = await loggedAt(survivor, ADOPTED, held, logFrom, TAKEOVER_AFTER_STOP_MS);
      // On the stopping instance's word, not a second later when its Redis connection is seen gone.
      await survivor.waitForLog(
        'the stop message',
        (line) => line.msg === 'a sip app instance stopped; taking over its calls',
        { from: logFrom },
      );
      figures.push(`${name} SIGTERM → first call adopted by the other: ${adoptedAt - stopAt} ms (${held} calls)`);
      assert.ok(adoptedAt - stopAt < TAKEOVER_AFTER_STOP_MS, `adopted ${adoptedAt - stopAt} ms after the SIGTERM`);
      for (const patient of patients)
        assert.is(await ownerOf(path, patient.call.id), survivorId, 'every call is on the survivor');
      // A new call while one instance is down goes to the other, at once.
      const callAt = Date.now();
      patients.push(await callAndWait(path, callers, events, survivorId));
      figures.push(`new call with ${name} down: answered and waiting after ${Date.now() - callAt} ms`);

      const app = await path.startAppAt(index);
      // The restarted instance has nothing to adopt (the survivor holds every call), and takes new calls again.
      assert.not.ok(
        app.logs.some((line) => line.msg === ADOPTED),
        `the restarted ${name} adopts nothing`,
      );
      const next = await callAndWait(path, callers, events);
      patients.push(next);
      // Round robin: of two new calls, one goes to the restarted instance.
      if ((await ownerOf(path, next.call.id)) !== instanceIdOf(app))
        patients.push(await callAndWait(path, callers, events, instanceIdOf(app)));
    };
    await restart(0);
    await restart(1);
    const endedAt = Date.now();

    for (const [i, patient] of patients.entries()) {
      assertHears(
        await listen(patient.phone, `patient ${i + 1} after the rolling restart`, 1_000),
        HOLD_MUSIC_HZ,
        `patient ${i + 1} after the rolling restart`,
      );
      const from = Math.max(startedAt, patient.call.queuedAt ?? startedAt);
      const gap = maxGap(patient.phone, from, endedAt);
      figures.push(`patient ${i + 1}: longest silence ${gap} ms`);
      assert.ok(gap < MAX_SILENCE_MS, `patient ${i + 1} heard ${gap} ms of silence`);
      assert.is(patient.dialog.requestsReceived('BYE').length, 0, `no BYE to patient ${i + 1}`);
    }
    console.log(
      `  rolling restart (load: ${(await import('node:os')).loadavg()[0]?.toFixed(1)}):\n    ${figures.join('\n    ')}`,
    );
    assert.equal((await activeCallIds(redis)).sort(), patients.map((patient) => patient.call.id).sort());

    // An agent answers them one after the other, and they talk both ways.
    const desk = await staff.workstation('Rolling 1');
    const dora = await AgentPhone.register(path.kamailio, desk.id);
    callers.keep(dora);
    await staff.available('dora', desk.id);
    const unanswered = new Set(patients);
    for (let i = 0; i < patients.length; i++) {
      const from = events.mark();
      const ring = await dora.nextInvite(10_000);
      const patient = [...unanswered].find(
        (candidate) => candidate.call.id === header(ring.invite, QUEUE_CALL_ID_HEADER),
      );
      if (!patient) throw new Error(`the ring is for no waiting patient: ${header(ring.invite, QUEUE_CALL_ID_HEADER)}`);
      unanswered.delete(patient);
      const media = await ring.answer();
      await events.waitFor({ callId: patient.call.id, state: 'bridged', from });
      await patient.phone.waitForTone(AGENT_TONE_HZ, 3_000);
      assertHears(await listen(patient.phone, 'the agent', 1_000), AGENT_TONE_HZ, `patient ${i + 1} hears the agent`);
      assertHears(await listen(media, 'the patient', 1_000), PATIENT_TONE_HZ, `the agent hears patient ${i + 1}`);
      // Half of them hang up themselves: their BYE names the Contact of the instance that answered
      // them first, which may hold the call no more; it still ends the call.
      if (i % 2 === 0) {
        assert.is((await patient.dialog.hangUp()).status, 200, `patient ${i + 1}'s BYE`);
        await ring.waitForBye();
      } else {
        assert.is((await ring.hangUp()).status, 200);
        await patient.dialog.waitForBye();
      }
      await events.waitFor({ callId: patient.call.id, state: 'ended', from });
      // Both ends' media stop with the call, as a phone's would: rtpengine may give its ports to the next call.
      media.stopSending();
      patient.phone.stopSending();
    }
    await waitFor('dora available again', async () => (await staff.agent('dora')).state === 'available', 10_000);
    assert.equal(await activeCallIds(redis), []);
    assert.equal(await redis.zrange(RedisKeys.waitingCalls, 0, -1), []);
    await waitFor('rtpengine to hold no call', async () => (await path.rtpengine.list()).length === 0);
    await staff.leave('dora');
  } finally {
    await callers.close();
    await events.close();
  }
});

test('SIGKILL of one instance: the other adopts its waiting and bridged calls within seconds; the patients stay, and their BYE afterwards ends the call properly', async ({
  path,
}) => {
  const { redis } = path;
  const staff = new Staff(redis);
  const events = await CallEvents.open(path.redisUrl);
  const callers = await Callers.open(path);
  try {
    const desk = await staff.workstation('Crash 1');
    const eve = await AgentPhone.register(path.kamailio, desk.id);
    callers.keep(eve);
    await staff.available('eve', desk.id);
    const bridgedFrom = events.mark();
    const talking = await callers.call();
    const ring = await eve.nextInvite(QUEUED_WITHIN_MS);
    const agentMedia = await ring.answer();
    const bridged = (await events.waitFor({ state: 'bridged', from: bridgedFrom })).call;
    await talking.phone.waitForTone(AGENT_TONE_HZ, 3_000);
    const waiting: Waiting[] = [];
    for (let i = 0; i < 3; i++) waiting.push(await callAndWait(path, callers, events));

    // Kill the instance holding the bridged call.
    const victimIndex = (await ownerOf(path, bridged.id)) === instanceIdOf(path.appAt(0)) ? 0 : 1;
    const victimId = instanceIdOf(path.appAt(victimIndex));
    const survivor = path.appAt(1 - victimIndex);
    const survivorId = instanceIdOf(survivor);
    const held = [bridged.id, ...waiting.map((patient) => patient.call.id)];
    const onVictim = (await Promise.all(held.map((id) => ownerOf(path, id)))).filter(
      (owner) => owner === victimId,
    ).length;
    assert.ok(onVictim >= 2, `${onVictim} calls on the instance killed`);
    const logFrom = survivor.logs.length;
    const killAt = Date.now();
    await path.crashAppAt(victimIndex);
    const adoptedAt = await loggedAt(survivor, ADOPTED, onVictim, logFrom, TAKEOVER_AFTER_CRASH_MS + 2_000);
    await survivor.waitForLog(
      'the loss noticed',
      (line) => line.msg === 'a sip app instance is gone; taking over its calls',
      { from: logFrom },
    );
    const allAt = Number(survivor.logs.slice(logFrom).filter((line) => line.msg === ADOPTED)[onVictim - 1]?.['time']);
    console.log(
      `  SIGKILL → first call adopted by the survivor: ${adoptedAt - killAt} ms, all ${onVictim}: ${allAt - killAt} ms`,
    );
    assert.ok(adoptedAt - killAt < TAKEOVER_AFTER_CRASH_MS, `adopted ${adoptedAt - killAt} ms after the kill`);
    for (const id of held) assert.is(await ownerOf(path, id), survivorId);

    // Everyone is still on the line: the music, and the conversation both ways.
    const afterAt = Date.now();
    for (const [i, patient] of waiting.entries()) {
      assertHears(
        await listen(patient.phone, `waiting patient ${i + 1} after the kill`, 1_000),
        HOLD_MUSIC_HZ,
        `waiting patient ${i + 1}`,
      );
      const gap = maxGap(patient.phone, killAt, Date.now());
      console.log(`  waiting patient ${i + 1}: longest silence across the kill ${gap} ms`);
      assert.ok(gap < MAX_SILENCE_MS, `waiting patient ${i + 1} heard ${gap} ms of silence`);
    }
    assertHears(
      await listen(talking.phone, 'the agent after the kill', 1_000),
      AGENT_TONE_HZ,
      'the bridged patient hears the agent',
    );
    assertHears(
      await listen(agentMedia, 'the patient after the kill', 1_000),
      PATIENT_TONE_HZ,
      'the agent hears the patient',
    );
    assert.ok(maxGap(talking.phone, killAt, afterAt) < MAX_SILENCE_MS, 'the bridged patient heard no silence');

    // A new call goes to the survivor at once.
    await callAndWait(path, callers, events, survivorId).then((patient) => waiting.push(patient));

    // Each waiting patient hangs up: their BYE (to the dead instance's Contact, or the survivor's)
    // gets 200, and the call leaves the queue: no ghost.
    for (const [i, patient] of waiting.entries()) {
      const from = events.mark();
      assert.is((await patient.dialog.hangUp()).status, 200, `waiting patient ${i + 1}'s BYE`);
      await events.waitFor({ callId: patient.call.id, state: 'abandoned', from });
      assert.is(
        await redis.zscore(RedisKeys.waitingCalls, patient.call.id),
        null,
        `patient ${i + 1} left calls:waiting`,
      );
    }
    // The bridged patient hangs up: the agent gets the BYE, and is free again.
    const endFrom = events.mark();
    assert.is((await talking.dialog.hangUp()).status, 200);
    await ring.waitForBye();
    await events.waitFor({ callId: bridged.id, state: 'ended', from: endFrom });
    await waitFor('eve available', async () => (await staff.agent('eve')).state === 'available', 10_000);
    assert.equal(await activeCallIds(redis), []);
    assert.equal(await redis.zrange(RedisKeys.waitingCalls, 0, -1), []);
    await waitFor('rtpengine to hold no call', async () => (await path.rtpengine.list()).length === 0);
    await staff.leave('eve');
  } finally {
    await callers.close();
    await events.close();
    if (!path.appAt(0).process.running) await path.startAppAt(0);
    if (!path.appAt(1).process.running) await path.startAppAt(1);
  }
});

test("an attacker's in-dialog request with a forged Call-ID, Route or Request-URI (a dead instance's, another call's) reaches and ends no one else's call", async ({
  path,
}) => {
  const { redis, kamailio } = path;
  const events = await CallEvents.open(path.redisUrl);
  const callers = await Callers.open(path);
  try {
    const victim = await callAndWait(path, callers, events);
    const attacker = await callAndWait(path, callers, events);
    // One instance is dead: its Contact is one a forger could name.
    const deadIndex = (await ownerOf(path, victim.call.id)) === instanceIdOf(path.appAt(0)) ? 1 : 0;
    await path.crashAppAt(deadIndex);
    const deadContact = `sip:deskline@${kamailio.appHost}:${kamailio.appPorts[deadIndex]};transport=tcp`;
    const liveContact = `sip:deskline@${kamailio.appHost}:${kamailio.appPorts[1 - deadIndex]};transport=tcp`;
    const victimFromTag = /;tag=([^;>\s]+)/.exec(header(victim.dialog.ok, 'from') ?? '')?.[1];

    const attempts: Array<[string, Parameters<typeof attacker.dialog.forge>[1], RegExp]> = [
      // Inside its own dialog's route, the victim's Call-ID (and From tag) to either instance's Contact.
      ["the victim's Call-ID, to the dead instance", { callId: victim.dialog.callId, uri: deadContact }, /^(481|404)$/],
      [
        "the victim's Call-ID and From tag, to the live one",
        { callId: victim.dialog.callId, fromTag: victimFromTag, uri: liveContact },
        /^(481|404)$/,
      ],
      // A Route straight at the dead instance, past Kamailio's Record-Route.
      [
        'a Route at the dead instance',
        { callId: victim.dialog.callId, routes: [`<${deadContact};lr>`], uri: deadContact },
        /^(481|404|403)$/,
      ],
      // A Request-URI that is no instance: Kamailio relays nothing there.
      [
        'a Request-URI that is no instance',
        { uri: `sip:deskline@${kamailio.appHost}:${kamailio.sipPort + 1};transport=tcp` },
        /^403$/,
      ],
    ];
    for (const [what, changes, expected] of attempts) {
      const answer = await attacker.dialog.forge('BYE', changes);
      assert.match(String(answer.status), expected, `${what}: ${answer.startLine}`);
    }
    assert.is((await readCall(redis, victim.call.id))?.state, 'waiting', 'the victim still waits');
    assert.is((await readCall(redis, attacker.call.id))?.state, 'waiting', "and so does the attacker's own call");
    assertHears(
      await listen(victim.phone, 'the victim after the forgeries', 1_000),
      HOLD_MUSIC_HZ,
      'the victim hears the music',
    );
    assert.is(victim.dialog.requestsReceived('BYE').length, 0, 'no BYE to the victim');

    const from = events.mark();
    assert.is((await victim.dialog.hangUp()).status, 200, "the victim's own BYE");
    await events.waitFor({ callId: victim.call.id, state: 'abandoned', from });
    assert.is(await redis.zscore(RedisKeys.waitingCalls, victim.call.id), null);
    // The attacker's forged BYEs carried its own dialog's Route: Kamailio's dialog module ended that
    // dialog, so its real BYE may be refused (404). It could only harm its own call.
    const last = await attacker.dialog.hangUp();
    console.log(`  the attacker's own BYE afterwards: ${last.startLine}`);
    if (last.status === 200) await events.waitFor({ callId: attacker.call.id, state: 'abandoned', from });
  } finally {
    await callers.close();
    await events.close();
    if (!path.appAt(0).process.running) await path.startAppAt(0);
    if (!path.appAt(1).process.running) await path.startAppAt(1);
  }
});

test.run();
