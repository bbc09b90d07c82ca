/**
 * rtpengine killed with SIGKILL and started again (a crash, an OOM kill, `docker compose restart
 * rtpengine`): it gets its calls back from its Redis keyspace (RTPENGINE_REDIS_DB), and the sip app
 * notices the restart (RtpengineWatch), asks again for the hold music, and gives a browser agent
 * rtpengine's new ICE credentials and DTLS certificate in a re-INVITE (tests/e2e/sip/
 * rtpengine-restart-browser.test.ts shows why, with Chromium). Measured at the patient's
 * phone and at the agent's media endpoint: the longest silence around the restart and the packets/s
 * after. An rtpengine that comes back answering errors, or another rtpengine on the control port,
 * neither crashes the sip app nor spoils the calls in Redis; a call rtpengine lost ends with a BYE
 * instead of staying silent.
 */
import { randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisKeys } from '@deskline/store';
import { freePort } from '@deskline/scripts/free-port';
import { startRtpengine } from '@deskline/scripts/rtpengine';
import type { Bencode } from '@deskline/scripts/rtpengine-ng';
import { PLAIN_RTP, WEBRTC } from '@deskline/sip/media/flags';
import { AGENT_TONE_HZ } from '../../helpers/agent-phone.js';
import { CallEvents } from '../../helpers/call-events.js';
import { CallbackBrowser, grantCallback, type BrowserCallbackCall } from '../../helpers/callback-browser.js';
import {
  HOLD_MUSIC_HZ,
  INTRO_SECONDS,
  activeCallIds,
  readCall,
  startCallPath,
  type CallPath,
} from '../../helpers/call-path.js';
import { Callers, RESTART_GAP_LIMIT_MS, assertHears, listen, maxGap, type Caller } from '../../helpers/callers.js';
import { patientSdp } from '../../helpers/patient-line.js';
import { PATIENT_TONE_HZ, PatientPhone, isTone } from '../../helpers/patient-phone.js';
import { startTestRtpengine, type TestRtpengine } from '../../helpers/rtpengine.js';
import { Staff } from '../../helpers/staff.js';
import { TrunkPhone } from '../../helpers/trunk-phone.js';
import { waitFor } from '../../helpers/wait.js';
import { WebRtcAgent } from '../../helpers/webrtc-agent.js';

const QUEUED_WITHIN_MS = INTRO_SECONDS * 1000 + 5_000;
const RESTART_LOG = 'rtpengine restarted; restoring what its calls were playing';

const test = suite<{ path: CallPath; callers: Callers; events: CallEvents; trunkPort: number }>(
  'rtpengine restart: calls come back with their audio',
);

test.before(async (context) => {
  context.trunkPort = await freePort('127.0.0.1', ['udp']);
  context.path = await startCallPath({
    rtpengineKeyspace: true,
    appEnv: { OUTBOUND_TRUNK: `127.0.0.1:${context.trunkPort}` },
  });
  context.callers = await Callers.open(context.path);
  context.events = await CallEvents.open(context.path.redisUrl);
});

/**
 * A test that failed halfway leaves its patient's call up (bridged, waiting) and perhaps rtpengine
 * down: the next test would find a call it did not make (the last one asserts that none is left) or
 * no rtpengine. So after each test rtpengine runs again, every patient it called hangs up, and the
 * sip app has ended every call before the next test begins.
 */
test.after.each(async ({ path, callers }) => {
  try {
    if (!path.rtpengineProcess.process.running) await path.rtpengineProcess.restart();
    await callers.endAll();
    await waitFor('no call left by the test', async () => (await activeCallIds(path.redis)).length === 0, 15_000);
  } catch (err) {
    // Said, not thrown: uvu runs this after a failed test too, and a throw here would end the run.
    console.log(`  (cleanup after the test: ${err instanceof Error ? err.message : String(err)})`);
  }
});

test.after(async (context) => {
  await context.events?.close();
  await context.callers?.close();
  await context.path?.stop();
});

/**
 * A patient waiting with the hold music, for half a second at least: rtpengine answers `play media`
 * just after its first packet, and a kill in between would leave the command to be sent again to
 * the restarted rtpengine (which the tests here are not about).
 */
async function waitingCaller(path: CallPath, callers: Callers, events: CallEvents): Promise<Caller & { id: string }> {
  const from = events.mark();
  const caller = await callers.call();
  const { id } = (await events.waitFor({ state: 'waiting', from }, QUEUED_WITHIN_MS)).call;
  await caller.phone.waitUntil(
    'half a second of hold music',
    (received) => received.filter((p) => isTone(p, HOLD_MUSIC_HZ)).length >= 25 || undefined,
    5_000,
  );
  return { ...caller, id };
}

/** Waits until `phone` hears `hz` again after `since`; resolves with when. */
async function heardAgain(phone: PatientPhone, hz: number, since: number, what: string): Promise<number> {
  const packet = await phone.waitUntil(what, (received) => received.find((p) => p.at > since && isTone(p, hz)), 10_000);
  return packet.at;
}

/** Kills rtpengine, starts it again at once; resolves with when it was killed and when it answered again. */
async function restartRtpengine(rtpengine: TestRtpengine): Promise<{ killedAt: number; upAt: number }> {
  const killedAt = Date.now();
  await rtpengine.crash();
  await rtpengine.restart();
  return { killedAt, upAt: Date.now() };
}

test('a waiting patient hears the hold music again within the gap goal, and the call goes on', async ({
  path,
  callers,
  events,
}) => {
  const caller = await waitingCaller(path, callers, events);
  const before = assertHears(
    await listen(caller.phone, 'the music before the restart'),
    HOLD_MUSIC_HZ,
    'before the restart',
  );
  const restarts = path.app.logs.filter((line) => line.msg === RESTART_LOG).length;

  const { killedAt, upAt } = await restartRtpengine(path.rtpengineProcess);
  const backAt = await heardAgain(caller.phone, HOLD_MUSIC_HZ, upAt, 'the hold music after the restart');
  const after = assertHears(
    await listen(caller.phone, 'the music after the restart'),
    HOLD_MUSIC_HZ,
    'after the restart',
  );
  const gap = maxGap(caller.phone, killedAt - 1_000, backAt + 1_000);
  console.log(
    `  waiting patient: rtpengine down ${upAt - killedAt} ms; music back ${backAt - killedAt} ms after the kill; ` +
      `longest silence ${gap} ms; ${before.toFixed(1)} packets/s before, ${after.toFixed(1)} after`,
  );
  assert.ok(gap < RESTART_GAP_LIMIT_MS, `the patient heard nothing for ${gap} ms`);
  assert.is(
    path.app.logs.filter((line) => line.msg === RESTART_LOG).length,
    restarts + 1,
    'the sip app noticed the restart once',
  );

  // Still a call like any other: in the queue, and the patient's BYE ends it.
  assert.equal(await path.redis.zrange(RedisKeys.waitingCalls, 0, -1), [caller.id]);
  const from = events.mark();
  assert.is((await caller.dialog.hangUp()).status, 200);
  await events.waitFor({ callId: caller.id, state: 'abandoned', from });
  assert.equal(await activeCallIds(path.redis), []);
  await waitFor('rtpengine to hold no call', async () => (await path.rtpengine.list()).length === 0);
});

test("a bridged call's audio comes back both ways within the gap goal (WebRTC agent: ICE, DTLS-SRTP)", async ({
  path,
  callers,
  events,
}) => {
  const staff = new Staff(path.redis);
  // The agent's browser stand-in: its own rtpengine does what Chromium does towards ours.
  const peer = await startTestRtpengine();
  const desk = await staff.workstation('Reception restart');
  const agent = await WebRtcAgent.register(path.kamailio, desk.id, peer);
  try {
    const caller = await waitingCaller(path, callers, events);
    const from = events.mark();
    await staff.available('rita', desk.id);
    const answered = await agent.answerNext(10_000);
    await events.waitFor({ callId: caller.id, state: 'bridged', from });
    await caller.phone.waitForTone(AGENT_TONE_HZ, 5_000);
    await answered.media.waitForTone(PATIENT_TONE_HZ, 5_000);
    const patientBefore = assertHears(
      await listen(caller.phone, 'the agent before'),
      AGENT_TONE_HZ,
      'the patient hears the agent before',
    );
    const agentBefore = assertHears(
      await listen(answered.media, 'the patient before'),
      PATIENT_TONE_HZ,
      'the agent hears the patient before',
    );

    // rtpengine's keyspace keeps the media, not its ICE credentials or DTLS certificate: the sip app
    // gives the browser the new ones in a re-INVITE.
    const reinvited = agent.answerReinvite(answered, 10_000);
    const { killedAt, upAt } = await restartRtpengine(path.rtpengineProcess);
    const reinvite = await reinvited;
    assert.match(reinvite.body, /^a=fingerprint:/m, 'the re-INVITE carries the new DTLS fingerprint');
    console.log(`  re-INVITE to the agent ${Date.now() - upAt} ms after rtpengine answered again`);
    const [patientBack, agentBack] = await Promise.all([
      heardAgain(caller.phone, AGENT_TONE_HZ, upAt, 'the agent after the restart'),
      heardAgain(answered.media, PATIENT_TONE_HZ, upAt, 'the patient after the restart'),
    ]);
    const patientAfter = assertHears(
      await listen(caller.phone, 'the agent after'),
      AGENT_TONE_HZ,
      'the patient hears the agent after',
    );
    const agentAfter = assertHears(
      await listen(answered.media, 'the patient after'),
      PATIENT_TONE_HZ,
      'the agent hears the patient after',
    );
    const patientGap = maxGap(caller.phone, killedAt - 1_000, patientBack + 1_000);
    const agentGap = maxGap(answered.media, killedAt - 1_000, agentBack + 1_000);
    console.log(
      `  bridged: rtpengine down ${upAt - killedAt} ms; longest silence at the patient ${patientGap} ms, at the agent ${agentGap} ms; ` +
        `patient ${patientBefore.toFixed(1)} -> ${patientAfter.toFixed(1)} packets/s, agent ${agentBefore.toFixed(1)} -> ${agentAfter.toFixed(1)}`,
    );
    assert.ok(patientGap < RESTART_GAP_LIMIT_MS, `the patient heard nothing for ${patientGap} ms`);
    assert.ok(agentGap < RESTART_GAP_LIMIT_MS, `the agent heard nothing for ${agentGap} ms`);

    // ICE consent (a browser gives up after 30 s without STUN answers) and SRTP hold for longer.
    const later = Date.now();
    await caller.phone.waitUntil(
      '35 s more of the call',
      (received) => received.some((p) => p.at > later + 35_000) || undefined,
      40_000,
    );
    assert.ok(maxGap(caller.phone, later, Date.now()) < 500, 'the patient heard the agent without a break for 35 s');
    assert.ok(maxGap(answered.media, later, Date.now()) < 500, 'the agent heard the patient without a break for 35 s');

    assert.is((await answered.ring.hangUp()).status, 200);
    await caller.dialog.waitForBye();
    await events.waitFor({ callId: caller.id, state: 'ended', from });
    await staff.leave('rita');
  } finally {
    await agent.close();
    await peer.stop();
  }
});

test("a callback's audio comes back both ways (the browser's WebRTC, the patient's plain RTP at the trunk), its browser refusing the re-INVITE", async ({
  path,
  trunkPort,
}) => {
  const peer = await startTestRtpengine();
  const browser = await CallbackBrowser.connect(path.kamailio, 'ws-reception-restart');
  const trunk = await TrunkPhone.open(path.kamailioPort, trunkPort);
  const employee = await PatientPhone.open(AGENT_TONE_HZ);
  const patient = await PatientPhone.open(PATIENT_TONE_HZ);
  let call: BrowserCallbackCall | undefined;
  let hungUp = false;
  try {
    const { target } = await grantCallback(path.redis, {
      domain: path.kamailio.domain,
      sipUser: 'ws-reception-restart',
    });
    // The browser's offer: WebRTC from its own rtpengine, for the employee's plain endpoint behind it.
    const dialog = { 'call-id': `browser-${randomUUID()}`, 'from-tag': 'browser' };
    const offer = await peer.ng({
      command: 'offer',
      ...dialog,
      sdp: patientSdp(employee.port),
      ...(WEBRTC as unknown as Record<string, Bencode>),
    });
    call = await browser.call(target, String(offer['sdp']));
    const atTrunk = await trunk.nextCall(10_000);
    await atTrunk.answer(patientSdp(patient.port));
    patient.sendTo('127.0.0.1', mediaPortOf(atTrunk.invite.body));
    const ok = await call.final(10_000);
    assert.is(ok.status, 200);
    const forEmployee = await peer.ng({
      command: 'answer',
      ...dialog,
      'to-tag': 'clinic',
      sdp: ok.body,
      ...(PLAIN_RTP as unknown as Record<string, Bencode>),
    });
    employee.sendTo('127.0.0.1', mediaPortOf(String(forEmployee['sdp'])));
    await Promise.all([employee.waitForTone(PATIENT_TONE_HZ, 10_000), patient.waitForTone(AGENT_TONE_HZ, 10_000)]);
    assertHears(await listen(patient, 'the employee before'), AGENT_TONE_HZ, 'the patient hears the employee before');
    assertHears(await listen(employee, 'the patient before'), PATIENT_TONE_HZ, 'the employee hears the patient before');

    // As for an agent's browser, the sip app sends the employee's browser a re-INVITE with rtpengine's
    // new ICE credentials and DTLS certificate (Chromium takes it: tests/e2e/sip/rtpengine-restart-
    // browser.test.ts). This stand-in refuses it: the callback goes on, on what rtpengine restored.
    const reinvited = call.refuseReinvite(488, 'Not Acceptable Here', 10_000);
    const { killedAt, upAt } = await restartRtpengine(path.rtpengineProcess);
    assert.match((await reinvited).body, /^a=fingerprint:/m, 'the re-INVITE carries the new DTLS fingerprint');
    await path.app.waitForLog(
      'the refused re-INVITE',
      (l) => l.msg === "could not renegotiate the browser's media after the rtpengine restart",
    );
    const [patientBack, employeeBack] = await Promise.all([
      heardAgain(patient, AGENT_TONE_HZ, upAt, 'the employee after the restart'),
      heardAgain(employee, PATIENT_TONE_HZ, upAt, 'the patient after the restart'),
    ]);
    const patientAfter = assertHears(
      await listen(patient, 'the employee after'),
      AGENT_TONE_HZ,
      'the patient hears the employee after',
    );
    const employeeAfter = assertHears(
      await listen(employee, 'the patient after'),
      PATIENT_TONE_HZ,
      'the employee hears the patient after',
    );
    const patientGap = maxGap(patient, killedAt - 1_000, patientBack + 1_000);
    const employeeGap = maxGap(employee, killedAt - 1_000, employeeBack + 1_000);
    console.log(
      `  callback: rtpengine down ${upAt - killedAt} ms; longest silence at the patient ${patientGap} ms, at the employee ${employeeGap} ms; ` +
        `then ${patientAfter.toFixed(1)} and ${employeeAfter.toFixed(1)} packets/s`,
    );
    assert.ok(patientGap < RESTART_GAP_LIMIT_MS, `the patient heard nothing for ${patientGap} ms`);
    assert.ok(employeeGap < RESTART_GAP_LIMIT_MS, `the employee heard nothing for ${employeeGap} ms`);

    hungUp = true;
    assert.is((await call.hangUp()).status, 200);
    await atTrunk.waitForBye();
  } finally {
    // A failure halfway would leave the callback up in the sip app.
    if (!hungUp) await call?.hangUp().catch(() => undefined);
    employee.close();
    patient.close();
    await trunk.close().catch(() => undefined);
    await browser.close();
    await peer.stop();
  }
});

test('an rtpengine that comes back answering errors (or garbage) neither crashes the sip app nor touches the stored call; the real one then restores it', async ({
  path,
  callers,
  events,
}) => {
  const caller = await waitingCaller(path, callers, events);
  const stored = await path.redis.hgetall(RedisKeys.call(caller.id));
  await path.rtpengineProcess.crash();
  const impostor = await udpResponder(path.rtpengineProcess.ngPort, (cookie, index) =>
    index % 3 === 2
      ? Buffer.from(`${cookie} \xff\x00not bencode`)
      : Buffer.from(`${cookie} d6:result5:error12:error-reason13:Unknown call-ide`),
  );
  try {
    await waitFor('the sip app to ask the impostor a few times', () => impostor.requests >= 6, 10_000);
  } finally {
    impostor.close();
  }
  assert.ok(path.app.process.running, 'the sip app lives');
  assert.equal(await path.redis.hgetall(RedisKeys.call(caller.id)), stored, "the call's record is as it was");
  assert.equal(await path.redis.zrange(RedisKeys.waitingCalls, 0, -1), [caller.id]);
  assert.not.ok(
    path.app.logs.some((line) => line.msg === 'call ended' && line['callId'] === caller.id),
    'the call did not end on the word of errors',
  );
  console.log(`  the impostor got ${impostor.requests} requests (${impostor.commands.join(', ')})`);

  const upAt = Date.now();
  await path.rtpengineProcess.restart();
  const backAt = await heardAgain(caller.phone, HOLD_MUSIC_HZ, upAt, 'the hold music from the real rtpengine').catch(
    (err: unknown) => {
      // What the sip app made of the restart, so that a failure says where the music stayed.
      const since = path.app.logs.filter(
        (line) => Number(line['time']) >= upAt && (line['component'] === 'rtpengine' || line['callId'] === caller.id),
      );
      throw new Error(
        `${err instanceof Error ? err.message : String(err)}; the sip app logged since: ${JSON.stringify(since.map((line) => line.msg))}`,
      );
    },
  );
  console.log(`  music back ${backAt - upAt} ms after the real rtpengine started again`);
  assertHears(await listen(caller.phone, 'the music after'), HOLD_MUSIC_HZ, 'after the impostor');
  const from = events.mark();
  assert.is((await caller.dialog.hangUp()).status, 200);
  await events.waitFor({ callId: caller.id, state: 'abandoned', from });
});

test('another rtpengine on the control port, without the calls: the sip app hangs up rather than leave the patient in silence', async ({
  path,
  callers,
  events,
}) => {
  const caller = await waitingCaller(path, callers, events);
  await path.rtpengineProcess.crash();
  const from = events.mark();
  // A fresh rtpengine with no keyspace, on the same control port and other media ports.
  const other = await startRtpengine({
    ngHost: '127.0.0.1',
    ngPort: path.rtpengineProcess.ngPort,
    interface: '127.0.0.1',
    portMin: path.rtpengineProcess.portMin,
    portMax: path.rtpengineProcess.portMax,
  });
  const startedAt = Date.now();
  try {
    const bye = await caller.dialog.waitForBye(10_000);
    console.log(`  BYE to the patient ${Date.now() - startedAt} ms after the other rtpengine started`);
    assert.ok(bye);
    await events.waitFor({ callId: caller.id, state: 'abandoned', from });
    const ended = await path.app.waitForLog(
      'the call ended',
      (line) => line.msg === 'call ended' && line['callId'] === caller.id,
    );
    assert.is(ended['reason'], 'media-lost');
    assert.ok(path.app.process.running);
    assert.equal(await activeCallIds(path.redis), []);
    assert.is(await readCall(path.redis, caller.id).then((call) => call?.state), 'abandoned');
  } finally {
    await other.stop();
    await path.rtpengineProcess.restart();
  }
});

/** The port of an SDP's audio. */
function mediaPortOf(sdp: string): number {
  const port = /^m=audio (\d+)/m.exec(sdp)?.[1];
  if (!port) throw new Error(`no m=audio line in\n${sdp}`);
  return Number(port);
}

/** A UDP socket on `port` that answers every ng request with `reply(cookie, index)`, counting them. */
async function udpResponder(
  port: number,
  reply: (cookie: string, index: number) => Buffer,
): Promise<{ readonly requests: number; commands: string[]; close(): void }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => resolve());
  });
  let requests = 0;
  const commands = new Set<string>();
  socket.on('message', (data, from) => {
    const text = data.toString('latin1');
    const cookie = text.slice(0, Math.max(0, text.indexOf(' ')));
    const command = /7:command(\d+):/.exec(text);
    if (command?.[1]) commands.add(text.substr(text.indexOf(command[0]) + command[0].length, Number(command[1])));
    socket.send(reply(cookie, requests++), from.port, from.address);
  });
  return {
    get requests() {
      return requests;
    },
    get commands() {
      return [...commands];
    },
    close: () => socket.close(),
  };
}

test.run();
