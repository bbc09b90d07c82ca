/**
 * HISTORY_RETENTION_DAYS against a real Redis: everything that holds a patient's number expires, an
 * abandoned task nobody called back included, and the retention sweep removes what expiry cannot
 * (stream entries, index entries, tasks an older Deskline wrote without a TTL).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { type CallView } from '@deskline/protocol';
import { RedisKeys, RedisStreams } from '@deskline/store';
import { RetentionSweep } from '@deskline/signaling/services/retention';
import { TaskStore } from '@deskline/signaling/services/task-store';
import { CallStore } from '@deskline/sip/calls/call-store';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';

const DAY_MS = 24 * 60 * 60_000;
const RETENTION_DAYS = 30;
const RETENTION_SECONDS = RETENTION_DAYS * 24 * 60 * 60;

interface Context {
  server: TestRedis;
  redis: Redis;
}

const test = suite<Context>("retention of patients' data");

test.before(async (context) => {
  context.server = await startTestRedis();
  context.redis = new Redis(context.server.url);
});

test.before.each(async (context) => {
  await context.redis.flushall();
});

test.after(async (context) => {
  context.redis?.disconnect();
  await context.server?.stop();
});

function abandonedCall(id: string, from: string, at = Date.now()): CallView {
  return { id, from, line: '100', state: 'abandoned', startedAt: at, queuedAt: at + 1000, endedAt: at + 5000 };
}

/** The TTL of every key (seconds; -1 none), except the indexes, which hold ids only. */
async function ttls(redis: Redis): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  for (const key of await redis.keys('*')) result.set(key, await redis.ttl(key));
  return result;
}

test("an abandoned call, its task, the patient's pointer and the call record all expire within the retention", async ({
  redis,
}) => {
  const number = '+48600700800';
  const call = abandonedCall('call-1', number);
  await new CallStore(redis, 'sip-1', RETENTION_DAYS).record(call);
  const tasks = new TaskStore(redis, { retentionDays: RETENTION_DAYS });
  const [entry] = await redis.xrange(RedisStreams.callEvents, '-', '+');
  assert.is(await tasks.applyCallEvent(call, entry?.[0] ?? '0-1'), 'applied');

  const taskId = await redis.get(RedisKeys.patientTask(number));
  assert.ok(taskId, 'the patient has an open abandoned task');
  const byKey = await ttls(redis);
  const holdingNumber = [
    RedisKeys.task(taskId),
    RedisKeys.patientTask(number),
    RedisKeys.callRecord('call-1'),
    RedisKeys.call('call-1'),
  ];
  for (const key of holdingNumber) {
    const ttl = byKey.get(key);
    assert.ok(
      ttl !== undefined && ttl > 0 && ttl <= RETENTION_SECONDS,
      `${key} expires within the retention (TTL ${ttl})`,
    );
  }
  // Every key without a TTL is an index of ids or a stream, which hold no number or are swept.
  for (const [key, ttl] of byKey) {
    if (ttl !== -1) continue;
    const type = await redis.type(key);
    const text =
      type === 'stream'
        ? ''
        : type === 'set'
          ? (await redis.smembers(key)).join()
          : type === 'zset'
            ? (await redis.zrange(key, 0, -1)).join()
            : ((await redis.get(key)) ?? '');
    assert.ok(type === 'stream' || !text.includes('600700800'), `${key} (${type}, no TTL) holds the number`);
  }
});

test('the sweep: an abandoned task older than the retention (written without a TTL) is gone with its pointer; a younger one gets a TTL; old stream entries and index entries go', async ({
  redis,
}) => {
  const now = Date.now();
  const old = now - (RETENTION_DAYS + 1) * DAY_MS;
  const young = now - 2 * DAY_MS;
  const legacyTask = (id: string, patient: string, at: number): string =>
    JSON.stringify({
      id,
      patient,
      status: 'abandoned',
      createdAt: at,
      updatedAt: at,
      attempts: 1,
      calls: [],
      applied: {},
      finished: [],
    });
  await redis
    .multi()
    .set(RedisKeys.task('old'), legacyTask('old', '+48600000001', old))
    .set(RedisKeys.patientTask('+48600000001'), 'old')
    .set(RedisKeys.task('young'), legacyTask('young', '+48600000002', young))
    .set(RedisKeys.patientTask('+48600000002'), 'young')
    .sadd(RedisKeys.openTasks, 'old', 'young', 'expired-already')
    .zadd(RedisKeys.callRecords, old, 'old-record', young, 'young-record')
    .zadd(RedisKeys.callbacks, old, 'old-callback')
    .zadd(RedisKeys.closedTasks, old, 'old-closed')
    .exec();
  // Stream entries with the times of the calls they describe (an entry's id is its time).
  await redis.xadd(
    RedisStreams.callEvents,
    `${old}-0`,
    'event',
    JSON.stringify({ call: abandonedCall('c-old', '+48600000001', old) }),
  );
  await redis.xadd(RedisStreams.callbackEvents, `${old}-0`, 'event', '{"callback":{"number":"+48600000001"}}');
  await redis.xadd(
    RedisStreams.callEvents,
    `${young}-0`,
    'event',
    JSON.stringify({ call: abandonedCall('c-young', '+48600000002', young) }),
  );

  const report = await new RetentionSweep(redis, RETENTION_DAYS).run(now);

  assert.is(
    await redis.exists(RedisKeys.task('old'), RedisKeys.patientTask('+48600000001')),
    0,
    'the old abandoned task and its pointer are gone',
  );
  assert.equal((await redis.smembers(RedisKeys.openTasks)).sort(), ['young']);
  const youngTtl = await redis.ttl(RedisKeys.task('young'));
  assert.ok(
    youngTtl > 0 && youngTtl <= RETENTION_SECONDS - 2 * 24 * 3600 + 5,
    `the young task expires ${RETENTION_DAYS} days after its last change (TTL ${youngTtl})`,
  );
  const pointerTtl = await redis.ttl(RedisKeys.patientTask('+48600000002'));
  assert.ok(pointerTtl > 0 && pointerTtl <= youngTtl, `its pointer goes with it (TTL ${pointerTtl})`);
  assert.equal(await redis.zrange(RedisKeys.callRecords, 0, -1), ['young-record']);
  assert.is(await redis.zcard(RedisKeys.callbacks), 0);
  assert.is(await redis.zcard(RedisKeys.closedTasks), 0);
  const left = (await redis.xrange(RedisStreams.callEvents, '-', '+')).map(([id]) => id);
  assert.equal(left, [`${young}-0`], 'only the stream entry younger than the retention is left');
  assert.is(await redis.xlen(RedisStreams.callbackEvents), 0);
  assert.equal(report, { streamEntries: 2, tasks: 1, indexEntries: 4, pointers: 1 });
});

test.run();
