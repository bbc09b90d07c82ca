/**
 * Kamailio killed (SIGKILL, as a crash, an OOM kill, or `docker compose restart kamailio`) and started
 * again while patients wait and talk: it has forgotten every dialog, yet the calls go on. The sip app
 * reconnects by itself, its keepalive reaches the patient again, a patient's later BYE is answered 200
 * and ends the call at once, and in a bridged call either side's BYE reaches the other (their requests
 * carry Kamailio's signed Record-Route, pbx-config/README.md). Real Redis, rtpengine, Kamailio and sip
 * app; the patient is a Node SIP phone (PatientLine) that keeps Kamailio's Route set, the agent a
 * desk phone (SIP over UDP).
 */
import { suite } from 'uvu';
import { browserSipUser } from '@deskline/store';
import * as assert from 'uvu/assert';
import { AgentPhone, type IncomingRing } from '../../helpers/agent-phone.js';
import { CallEvents } from '../../helpers/call-events.js';
import { CLINIC_NUMBER, HOLD_MUSIC_HZ, activeCallIds, startCallPath, type CallPath } from '../../helpers/call-path.js';
import { assertHears, listen } from '../../helpers/callers.js';
import { PatientLine, type PatientDialog } from '../../helpers/patient-line.js';
import { PatientPhone } from '../../helpers/patient-phone.js';
import { header, type SipMessage } from '../../helpers/sip-message.js';
import { register } from '../../helpers/sip-register.js';
import { SipWsEndpoint } from '../../helpers/sip-ws.js';
import { Staff } from '../../helpers/staff.js';
import { waitFor } from '../../helpers/wait.js';

const KEEPALIVE_SECONDS = 2;
/** The acceptance bar: the patient's BYE ends the call within this. */
const ENDED_WITHIN_MS = 1_000;

const test = suite<{ path: CallPath }>('a Kamailio restart while patients wait and talk');

test.before(async (context) => {
  context.path = await startCallPath({
    appEnv: { SKIP_INTRO: 'true', PATIENT_KEEPALIVE_SECONDS: String(KEEPALIVE_SECONDS) },
  });
});

test.after(async (context) => {
  await context.path?.stop();
});

/** Kills Kamailio and starts it again; resolves once the sip app has reconnected to the new one. */
async function restartKamailio(path: CallPath): Promise<void> {
  // Connected, and known to Kamailio: it has answered the OPTIONS the app sends on each connect.
  const connects = (): number => path.app.logs.filter((line) => line.msg === 'Kamailio answered our OPTIONS').length;
  const before = connects();
  const { downMs } = await path.kamailio.restart();
  const restartedAt = Date.now();
  await waitFor('the sip app to reconnect to the new Kamailio', () => connects() > before, 10_000);
  console.log(
    `  Kamailio down for ${downMs} ms; the sip app reconnected ${Date.now() - restartedAt} ms after it answered again`,
  );
}

interface Bridged {
  dialog: PatientDialog;
  ring: IncomingRing;
  id: string;
  /** The events' mark before the call. */
  from: number;
}

/** A patient calls and `agent` answers; `open` collects what to close. */
async function bridgedCall(
  path: CallPath,
  events: CallEvents,
  line: PatientLine,
  agent: AgentPhone,
  open: Array<{ close(): unknown }>,
): Promise<Bridged> {
  const phone = await PatientPhone.open();
  open.push(phone);
  const from = events.mark();
  const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: phone.port });
  open.push(dialog);
  const ring = await agent.nextInvite(10_000);
  await ring.answer();
  const bridged = (await events.waitFor({ state: 'bridged', from })).call;
  return { dialog, ring, id: bridged.id, from };
}

test('a waiting patient: the music goes on, the keepalive reaches them again, and their BYE is answered 200 and ends the call at once', async ({
  path,
}) => {
  const events = await CallEvents.open(path.redisUrl);
  const line = await PatientLine.open(path.kamailioPort);
  const phone = await PatientPhone.open();
  let dialog: PatientDialog | undefined;
  try {
    const from = events.mark();
    dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: phone.port });
    const waiting = (await events.waitFor({ state: 'waiting', from })).call;
    await phone.waitForTone(HOLD_MUSIC_HZ, 5_000);

    await restartKamailio(path);
    const optionsAtRestart = dialog.requestsReceived('OPTIONS').length;
    assertHears(await listen(phone, 'the music after the restart'), HOLD_MUSIC_HZ, 'the music after the restart');
    // The sip app's own in-dialog request, through the new Kamailio, reaches the patient (who answers 200).
    await waitFor(
      'a keepalive through the new Kamailio',
      () => dialog!.requestsReceived('OPTIONS').length > optionsAtRestart,
      KEEPALIVE_SECONDS * 1000 + 3_000,
    );
    assert.ok(
      path.kamailio.log.every((l) => !/in-dialog .* for an unknown dialog refused/.test(l)),
      "Kamailio refused none of the call's requests",
    );

    const byeAt = Date.now();
    const bye = await dialog.hangUp();
    assert.is(bye.status, 200, bye.startLine);
    const abandoned = await events.waitFor({ callId: waiting.id, state: 'abandoned', from }, 5_000);
    const endedMs = abandoned.at - byeAt;
    console.log(`  the patient's BYE after the restart: ${bye.status}, call abandoned ${endedMs} ms after it was sent`);
    assert.ok(endedMs < ENDED_WITHIN_MS, `${endedMs} ms`);
    const ended = await path.app.waitForLog(
      'the call to end',
      (l) => l.msg === 'call ended' && l['callId'] === waiting.id,
    );
    assert.is(ended['reason'], 'patient-hung-up');
    assert.equal(await activeCallIds(path.redis), []);
  } finally {
    await dialog?.close();
    phone.close();
    await line.close();
    await events.close();
  }
});

test("bridged calls: after the restart the patient's BYE reaches the agent, and the agent's BYE reaches the patient", async ({
  path,
}) => {
  const staff = new Staff(path.redis);
  const events = await CallEvents.open(path.redisUrl);
  const line = await PatientLine.open(path.kamailioPort);
  const open: Array<{ close(): unknown }> = [];
  try {
    const desk = await staff.workstation('Restart desk', 'sip-phone', '231');
    assert.ok(desk.sipPassword);
    const agent = await AgentPhone.registerDeskPhone(path.kamailio, '231', desk.sipPassword);
    open.push(agent);
    await staff.available('rita', desk.id);

    // The first: bridged before the restart, the patient hangs up after it.
    const first = await bridgedCall(path, events, line, agent, open);
    await restartKamailio(path);
    assert.is((await first.dialog.hangUp()).status, 200, "the patient's BYE is answered");
    await first.ring.waitForBye(5_000);
    await events.waitFor({ callId: first.id, state: 'ended', from: first.from });
    await waitFor('rita available again', async () => (await staff.agent('rita')).state === 'available', 5_000);

    // The second: bridged before another restart, the agent hangs up after it. (The desk phone's
    // registration died with the first Kamailio: it registers again, as it would on its next refresh.)
    open.splice(open.indexOf(agent), 1);
    await agent.close();
    const again = await AgentPhone.registerDeskPhone(path.kamailio, '231', desk.sipPassword);
    open.push(again);
    const second = await bridgedCall(path, events, line, again, open);
    await restartKamailio(path);
    assert.is((await second.ring.hangUp()).status, 200, "the agent's BYE is answered");
    await second.dialog.waitForBye(5_000);
    await events.waitFor({ callId: second.id, state: 'ended', from: second.from });
    assert.equal(await activeCallIds(path.redis), []);
    await staff.leave('rita');
  } finally {
    for (const item of open) await item.close();
    await line.close();
    await events.close();
  }
});

test("a bridged call at a browser: its WebSocket closes with Kamailio, it connects and registers again, and either side's BYE reaches the other", async ({
  path,
}) => {
  const staff = new Staff(path.redis);
  const events = await CallEvents.open(path.redisUrl);
  const line = await PatientLine.open(path.kamailioPort);
  const open: Array<{ close(): unknown }> = [];
  try {
    const desk = await staff.workstation('Restart browser');
    const agent = await AgentPhone.register(path.kamailio, desk.id);
    open.push(agent);
    await staff.available('tom', desk.id);

    for (const hangsUp of ['patient', 'agent'] as const) {
      const { dialog, ring, id, from } = await bridgedCall(path, events, line, agent, open);
      await restartKamailio(path);
      await agent.reconnect(path.kamailio);
      if (hangsUp === 'patient') {
        assert.is((await dialog.hangUp()).status, 200, "the patient's BYE is answered");
        const bye = await ring.waitForBye(5_000);
        assert.ok(bye, 'the BYE reached the browser over its new WebSocket');
      } else {
        assert.is((await ring.hangUp()).status, 200, "the browser's BYE is answered");
        await dialog.waitForBye(5_000);
      }
      await events.waitFor({ callId: id, state: 'ended', from });
      assert.ok(
        path.kamailio.log.some((l) => /its browser's WebSocket is gone, over its new one/.test(l)) ||
          hangsUp === 'agent',
      );
      await waitFor('tom available again', async () => (await staff.agent('tom')).state === 'available', 5_000);
    }
    assert.equal(await activeCallIds(path.redis), []);
    await staff.leave('tom');
  } finally {
    for (const item of open) await item.close();
    await line.close();
    await events.close();
  }
});

test("the attacker's view: another workstation's browser that registers the same Contact after the restart gets none of the call's requests", async ({
  path,
}) => {
  const staff = new Staff(path.redis);
  const events = await CallEvents.open(path.redisUrl);
  const line = await PatientLine.open(path.kamailioPort);
  const open: Array<{ close(): unknown }> = [];
  try {
    const desk = await staff.workstation('Restart victim');
    const agent = await AgentPhone.register(path.kamailio, desk.id);
    open.push(agent);
    await staff.available('uma', desk.id);
    const { dialog, id, from } = await bridgedCall(path, events, line, agent, open);

    await restartKamailio(path);
    // Its own workstation, its own valid credentials, the victim's Contact; the victim is not back yet.
    const attacker = await SipWsEndpoint.connect(path.kamailio.wsUrl);
    open.push(attacker);
    attacker.answerAutomatically('OPTIONS', 200, 'OK');
    attacker.answerAutomatically('BYE', 200, 'OK');
    const user = browserSipUser('restart-attacker');
    const registered = await register(attacker, {
      user,
      domain: path.kamailio.domain,
      contact: agent.contact,
      expires: 120,
      ...(await path.kamailio.browserCredentials(user)),
    });
    assert.is(registered.response.status, 200);

    assert.is((await dialog.hangUp()).status, 200, "the patient's BYE is answered");
    await events.waitFor({ callId: id, state: 'ended', from });
    const callId = header(agent.endpoint.received.find((m) => m.method === 'INVITE') as SipMessage, 'call-id');
    assert.ok(callId);
    // The sip app's BYE to the victim has been sent (and failed): anything relayed would be here by now.
    await path.app.waitForLog('the call to end', (l) => l.msg === 'call ended' && l['callId'] === id);
    assert.equal(
      attacker.received.filter((m) => m.method !== undefined && header(m, 'call-id') === callId),
      [],
      'nothing of the call reached the attacker',
    );
    await waitFor('uma available again', async () => (await staff.agent('uma')).state === 'available', 5_000);
    await staff.leave('uma');
  } finally {
    for (const item of open) await item.close();
    await line.close();
    await events.close();
  }
});

test.run();
