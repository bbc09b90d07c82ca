/**
 * A sip app that dies (SIGKILL) takes its calls' SIP dialogs with it. The next one to start ends what
 * it left in Redis, with an event each, deletes the rtpengine sessions and frees the agents; calls of
 * an instance that is still running are left alone.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisKeys, callToHash, type CallView } from '@deskline/protocol';
import { AgentPhone } from './agent-phone.js';
import { CallEvents } from './call-events.js';
import { CLINIC_NUMBER, activeCallIds, readCall, startCallPath, type CallPath } from './call-path.js';
import { PatientLine } from './patient-line.js';
import { PatientPhone } from './patient-phone.js';
import { Staff } from './staff.js';

const test = suite<{ path: CallPath }>('restart: calls left by a dead instance');

test.before(async (context) => {
  // Long rings: the ringing call must still ring when the app dies.
  context.path = await startCallPath({ appEnv: { SKIP_INTRO: 'true', RING_TIMEOUT_SECONDS: '60' } });
});

test.after(async (context) => {
  await context.path?.stop();
});

test('after a crash, the new instance ends the bridged, ringing and waiting calls it finds, frees their agents and their media', async ({ path }) => {
  const { redis } = path;
  const staff = new Staff(redis);
  const events = await CallEvents.open(path.redisUrl);
  const line = await PatientLine.open(path.kamailioPort);
  const open: Array<{ close(): unknown }> = [];
  // Another instance that is running: its connection to Redis carries its name, as the app's does.
  const otherInstance = randomUUID();
  const other = new Redis(path.redisUrl, { connectionName: `sip-app:${otherInstance}` });
  try {
    const annaDesk = await staff.workstation('Reception 1');
    const benDesk = await staff.workstation('Reception 2');
    const anna = await AgentPhone.register(path.kamailio, annaDesk.id);
    const ben = await AgentPhone.register(path.kamailio, benDesk.id);
    open.push(anna, ben);
    await staff.available('anna', annaDesk.id);
    await staff.available('ben', benDesk.id);

    const call = async () => {
      const media = await PatientPhone.open();
      open.push(media);
      return line.call({ line: CLINIC_NUMBER, rtpPort: media.port });
    };
    // Anna (longest idle) answers the first call; Ben's phone rings with the second; the third waits.
    const from = events.mark();
    await call();
    const ringAnna = await anna.nextInvite();
    await ringAnna.answer();
    const bridged = (await events.waitFor({ state: 'bridged', from })).call;
    const secondFrom = events.mark();
    await call();
    await ben.nextInvite();
    const ringing = (await events.waitFor({ state: 'ringing', from: secondFrom })).call;
    const waitingFrom = events.mark();
    await call();
    const waiting = (await events.waitFor({ state: 'waiting', from: waitingFrom })).call;
    assert.equal(new Set([bridged.id, ringing.id, waiting.id]).size, 3);
    assert.is((await redis.hgetall(RedisKeys.agent('anna')))['state'], 'on-call');
    assert.is((await redis.hgetall(RedisKeys.agent('ben')))['state'], 'ringing');
    assert.is((await path.rtpengine.list()).length, 3);

    // A claim whose ring never reached Redis: Carla is ringing for a call that is not active.
    await redis.hset(RedisKeys.agent('carla'), { userId: 'carla', workstationId: 'ws-gone', state: 'ringing', callId: randomUUID(), idleSince: '1' });
    // The live instance's call.
    const theirs: CallView = { id: randomUUID(), from: '+4930111', line: CLINIC_NUMBER, state: 'waiting', startedAt: Date.now(), queuedAt: Date.now() };
    await redis
      .multi()
      .hset(RedisKeys.call(theirs.id), { ...callToHash(theirs), owner: otherInstance })
      .sadd(RedisKeys.activeCalls, theirs.id)
      .exec();

    await path.crashApp();
    const restartFrom = events.mark();
    const app = await path.startApp();
    const restartedAt = Date.now();

    const ended = await events.waitFor({ callId: bridged.id, state: 'ended', from: restartFrom });
    const abandonedRinging = await events.waitFor({ callId: ringing.id, state: 'abandoned', from: restartFrom });
    const abandonedWaiting = await events.waitFor({ callId: waiting.id, state: 'abandoned', from: restartFrom });
    for (const event of [ended, abandonedRinging, abandonedWaiting]) {
      assert.ok(event.call.endedAt && event.call.endedAt <= restartedAt + 50, 'ended during the start');
    }
    assert.is(ended.call.answeredAt, bridged.answeredAt);
    assert.equal(await activeCallIds(redis), [theirs.id], 'only the live instance\'s call is left');
    assert.is((await readCall(redis, theirs.id))?.state, 'waiting');
    assert.equal(await redis.zrange(RedisKeys.waitingCalls, 0, -1), [], 'the dead instance\'s waiting call is out of the queue');
    assert.equal(await path.rtpengine.list(), [], 'their media is gone');
    for (const user of ['anna', 'ben', 'carla']) {
      const agent = await redis.hgetall(RedisKeys.agent(user));
      assert.is(agent['state'], 'available', user);
      assert.is(agent['callId'], undefined, user);
      assert.ok((await redis.zscore(RedisKeys.idleAgents, user)) !== null, `${user} in agents:idle`);
    }
    const warnings = app.logs.filter((entry) => entry.msg === 'ended a call whose sip app instance is gone');
    assert.is(warnings.length, 3);

    // The new instance routes again: a new call reaches an agent.
    const newFrom = events.mark();
    const patient = await call();
    const rung = (await events.waitFor({ state: 'ringing', from: newFrom })).call;
    assert.ok(rung.agentUserId === 'anna' || rung.agentUserId === 'ben', rung.agentUserId);
    await patient.hangUp();
    await events.waitFor({ callId: rung.id, state: 'abandoned', from: newFrom });
  } finally {
    other.disconnect();
    for (const item of open) await item.close();
    await line.close();
    await events.close();
  }
});

test.run();
