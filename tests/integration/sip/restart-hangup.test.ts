/**
 * A hang-up sent while the sip app restarts (a crash: SIGKILL, then a new instance) is not lost:
 * Kamailio holds an in-dialog request that finds no sip app instance connected until one connects
 * (SIP_APP_HOLD in kamailio.cfg, up to 8 s), and the new instance, which adopted the call before it
 * connected, answers it 200 and hangs up the other side. A flood of such requests is capped, forged
 * ones are refused before they can wait, and Kamailio keeps answering meanwhile.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentPhone, type IncomingRing } from '../../helpers/agent-phone.js';
import { CallEvents } from '../../helpers/call-events.js';
import {
  CLINIC_NUMBER,
  INTRO_SECONDS,
  activeCallIds,
  readCall,
  startCallPath,
  type CallPath,
} from '../../helpers/call-path.js';
import { PatientLine, type PatientDialog } from '../../helpers/patient-line.js';
import { PatientPhone } from '../../helpers/patient-phone.js';
import { SipUdpEndpoint, type SentRequest } from '../../helpers/sip-endpoint.js';
import { Staff } from '../../helpers/staff.js';
import { waitFor } from '../../helpers/wait.js';

const QUEUED_WITHIN_MS = INTRO_SECONDS * 1000 + 5_000;

const test = suite<{ path: CallPath }>("restart: a hang-up during the sip app's restart reaches the other side");

test.before(async (context) => {
  // A long keepalive: it must not be what ends the call.
  context.path = await startCallPath({ appEnv: { PATIENT_KEEPALIVE_SECONDS: '60' } });
});

test.after(async (context) => {
  await context.path?.stop();
});

interface Bridged {
  id: string;
  ring: IncomingRing;
  dialog: PatientDialog;
  close(): Promise<void>;
}

async function bridgedCall(
  path: CallPath,
  events: CallEvents,
  line: PatientLine,
  desk: string,
  user: string,
): Promise<Bridged> {
  const staff = new Staff(path.redis);
  const workstation = await staff.workstation(desk);
  const agent = await AgentPhone.register(path.kamailio, workstation.id);
  await staff.available(user, workstation.id);
  const from = events.mark();
  const phone = await PatientPhone.open();
  const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: phone.port });
  const ring = await agent.nextInvite(QUEUED_WITHIN_MS);
  const media = await ring.answer();
  const id = (await events.waitFor({ state: 'bridged', from })).call.id;
  return {
    id,
    ring,
    dialog,
    close: async () => {
      media.close();
      await dialog.close();
      phone.close();
      await agent.close();
    },
  };
}

/**
 * A bridged call; the sip app is killed, `who` hangs up 0.1–0.5 s later, and a new sip app starts:
 * the other side gets the BYE within the restart time + 1 s, the hang-up is answered 200, the call is
 * recorded ended, the agent is available again and nothing is left in Redis or rtpengine.
 */
async function hangUpDuringRestart(
  path: CallPath,
  who: 'agent' | 'patient',
  desk: string,
  user: string,
): Promise<void> {
  const events = await CallEvents.open(path.redisUrl);
  // The patient's phone sends its BYE again until answered, as over UDP it must.
  const line = await PatientLine.open(path.kamailioPort, { retransmit: who === 'patient' });
  const call = await bridgedCall(path, events, line, desk, user);
  try {
    const from = events.mark();
    const killedAt = Date.now();
    path.app.process.killNow();
    await path.app.process.exited;
    await sleep(Math.max(0, killedAt + 100 + Math.random() * 400 - Date.now()));
    const hungUpAfterMs = Date.now() - killedAt;
    const answer = who === 'agent' ? call.ring.hangUp(15_000) : call.dialog.hangUp(15_000);
    await path.startApp();
    const restartMs = Date.now() - killedAt;
    const waitMs = killedAt + restartMs + 2_000 - Date.now();
    await (who === 'agent' ? call.dialog.waitForBye(waitMs) : call.ring.waitForBye(waitMs));
    const byeAfterMs = Date.now() - killedAt;
    const other = who === 'agent' ? 'patient' : 'agent';
    console.log(
      `  the ${who} hung up ${hungUpAfterMs} ms after the kill; sip app back after ${restartMs} ms; the ${other} got the BYE ${byeAfterMs} ms after the kill`,
    );
    assert.ok(byeAfterMs <= restartMs + 1_000, `BYE ${byeAfterMs} ms after the kill, the restart took ${restartMs} ms`);
    assert.is((await answer).status, 200, `the ${who}'s BYE is answered 200, not 503`);
    const ended = await events.waitFor({ callId: call.id, state: 'ended', from });
    assert.ok(ended.call.endedAt);
    assert.is((await readCall(path.redis, call.id))?.state, 'ended');
    assert.equal(await activeCallIds(path.redis), [], 'no ghost');
    await waitFor(`${user} available`, async () => (await new Staff(path.redis).agent(user)).state === 'available');
    await waitFor('rtpengine to hold no call', async () => (await path.rtpengine.list()).length === 0);
  } finally {
    await call.close();
    await line.close();
    await events.close();
  }
}

test('the agent hangs up 0.1–0.5 s after the sip app is killed: the patient gets the BYE once the new instance is up, the call is recorded ended, no ghost', async ({
  path,
}) => {
  await hangUpDuringRestart(path, 'agent', 'Reception 1', 'anna');
});

test('the patient hangs up 0.1–0.5 s after the sip app is killed: the agent gets the BYE once the new instance is up, the call is recorded ended, no ghost', async ({
  path,
}) => {
  await hangUpDuringRestart(path, 'patient', 'Reception 2', 'ben');
});

test('attacker, while no sip app is connected: 200 forged in-dialog BYEs are refused (404) or, past 100 waiting, 503 at once; Kamailio answers OPTIONS promptly throughout', async ({
  path,
}) => {
  const { kamailio } = path;
  const trunk = await SipUdpEndpoint.open('127.0.0.1', path.kamailioPort);
  try {
    path.app.process.killNow();
    await path.app.process.exited;
    const target = `sip:127.0.0.1:${path.kamailioPort}`;
    const bye = (changes: { uri: string; routes?: string[] }): SentRequest =>
      trunk.sendRequest({
        method: 'BYE',
        from: 'sip:+4930999@127.0.0.1',
        to: `sip:${CLINIC_NUMBER}@127.0.0.1`,
        toTag: randomUUID().slice(0, 8),
        cseq: 2,
        ...changes,
      });
    const options = async (): Promise<number> => {
      const started = Date.now();
      const sent = trunk.sendRequest({ method: 'OPTIONS', uri: target, from: 'sip:probe@127.0.0.1', to: target });
      const answer = await trunk.finalResponse(sent, 2_000);
      assert.is(answer.status, 200);
      return Date.now() - started;
    };
    const appContact = `sip:deskline@${kamailio.appHost}:${kamailio.appPorts[0]};transport=tcp`;

    // A Route that claims to be ours, signed with a made-up signature: refused before it may wait.
    const forgedRoute = `<sip:127.0.0.1:${path.kamailioPort};lr;dlt=${Math.floor(Date.now() / 1000) - 60};dls=${'0'.repeat(32)}>`;
    // Sent 20 at a time: a burst of 200 datagrams could overflow a socket's receive buffer.
    const forgedAnswers = [];
    for (let batch = 0; batch < 10; batch++) {
      const sent = Array.from({ length: 20 }, () => bye({ uri: appContact, routes: [forgedRoute] }));
      forgedAnswers.push(...(await Promise.all(sent.map((one) => trunk.finalResponse(one, 2_000)))));
    }
    assert.equal([...new Set(forgedAnswers.map((a) => a.status))], [404], 'every forged Route refused at once');

    // Without a Route, to the sip app's Contact, from the trunk (as a trunk that ignores Record-Route
    // sends after a Kamailio restart): these may wait, but at most 100 (a few more if two workers race).
    const flood: SentRequest[] = [];
    const firstAnswering: Array<Promise<Awaited<ReturnType<typeof trunk.finalResponse>> | undefined>> = [];
    for (let batch = 0; batch < 10; batch++) {
      for (let i = 0; i < 20; i++) {
        const sent = bye({ uri: appContact });
        flood.push(sent);
        firstAnswering.push(trunk.finalResponse(sent, 1_000).catch(() => undefined));
      }
      await sleep(20);
    }
    const firstAnswers = await Promise.all(firstAnswering);
    const refusedAtOnce = firstAnswers.filter((a) => a?.status === 503).length;
    const optionsMs: number[] = [];
    for (let i = 0; i < 5; i++) optionsMs.push(await options());
    console.log(
      `  flood of 200 in-dialog BYEs with no sip app: ${refusedAtOnce} answered 503 at once, ${200 - refusedAtOnce} waiting; OPTIONS answered in ${optionsMs.join(', ')} ms`,
    );
    assert.ok(refusedAtOnce >= 200 - 120 && refusedAtOnce <= 200 - 90, `${refusedAtOnce} refused at once`);
    assert.ok(Math.max(...optionsMs) < 500, 'OPTIONS answered promptly while requests wait');

    // The waiting ones end with 503 after the wait (8 s), and nothing is left waiting: a new request
    // waits again.
    const later = await Promise.all(
      flood.filter((_, i) => firstAnswers[i] === undefined).map((sent) => trunk.finalResponse(sent, 12_000)),
    );
    assert.equal([...new Set(later.map((a) => a.status))], [503], 'the waiting ones: 503 once the wait is over');
    assert.ok(Math.max(...optionsMs, await options()) < 500);
  } finally {
    await path.startApp();
    await trunk.close();
  }
});

test.run();
