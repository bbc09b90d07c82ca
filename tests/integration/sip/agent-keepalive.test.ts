/**
 * An answered patient call whose agent's browser vanishes without a BYE (the tab crashed, its
 * WebSocket dropped): Kamailio unregisters the browser and tells the sip app nothing, so the sip app
 * asks the agent's leg with the patients' in-dialog OPTIONS keepalive (PATIENT_KEEPALIVE_SECONDS).
 * Through the closed WebSocket Kamailio answers 500 at once, and the call ends as if the agent had
 * hung up: BYE to the patient, call ended, the agent off the call, rtpengine released.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from '../../helpers/wait.js';
import { AgentPhone } from '../../helpers/agent-phone.js';
import { CallEvents } from '../../helpers/call-events.js';
import { CLINIC_NUMBER, activeCallIds, startCallPath, type CallPath } from '../../helpers/call-path.js';
import { PatientLine, type PatientDialog } from '../../helpers/patient-line.js';
import { PatientPhone } from '../../helpers/patient-phone.js';
import { Staff } from '../../helpers/staff.js';

const TIMEOUT = 10_000;
const KEEPALIVE_SECONDS = 1;
/** Kamailio's tm fr_timer: how long it waits for an answer before it answers our OPTIONS 408 itself. */
const KAMAILIO_FR_TIMER_MS = 10_000;
/** From the cut to the BYE at the patient: up to one keepalive interval, Kamailio's timer at worst, and some slack. */
const NOTICED_WITHIN_MS = KEEPALIVE_SECONDS * 1000 + KAMAILIO_FR_TIMER_MS + 3_000;

interface Context {
  path: CallPath;
  staff: Staff;
  events: CallEvents;
  line: PatientLine;
  open: Array<{ close(): unknown }>;
}

const test = suite<Context>("an answered patient call whose agent's browser vanishes");

test.before(async (context) => {
  context.path = await startCallPath({
    appEnv: { SKIP_INTRO: 'true', PATIENT_KEEPALIVE_SECONDS: String(KEEPALIVE_SECONDS) },
  });
  context.staff = new Staff(context.path.redis, context.path.kamailio.domain);
  context.events = await CallEvents.open(context.path.redisUrl);
  context.line = await PatientLine.open(context.path.kamailioPort);
  context.open = [];
});

test.after.each(async (context) => {
  for (const item of context.open.splice(0)) await item.close();
});

test.after(async (context) => {
  await context.line?.close();
  await context.events?.close();
  await context.path?.stop();
});

/** A patient's call answered by `userId` at a browser workstation. */
async function bridgedCall(
  context: Context,
  userId: string,
  name: string,
): Promise<{ agent: AgentPhone; dialog: PatientDialog; callId: string; from: number; agentSipCallId: string }> {
  const desk = await context.staff.workstation(name);
  const agent = await AgentPhone.register(context.path.kamailio, desk.id);
  context.open.push(agent);
  await context.staff.available(userId, desk.id);
  const media = await PatientPhone.open();
  context.open.push(media);
  const from = context.events.mark();
  const dialog = await context.line.call({ line: CLINIC_NUMBER, rtpPort: media.port });
  context.open.push(dialog);
  const ring = await agent.nextInvite(TIMEOUT);
  await ring.answer();
  const bridged = (await context.events.waitFor({ state: 'bridged', from }, TIMEOUT)).call;
  return { agent, dialog, callId: bridged.id, from, agentSipCallId: ring.callId };
}

function optionsTo(agent: AgentPhone, sipCallId: string): number {
  return agent.endpoint.received.filter(
    (m) => m.method === 'OPTIONS' && m.headers.some(([n, v]) => n.toLowerCase() === 'call-id' && v === sipCallId),
  ).length;
}

test('an agent whose browser answers the keepalives stays bridged across more than three of them', async (context) => {
  const { agent, dialog, callId, from, agentSipCallId } = await bridgedCall(context, 'kira', 'Keepalive 1');
  await new Promise((resolve) => setTimeout(resolve, 4.5 * KEEPALIVE_SECONDS * 1000));
  const options = optionsTo(agent, agentSipCallId);
  assert.ok(options >= 3, `${options} keepalives reached the browser`);
  assert.is(dialog.requestsReceived('BYE').length, 0, 'no BYE to the patient');
  assert.equal(context.events.states(callId).at(-1), 'bridged', 'still bridged');
  assert.is((await context.staff.agent('kira')).state, 'on-call');
  console.log(`  ${options} keepalives answered in ${4.5 * KEEPALIVE_SECONDS} s; the call is still bridged`);
  assert.is((await dialog.hangUp()).status, 200);
  await context.events.waitFor({ callId, state: 'ended', from }, TIMEOUT);
  const ended = await context.path.app.waitForLog(
    'the call end log',
    (line) => line.msg === 'call ended' && line['callId'] === callId,
  );
  assert.is(ended['reason'], 'patient-hung-up');
  await waitFor('kira available', async () => (await context.staff.agent('kira')).state === 'available');
});

test("the agent's WebSocket closes mid-call (no BYE): the patient gets BYE, the call ends, the agent is off the call", async (context) => {
  const { agent, dialog, callId, from, agentSipCallId } = await bridgedCall(context, 'lena', 'Keepalive 2');
  await new Promise((resolve) => setTimeout(resolve, 1.5 * KEEPALIVE_SECONDS * 1000));
  assert.ok(optionsTo(agent, agentSipCallId) >= 1, 'the browser is asked');
  context.open.splice(context.open.indexOf(agent), 1);
  await agent.close();
  const cut = Date.now();
  await dialog.waitForBye(NOTICED_WITHIN_MS);
  const noticedMs = Date.now() - cut;
  console.log(
    `  agent WebSocket closed -> BYE at the patient: ${(noticedMs / 1000).toFixed(1)} s (keepalive ${KEEPALIVE_SECONDS} s)`,
  );
  await context.events.waitFor({ callId, state: 'ended', from }, TIMEOUT);
  const ended = await context.path.app.waitForLog(
    'the call end log',
    (line) => line.msg === 'call ended' && line['callId'] === callId,
  );
  assert.is(ended['reason'], 'agent-vanished');
  await waitFor('lena off the call', async () => {
    const record = await context.staff.agent('lena');
    return record.state !== 'on-call' && record.callId === undefined;
  });
  assert.equal(await activeCallIds(context.path.redis), []);
  await waitFor('rtpengine to hold no call', async () => (await context.path.rtpengine.list()).length === 0);
});

test.run();
