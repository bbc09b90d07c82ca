/**
 * The router's claim, answer and release scripts against a real redis-server, with agents and
 * workstations written by signaling's own code.
 */
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Workstation } from '@deskline/protocol';
import { RedisChannels, RedisKeys, workstationSipUser } from '@deskline/store';
import { AgentStore, type Agent } from '@deskline/sip/routing/agent-store';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { ChannelRecorder } from '../../helpers/redis-events.js';
import { Staff } from '../../helpers/staff.js';

interface Context {
  server: TestRedis;
  redis: Redis;
  staff: Staff;
  store: AgentStore;
  reception: Workstation;
}

const test = suite<Context>('agent store: claim, answer, release');

test.before(async (context) => {
  context.server = await startTestRedis();
  context.redis = new Redis(context.server.url);
  context.staff = new Staff(context.redis);
  context.store = new AgentStore(context.redis);
});

test.before.each(async (context) => {
  await context.redis.flushdb();
  context.reception = await context.staff.workstation('Reception');
});

test.after(async (context) => {
  context.redis?.disconnect();
  await context.server?.stop();
});

/** Kamailio's registration mirror for the workstation's SIP user (the browser's, or the desk phone's). */
async function register(context: Context, workstation: Workstation): Promise<void> {
  const sipUser = workstationSipUser(workstation);
  if (sipUser === undefined) throw new Error(`${workstation.name} has no SIP user`);
  await context.redis.set(RedisKeys.sipRegistration(sipUser), 'sip:x@y.invalid;transport=ws', 'EX', 60);
}

async function queue(context: Context, callId: string, queuedAt = Date.now()): Promise<void> {
  await context.redis.zadd(RedisKeys.waitingCalls, queuedAt, callId);
}

function agentOn(userId: string, workstation: Workstation): Agent {
  return {
    userId,
    workstationId: workstation.id,
    kind: workstation.kind,
    sipUser: workstationSipUser(workstation) ?? '',
  };
}

test('candidates: longest idle first; only available agents at registered workstations, browsers and desk phones', async (context) => {
  const { staff, store } = context;
  const front = await staff.workstation('Front desk');
  const back = await staff.workstation('Back desk');
  const phone = await staff.workstation('Desk phone', 'sip-phone', '201');
  const silentPhone = await staff.workstation('Silent desk phone', 'sip-phone');
  const unregistered = await staff.workstation('Unregistered');
  // A desk phone stored before desk phones had SIP users: nothing can ring it.
  const legacyPhone = await staff.workstation('Legacy desk phone', 'sip-phone');
  await context.redis.hdel(`workstation:${legacyPhone.id}`, 'sipUser');
  for (const ws of [context.reception, front, back, phone]) await register(context, ws);
  await staff.available('first', front.id);
  await staff.available('phone-user', phone.id);
  await staff.available('silent-phone-user', silentPhone.id);
  await staff.available('legacy-phone-user', legacyPhone.id);
  await staff.available('nowhere', unregistered.id);
  await staff.available('second', context.reception.id);
  await staff.available('paused', back.id);
  await context.redis.hset(RedisKeys.agent('paused'), 'state', 'paused');

  const candidates = await store.candidates();
  assert.equal(
    candidates.map((agent) => agent.userId),
    ['first', 'phone-user', 'second'],
  );
  assert.equal(candidates[0], agentOn('first', front));
  assert.equal(candidates[1], { userId: 'phone-user', workstationId: phone.id, kind: 'sip-phone', sipUser: '201' });
});

test("a desk phone is claimed by its own SIP user's registration", async (context) => {
  const { staff, store } = context;
  const phone = await staff.workstation('Desk phone', 'sip-phone', '202');
  await staff.available('anna', phone.id);
  await queue(context, 'call-1');
  assert.is(await store.claim(agentOn('anna', phone), 'call-1'), 'not-registered');
  await context.redis.set(RedisKeys.sipRegistration('202'), 'sip:202@127.0.0.1:5090', 'EX', 60);
  assert.is(await store.claim(agentOn('anna', phone), 'call-1'), 'claimed');
});

test('a claim moves the agent to ringing and out of agents:idle, and the call out of calls:waiting, in one step', async (context) => {
  const { staff, store, redis, reception } = context;
  await register(context, reception);
  await staff.available('anna', reception.id);
  await queue(context, 'call-1');

  assert.is(await store.claim(agentOn('anna', reception), 'call-1'), 'claimed');
  const agent = await redis.hgetall(RedisKeys.agent('anna'));
  assert.is(agent['state'], 'ringing');
  assert.is(agent['callId'], 'call-1');
  assert.is(await redis.zscore(RedisKeys.idleAgents, 'anna'), null);
  assert.is(await redis.zscore(RedisKeys.waitingCalls, 'call-1'), null);
});

test('of many claims at once for one agent (several instances), exactly one wins; each call is handed out once', async (context) => {
  const { staff, redis, reception } = context;
  await register(context, reception);
  await staff.available('anna', reception.id);
  const calls = Array.from({ length: 20 }, (_, i) => `call-${i}`);
  for (const id of calls) await queue(context, id);
  // Separate connections, as separate sip app instances have.
  const instances = await Promise.all(calls.map(async () => new Redis(context.server.url)));
  try {
    const results = await Promise.all(
      calls.map((id, i) => new AgentStore(instances[i] as Redis).claim(agentOn('anna', reception), id)),
    );
    assert.is(results.filter((r) => r === 'claimed').length, 1, JSON.stringify(results));
    assert.is(results.filter((r) => r === 'agent-unavailable').length, calls.length - 1);
    const won = calls[results.indexOf('claimed')];
    assert.is(await redis.hget(RedisKeys.agent('anna'), 'callId'), won ?? null);
    assert.is(await redis.zcard(RedisKeys.waitingCalls), calls.length - 1, 'only the winning call left the queue');
  } finally {
    for (const connection of instances) connection.disconnect();
  }
});

test('a claim that cannot be made changes nothing: unregistered workstation, call not waiting, agent moved', async (context) => {
  const { staff, store, redis, reception } = context;
  await staff.available('anna', reception.id);
  await queue(context, 'call-1');
  const before = await redis.hgetall(RedisKeys.agent('anna'));

  assert.is(await store.claim(agentOn('anna', reception), 'call-1'), 'not-registered');
  await register(context, reception);
  assert.is(await store.claim(agentOn('anna', reception), 'call-gone'), 'call-not-waiting');
  const other = await context.staff.workstation('Other');
  assert.is(
    await store.claim(agentOn('anna', other), 'call-1'),
    'agent-unavailable',
    'claimed for a workstation the agent left',
  );

  assert.equal(await redis.hgetall(RedisKeys.agent('anna')), before);
  assert.ok((await redis.zscore(RedisKeys.idleAgents, 'anna')) !== null);
  assert.ok((await redis.zscore(RedisKeys.waitingCalls, 'call-1')) !== null);
});

test('answered: ringing -> on-call only for the call the agent was claimed for', async (context) => {
  const { staff, store, redis, reception } = context;
  await register(context, reception);
  await staff.available('anna', reception.id);
  await queue(context, 'call-1');
  await store.claim(agentOn('anna', reception), 'call-1');

  assert.is(await store.answered('anna', 'another-call'), false);
  assert.is(await redis.hget(RedisKeys.agent('anna'), 'state'), 'ringing');
  assert.is(await store.answered('anna', 'call-1'), true);
  assert.is(await redis.hget(RedisKeys.agent('anna'), 'state'), 'on-call');
});

test('release: available again with idleSince = now, back in agents:idle, route:wake published', async (context) => {
  const { staff, store, redis, reception } = context;
  const wakes = await ChannelRecorder.subscribe<string>(context.server.url, RedisChannels.routeWake);
  try {
    await register(context, reception);
    await staff.available('anna', reception.id);
    await queue(context, 'call-1');
    await store.claim(agentOn('anna', reception), 'call-1');
    await store.answered('anna', 'call-1');

    assert.is(await store.release('anna', 'call-1', 1_700_000_000_123), true);
    const agent = await redis.hgetall(RedisKeys.agent('anna'));
    assert.is(agent['state'], 'available');
    assert.is(agent['idleSince'], '1700000000123');
    assert.is(agent['callId'], undefined);
    assert.is(await redis.zscore(RedisKeys.idleAgents, 'anna'), '1700000000123');
    await wakes.waitFor((message) => String(message) === 'anna', 'route:wake for anna');
    assert.is(await store.release('anna', 'call-1'), false, 'a second release does nothing');
  } finally {
    wakes.close();
  }
});

test('release leaves alone an agent who logged out or paused meanwhile', async (context) => {
  const { staff, store, redis, reception } = context;
  await register(context, reception);
  const desk = await staff.workstation('Desk 2');
  await register(context, desk);
  await staff.available('anna', reception.id);
  await staff.available('ben', desk.id);
  await queue(context, 'call-1');
  await queue(context, 'call-2');
  await store.claim(agentOn('anna', reception), 'call-1');
  await store.claim(agentOn('ben', desk), 'call-2');

  await staff.leave('anna');
  assert.is(await store.release('anna', 'call-1'), false);
  assert.equal(await redis.hgetall(RedisKeys.agent('anna')), {}, 'not resurrected');
  assert.is(await redis.zscore(RedisKeys.idleAgents, 'anna'), null);

  await redis.hset(RedisKeys.agent('ben'), 'state', 'paused');
  assert.is(await store.release('ben', 'call-2'), false);
  assert.is(await redis.hget(RedisKeys.agent('ben'), 'state'), 'paused');
  assert.is(await redis.hget(RedisKeys.agent('ben'), 'callId'), null, 'no longer tied to the call');
  assert.is(await redis.zscore(RedisKeys.idleAgents, 'ben'), null);
});

test.run();
