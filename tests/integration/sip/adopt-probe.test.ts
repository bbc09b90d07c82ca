/**
 * A hang-up that never reaches the sip app while none runs (it crashed; the BYE is lost on the way,
 * or Kamailio, which holds such a BYE for up to 8 s, gives up on a longer restart) is not lost for
 * long: the instance that adopts the call asks its legs at once with an in-dialog OPTIONS (the
 * keepalive's, spaced ADOPTION_PROBE_SPACING_MS apart) instead of at the next keepalive
 * (PATIENT_KEEPALIVE_SECONDS, 30 s here). A side that answers 481 ends the call within a second or
 * two of the adoption, as the keepalive would; calls whose sides are all there go on, with their
 * music. Real Redis, rtpengine, Kamailio and sip app.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ADOPTION_PROBE_SPACING_MS } from '@deskline/sip/calls/adoption-probes';
import { AgentPhone } from '../../helpers/agent-phone.js';
import { assertHears, listen } from '../../helpers/callers.js';
import { CallEvents } from '../../helpers/call-events.js';
import { CLINIC_NUMBER, HOLD_MUSIC_HZ, activeCallIds, startCallPath, type CallPath } from '../../helpers/call-path.js';
import { PatientLine, type PatientDialog } from '../../helpers/patient-line.js';
import { PatientPhone } from '../../helpers/patient-phone.js';
import type { RunningSipApp } from '../../helpers/sip-app.js';
import { Staff } from '../../helpers/staff.js';
import { waitFor } from '../../helpers/wait.js';

const KEEPALIVE_SECONDS = 30;
/** How soon after its adoption a call whose side hung up meanwhile must be over. */
const ENDED_WITHIN_MS = 2_000;
const ADOPTED = 'adopted a call whose sip app instance is gone';

const test = suite<{ path: CallPath }>('restart: adopted calls are asked at once whether their sides are still there');

test.before(async (context) => {
  context.path = await startCallPath({
    appEnv: { SKIP_INTRO: 'true', PATIENT_KEEPALIVE_SECONDS: String(KEEPALIVE_SECONDS) },
  });
});

test.after(async (context) => {
  await context.path?.stop();
});

function adoptedAt(app: RunningSipApp, id: string): number {
  const line = app.logs.find((l) => l.msg === ADOPTED && l['callId'] === id);
  assert.ok(line, `${id} adopted`);
  return Number(line['time']);
}

/** A browser workstation registered for `deskName`, and a patient waiting on a line that answers 481 once their call is over. */
async function waitingPatient(path: CallPath, deskName: string, open: Array<{ close(): unknown }>) {
  const staff = new Staff(path.redis);
  const events = await CallEvents.open(path.redisUrl);
  open.push(events);
  const line = await PatientLine.open(path.kamailioPort, { forgetsEndedCalls: true });
  open.push(line);
  const desk = await staff.workstation(deskName);
  const agent = await AgentPhone.register(path.kamailio, desk.id);
  open.push(agent);
  const phone = await PatientPhone.open();
  open.push(phone);
  const from = events.mark();
  const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: phone.port });
  open.push(dialog);
  const waiting = (await events.waitFor({ state: 'waiting', from })).call;
  return { staff, events, desk, agent, dialog, waiting, from };
}

/** Closes what a test opened, the last first (the dialogs before their line). */
async function closeAll(open: Array<{ close(): unknown }>): Promise<void> {
  for (const item of open.reverse()) await item.close();
}

test('restart: an agent whose hang-up was lost while the sip app was down is found gone at adoption; the patient gets BYE within 2 s, not the 30 s keepalive', async ({
  path,
}) => {
  const open: Array<{ close(): unknown }> = [];
  try {
    const { staff, events, desk, agent, dialog, waiting, from } = await waitingPatient(path, 'Adopt desk 1', open);
    await staff.available('ada', desk.id);
    const ring = await agent.nextInvite();
    open.push(await ring.answer());
    await events.waitFor({ callId: waiting.id, state: 'bridged', from });

    await path.crashApp();
    // The workstation drops the call while no sip app is connected, and its BYE never arrives
    // (tests/integration/sip/restart-hangup.test.ts shows a BYE that does arrive held and delivered).
    ring.vanish();

    const restartFrom = events.mark();
    const app = await path.startApp();
    const adopted = adoptedAt(app, waiting.id);
    await dialog.waitForBye(ENDED_WITHIN_MS + 3_000);
    const byeMs = Date.now() - adopted;
    const ended = await events.waitFor({ callId: waiting.id, state: 'ended', from: restartFrom }, 5_000);
    console.log(
      `  agent gone while down: the patient got BYE ${byeMs} ms after the adoption, recorded ended ${ended.at - adopted} ms after it (the keepalive alone: up to ${KEEPALIVE_SECONDS} s)`,
    );
    assert.ok(byeMs <= ENDED_WITHIN_MS, `BYE ${byeMs} ms after the adoption`);
    assert.ok(byeMs < (KEEPALIVE_SECONDS * 1000) / 10, 'well before the keepalive interval');
    const end = await app.waitForLog('the call to end', (l) => l.msg === 'call ended' && l['callId'] === waiting.id);
    assert.is(end['reason'], 'agent-vanished');
    await waitFor('ada available again', async () => (await staff.agent('ada')).state === 'available', 3_000);
    assert.equal(await activeCallIds(path.redis), []);
    await staff.leave('ada');
  } finally {
    await closeAll(open);
  }
});

test('restart: a waiting patient whose hang-up was lost while the sip app was down is ended within 2 s of the adoption, and the available agent is never rung for them', async ({
  path,
}) => {
  const open: Array<{ close(): unknown }> = [];
  try {
    const { staff, events, desk, agent, dialog, waiting } = await waitingPatient(path, 'Adopt desk 2', open);

    await path.crashApp();
    dialog.vanish();
    // An agent is available when the sip app comes back: a ghost would ring there.
    await staff.available('bea', desk.id);

    const restartFrom = events.mark();
    const app = await path.startApp();
    const adopted = adoptedAt(app, waiting.id);
    const abandoned = await events.waitFor(
      { callId: waiting.id, state: 'abandoned', from: restartFrom },
      ENDED_WITHIN_MS + 3_000,
    );
    const endedMs = abandoned.at - adopted;
    console.log(
      `  patient gone while down: recorded abandoned ${endedMs} ms after the adoption (the keepalive alone: up to ${KEEPALIVE_SECONDS} s)`,
    );
    assert.ok(endedMs <= ENDED_WITHIN_MS, `${endedMs} ms`);
    const end = await app.waitForLog('the call to end', (l) => l.msg === 'call ended' && l['callId'] === waiting.id);
    assert.is(end['reason'], 'patient-vanished');
    // A moment for a ring that should not come.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.is(agent.endpoint.received.filter((m) => m.method === 'INVITE').length, 0, 'the agent was never rung');
    assert.is((await staff.agent('bea')).state, 'available');
    assert.equal(await activeCallIds(path.redis), []);
    await staff.leave('bea');
  } finally {
    await closeAll(open);
  }
});

test('restart: 20 adopted waiting calls whose patients are there are asked one after another, none is ended, and the music goes on', async ({
  path,
}) => {
  const CALLS = 20;
  const events = await CallEvents.open(path.redisUrl);
  const line = await PatientLine.open(path.kamailioPort);
  const open: Array<{ close(): unknown }> = [];
  const calls: Array<{ phone: PatientPhone; dialog: PatientDialog; id: string }> = [];
  try {
    for (let i = 0; i < CALLS; i += 1) {
      const phone = await PatientPhone.open();
      open.push(phone);
      const from = events.mark();
      const dialog = await line.call({
        line: CLINIC_NUMBER,
        rtpPort: phone.port,
        from: `+49301000${String(i).padStart(3, '0')}`,
      });
      open.push(dialog);
      calls.push({ phone, dialog, id: (await events.waitFor({ state: 'waiting', from })).call.id });
    }
    await path.crashApp();
    const probesFrom = line.optionsArrivals.length;
    const app = await path.startApp();
    await waitFor(
      'every adopted patient asked',
      () => new Set(line.optionsArrivals.slice(probesFrom).map((o) => o.callId)).size === CALLS,
      5_000,
    );
    const first = new Map<string, number>();
    for (const o of line.optionsArrivals.slice(probesFrom)) if (!first.has(o.callId)) first.set(o.callId, o.at);
    const times = [...first.values()].sort((a, b) => a - b);
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    const spread = (times.at(-1) as number) - (times[0] as number);
    const lastAdopted = Math.max(...calls.map((c) => adoptedAt(app, c.id)));
    console.log(
      `  ${CALLS} adopted calls: first OPTIONS of each spread over ${spread} ms (spacing ${ADOPTION_PROBE_SPACING_MS} ms; gaps min ${Math.min(...gaps)} / median ${gaps.sort((a, b) => a - b)[Math.floor(gaps.length / 2)]} ms), the last ${(times.at(-1) as number) - lastAdopted} ms after the last adoption`,
    );
    // Spaced: not all in the same few milliseconds (UDP delivery may bunch two, not twenty).
    assert.ok(spread >= (CALLS - 1) * ADOPTION_PROBE_SPACING_MS * 0.6, `spread ${spread} ms`);
    const music = assertHears(
      await listen(calls[0]!.phone, 'the first call after the probes'),
      HOLD_MUSIC_HZ,
      'the first adopted call',
    );
    const musicLast = assertHears(
      await listen(calls[CALLS - 1]!.phone, 'the last call after the probes'),
      HOLD_MUSIC_HZ,
      'the last adopted call',
    );
    console.log(
      `  hold music after the probes: ${music.toFixed(1)} and ${musicLast.toFixed(1)} packets/s (first and last call)`,
    );
    assert.not.ok(
      calls.some((c) => events.states(c.id).some((s) => s === 'abandoned' || s === 'ended')),
      'no call was ended',
    );
    assert.not.ok(
      app.logs.some((l) => l.msg === 'call ended'),
      'no call ended',
    );
    assert.is((await activeCallIds(path.redis)).length, CALLS);
    for (const { dialog } of calls) assert.is((await dialog.hangUp()).status, 200);
    await waitFor('every call over', async () => (await activeCallIds(path.redis)).length === 0, 10_000);
  } finally {
    for (const item of open) await item.close();
    await line.close();
    await events.close();
  }
});

test.run();
