/**
 * Ghosts: waiting calls in Redis whose patient is gone (as a Kamailio restart that answered the
 * patient's BYE 404 used to leave behind), put there by hand as a dead sip app instance's, then
 * adopted by a restarted sip app. Its keepalive asks at once and ends each as `patient-vanished`
 * within PATIENT_KEEPALIVE_SECONDS + 10 s: Kamailio's own 404 for a Route it cannot vouch for, or its
 * 408 for a phone that no longer answers. Meanwhile an available agent is never rung for them: a
 * patient who has not shown life within the keepalive interval is not routed. Real Redis, rtpengine,
 * Kamailio and sip app; the agent is a desk phone (SIP over UDP).
 */
import dgram from 'node:dgram';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { suite } from 'uvu';
import { MediaSession } from '@deskline/sip/media/media-session';
import * as assert from 'uvu/assert';
import { type CallView } from '@deskline/protocol';
import { RedisKeys, callToHash } from '@deskline/store';
import { AgentPhone } from '../../helpers/agent-phone.js';
import { CallEvents } from '../../helpers/call-events.js';
import { CLINIC_NUMBER, activeCallIds, startCallPath, type CallPath } from '../../helpers/call-path.js';
import { routeSignature } from '../../helpers/kamailio.js';
import { PatientLine, patientSdp } from '../../helpers/patient-line.js';
import { PatientPhone } from '../../helpers/patient-phone.js';
import { randomToken } from '../../helpers/sip-message.js';
import { Staff } from '../../helpers/staff.js';

const KEEPALIVE_SECONDS = 5;
/** Kamailio's tm fr_timer: how long it waits for a phone before it answers an OPTIONS 408 itself. */
const KAMAILIO_FR_TIMER_MS = 10_000;
const ENDED_WITHIN_MS = KEEPALIVE_SECONDS * 1000 + KAMAILIO_FR_TIMER_MS;

const test = suite<{ path: CallPath; template: Record<string, string> }>(
  'ghost calls in Redis, ended by the keepalive',
);

test.before(async (context) => {
  context.path = await startCallPath({
    appEnv: { SKIP_INTRO: 'true', PATIENT_KEEPALIVE_SECONDS: String(KEEPALIVE_SECONDS) },
  });
  // A real call's SIP state, for the ghosts' shape (its dialog, its Record-Route).
  const { path } = context;
  const events = await CallEvents.open(path.redisUrl);
  const line = await PatientLine.open(path.kamailioPort);
  const phone = await PatientPhone.open();
  try {
    const from = events.mark();
    const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: phone.port });
    const waiting = (await events.waitFor({ state: 'waiting', from })).call;
    context.template = await path.redis.hgetall(`call-sip:${waiting.id}`);
    assert.ok(context.template['patient'], 'the call wrote its SIP state');
    assert.is((await dialog.hangUp()).status, 200);
    await events.waitFor({ callId: waiting.id, state: 'abandoned', from });
  } finally {
    phone.close();
    await line.close();
    await events.close();
  }
});

test.after(async (context) => {
  await context.path?.stop();
});

/** A UDP port where nothing answers any more: a patient's phone that is gone. */
async function deadPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/**
 * Writes a waiting call of a dead instance into Redis, as a sip app would have: its patient's dialog
 * (a new Call-ID and tags, its target a phone that is gone) with `routes` as its route set.
 */
async function putGhost(
  path: CallPath,
  template: Record<string, string>,
  routes: (callId: string, patientTag: string) => string[],
): Promise<string> {
  const id = randomUUID();
  const patient = JSON.parse(template['patient'] as string) as Record<string, unknown>;
  const callId = `${randomToken(10)}@ghost`;
  const patientTag = randomToken(4);
  const ghostDialog = {
    ...patient,
    callId,
    remoteTag: patientTag,
    localTag: randomToken(4),
    remoteTarget: `sip:ghost@127.0.0.1:${await deadPort()}`,
    routeSet: routes(callId, patientTag),
  };
  // Its media in rtpengine, set up as the sip app sets up a patient's, toward a port where nobody listens.
  const media = new MediaSession(path.rtpengine, id, patientTag, pino({ level: 'silent' }));
  await media.answerForQueue(patientSdp(await deadPort()));
  const queuedAt = Date.now() - 60_000;
  const view: CallView = {
    id,
    from: '+4930999',
    line: CLINIC_NUMBER,
    state: 'waiting',
    startedAt: queuedAt - 5_000,
    queuedAt,
  };
  await path.redis
    .multi()
    .hset(RedisKeys.call(id), { ...callToHash(view), owner: randomUUID() })
    .sadd(RedisKeys.activeCalls, id)
    .zadd(RedisKeys.waitingCalls, queuedAt, id)
    .hset(`call-sip:${id}`, { patient: JSON.stringify(ghostDialog), media: JSON.stringify(media.snapshot()) })
    .exec();
  return id;
}

test('ghosts adopted after a restart are ended as patient-vanished within the keepalive interval + 10 s, and no agent is rung for them', async ({
  path,
  template,
}) => {
  const staff = new Staff(path.redis);
  const events = await CallEvents.open(path.redisUrl);
  const open: Array<{ close(): unknown }> = [];
  try {
    const desk = await staff.workstation('Ghost desk', 'sip-phone', '241');
    assert.ok(desk.sipPassword);
    const agent = await AgentPhone.registerDeskPhone(path.kamailio, '241', desk.sipPassword);
    open.push(agent);

    const realRoutes = (JSON.parse(template['patient'] as string) as { routeSet: string[] }).routeSet;
    // One whose Route was signed for another call: Kamailio answers its keepalive 404 "Not Here".
    const refused = await putGhost(path, template, () => realRoutes);
    // One whose Route Kamailio vouches for (signed with its secret before it started): the keepalive
    // reaches the phone's address, where nothing answers, and Kamailio answers 408 after its fr_timer.
    const began = Math.floor(Date.now() / 1000) - 3600;
    const unanswered = await putGhost(path, template, (callId, patientTag) =>
      realRoutes.map((route) =>
        route
          .replace(/;dlt=[^;>]*/, `;dlt=${began}`)
          .replace(/;dls=[^;>]*/, `;dls=${routeSignature(path.kamailio.secret, callId, patientTag, began)}`),
      ),
    );

    await path.crashApp();
    const from = events.mark();
    const app = await path.startApp();
    await staff.available('gina', desk.id);
    const adopted = (id: string): number => {
      const line = app.logs.find(
        (l) => l.msg === 'adopted a call whose sip app instance is gone' && l['callId'] === id,
      );
      assert.ok(line, `${id} adopted`);
      return Number(line['time']);
    };

    for (const [id, status] of [
      [refused, 404],
      [unanswered, 408],
    ] as const) {
      const abandoned = await events.waitFor({ callId: id, state: 'abandoned', from }, ENDED_WITHIN_MS + 5_000);
      const endedMs = abandoned.at - adopted(id);
      console.log(
        `  ghost answered ${status}: ended ${(endedMs / 1000).toFixed(1)} s after it was adopted (keepalive ${KEEPALIVE_SECONDS} s)`,
      );
      assert.ok(endedMs <= ENDED_WITHIN_MS, `${endedMs} ms`);
      const ended = await app.waitForLog('the ghost to end', (l) => l.msg === 'call ended' && l['callId'] === id);
      assert.is(ended['reason'], 'patient-vanished');
      const warning = app.logs.find(
        (l) => l['callId'] === id && l.msg === 'the patient did not answer the keepalive: their line is gone',
      );
      assert.is(warning?.['statusCode'], status);
    }
    assert.equal(await activeCallIds(path.redis), []);
    assert.is(agent.endpoint.received.filter((m) => m.method === 'INVITE').length, 0, 'the agent was never rung');
    assert.is((await staff.agent('gina')).state, 'available');
    await staff.leave('gina');
  } finally {
    for (const item of open) await item.close();
    await events.close();
  }
});

test.run();
