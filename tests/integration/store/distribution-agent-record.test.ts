/**
 * Wrap-up and auto-pause as moves of the agent record (issue 16), against a real redis-server: the
 * release script reads the distribution settings as they are at that moment, and pauses the agent with
 * a reason instead of making them available. The pause ends like any pause: by itself, or "I'm back"
 * ("Ready now").
 */
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_DISTRIBUTION, PAUSE_MAX_MINUTES } from '@deskline/protocol';
import { DistributionStore, RedisKeys } from '@deskline/store';
import { AgentDriver } from '../../helpers/agent-positions.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';

interface Context {
  server: TestRedis;
  redis: Redis;
  agent: AgentDriver;
  settings: DistributionStore;
}

const test = suite<Context>('distribution: wrap-up and auto-pause are releases into a pause, read from the settings');

test.before(async (context) => {
  context.server = await startTestRedis();
  context.redis = new Redis(context.server.url);
  context.agent = new AgentDriver(context.redis, 'anna', ['reception']);
  context.settings = new DistributionStore(context.redis);
});

test.before.each(async (context) => {
  await context.redis.flushdb();
});

test.after(async (context) => {
  context.redis?.disconnect();
  await context.server?.stop();
});

const hash = (redis: Redis) => redis.hgetall(RedisKeys.agent('anna'));

test('no settings saved: the defaults, and a release makes the agent available as before', async ({
  agent,
  settings,
}) => {
  assert.equal(await settings.get(), DEFAULT_DISTRIBUTION);
  await agent.reach('on-call');
  const callId = (await agent.callId()) ?? '';
  assert.equal(await agent.record.release('anna', callId), { outcome: 'available' });
});

test('wrap-up: the call over, the agent is paused for wrapUpSeconds with reason wrap-up; "ready now" ends it', async ({
  redis,
  agent,
  settings,
}) => {
  await settings.put({ ...DEFAULT_DISTRIBUTION, wrapUpSeconds: 10 });
  await agent.reach('on-call');
  const callId = (await agent.callId()) ?? '';
  const now = Date.now();
  assert.equal(await agent.record.release('anna', callId, now), { outcome: 'paused', pauseReason: 'wrap-up' });
  const paused = await hash(redis);
  assert.is(paused['state'], 'paused');
  assert.is(paused['pauseReason'], 'wrap-up');
  assert.is(Number(paused['pausedUntil']), now + 10_000);
  assert.is(paused['callId'], undefined);
  assert.is(Number(await redis.zscore(RedisKeys.pauseEnds, 'anna')), now + 10_000);
  assert.is(await redis.zscore(RedisKeys.idleAgents, 'anna'), null, 'not rung during the wrap-up');

  assert.equal(await agent.record.endPause('anna', now + 2_000), { outcome: 'ended', to: 'available' });
  const ready = await hash(redis);
  assert.is(ready['state'], 'available');
  assert.is(ready['pauseReason'], undefined);
  assert.is(ready['lastPausedAt'], undefined, 'a wrap-up is no absence: no missed-calls span');
  assert.is(Number(await redis.zscore(RedisKeys.idleAgents, 'anna')), now + 2_000);
});

test('wrap-up ends by itself at its end (the pause timer script)', async ({ redis, agent, settings }) => {
  await settings.put({ ...DEFAULT_DISTRIBUTION, wrapUpSeconds: 5 });
  await agent.reach('on-call');
  const now = Date.now();
  await agent.record.release('anna', (await agent.callId()) ?? '', now);
  assert.equal(await agent.record.endDuePauses(now + 4_999), []);
  assert.equal(await agent.record.endDuePauses(now + 5_000), ['anna']);
  assert.is((await hash(redis))['state'], 'available');
});

test('an unanswered ring is no call: no wrap-up after it', async ({ agent, settings }) => {
  await settings.put({ ...DEFAULT_DISTRIBUTION, wrapUpSeconds: 10 });
  await agent.reach('ringing');
  const result = await agent.record.release('anna', (await agent.callId()) ?? '', Date.now(), { missed: true });
  assert.equal(result, { outcome: 'available' });
});

test('auto-pause: the 2nd unanswered ring in a row pauses the agent (reason no-answer) for the longest pause', async ({
  redis,
  agent,
  settings,
}) => {
  await settings.put({ ...DEFAULT_DISTRIBUTION, autoPauseAfter: 2 });
  await agent.reach('ringing');
  assert.equal(await agent.record.release('anna', (await agent.callId()) ?? '', Date.now(), { missed: true }), {
    outcome: 'available',
  });
  assert.is((await hash(redis))['missedRings'], '1');
  const claimed = await agent.move('claim', 0);
  assert.ok('done' in claimed && claimed.done === 'claimed', JSON.stringify(claimed));
  const now = Date.now();
  assert.equal(await agent.record.release('anna', (await agent.callId()) ?? '', now, { missed: true }), {
    outcome: 'paused',
    pauseReason: 'no-answer',
  });
  const paused = await hash(redis);
  assert.is(paused['state'], 'paused');
  assert.is(paused['pauseReason'], 'no-answer');
  assert.is(Number(paused['pausedUntil']), now + PAUSE_MAX_MINUTES * 60_000);
  assert.equal(await agent.record.endPause('anna'), { outcome: 'ended', to: 'available' });
  const back = await hash(redis);
  assert.is(back['missedRings'], undefined, 'back: the count starts again');
  assert.is(back['pauseReason'], undefined);
});

test('an answer, or a ring the patient ended (not missed), does not count towards the auto-pause', async ({
  redis,
  agent,
  settings,
}) => {
  await settings.put({ ...DEFAULT_DISTRIBUTION, autoPauseAfter: 2 });
  await agent.reach('ringing');
  await agent.record.release('anna', (await agent.callId()) ?? '', Date.now(), { missed: true });
  await agent.move('claim', 0);
  await agent.move('answer');
  assert.is((await hash(redis))['missedRings'], undefined, 'the answer reset the count');
  await agent.move('release');
  await agent.move('claim', 0);
  await agent.record.release('anna', (await agent.callId()) ?? '', Date.now(), { missed: true });
  await agent.move('claim', 0);
  assert.equal(await agent.record.release('anna', (await agent.callId()) ?? '', Date.now()), { outcome: 'available' });
  assert.is((await hash(redis))['missedRings'], '1');
});

test('the user pausing during a wrap-up makes it their own pause (no reason)', async ({ redis, agent, settings }) => {
  await settings.put({ ...DEFAULT_DISTRIBUTION, wrapUpSeconds: 30 });
  await agent.reach('on-call');
  await agent.record.release('anna', (await agent.callId()) ?? '');
  await agent.move('pause');
  assert.is((await hash(redis))['pauseReason'], undefined);
});

test('settings edited by hand: a field that does not match the schema reads as the default', async ({
  redis,
  settings,
}) => {
  await redis.hset(RedisKeys.distribution, {
    strategy: 'round-robin',
    fixedOrder: '{not json',
    wrapUpSeconds: '15',
    autoPauseAfter: '-3',
    ringTimeoutSeconds: '600',
  });
  assert.equal(await settings.get(), { ...DEFAULT_DISTRIBUTION, wrapUpSeconds: 15 });
});

test.run();
