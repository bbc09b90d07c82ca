/**
 * `deskline patient forget <number>`: a patient asks to be forgotten. Their calls go through the real
 * call path (sipp-like patient over Kamailio to the sip app, which writes the call, its SIP state,
 * the statistics record and the events); signaling's TaskStore projects them into an abandoned task
 * and starts a callback (grant), and the sip app's CallbackStore records the callback, as in
 * production. Then the real CLI runs, and every key of every type in Redis is read back.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type CallEvent, type CallbackView } from '@deskline/protocol';
import { RedisKeys, RedisStreams } from '@deskline/store';
import { TaskStore } from '@deskline/signaling/services/task-store';
import { CallbackStore } from '@deskline/sip/callbacks/callback-store';
import { CallEvents } from '../helpers/call-events.js';
import { CLINIC_NUMBER, startCallPath, type CallPath } from '../helpers/call-path.js';
import { runCli } from '../helpers/cli.js';
import { PatientLine } from '../helpers/patient-line.js';
import { PatientPhone } from '../helpers/patient-phone.js';

/** The patient to forget, as the trunk presents them (E.164), and their digits, looked for everywhere. */
const NUMBER = '+4915112345678';
const DIGITS = '4915112345678';
const OTHER = '+4917099988877';

interface Context {
  path: CallPath;
  events: CallEvents;
  line: PatientLine;
}

const test = suite<Context>('deskline patient forget');

test.before(async (context) => {
  context.path = await startCallPath({ appEnv: { SKIP_INTRO: 'true' } });
  context.events = await CallEvents.open(context.path.redisUrl);
  context.line = await PatientLine.open(context.path.kamailioPort);
});

test.after(async (context) => {
  await context.line?.close();
  await context.events?.close();
  await context.path?.stop();
});

/** A patient calls, waits in the queue (nobody is available) and hangs up: an abandoned call. */
async function missedCall(context: Context, from: string): Promise<void> {
  const media = await PatientPhone.open();
  try {
    const mark = context.events.mark();
    const dialog = await context.line.call({ line: CLINIC_NUMBER, rtpPort: media.port, from });
    await context.events.waitFor({ state: 'waiting', from: mark });
    const bye = await dialog.hangUp();
    assert.is(bye.status, 200);
    await context.events.waitFor({ state: 'abandoned', from: mark });
  } finally {
    media.close();
  }
}

/** Every key, with everything it holds as text: its name, its value or members, or its stream entries. */
async function dumpAll(context: Context): Promise<Map<string, string>> {
  const redis = context.path.redis;
  const dump = new Map<string, string>();
  for await (const keys of redis.scanStream({ count: 500 }) as AsyncIterable<string[]>) {
    for (const key of keys) {
      const type = await redis.type(key);
      let text: string;
      if (type === 'string') text = (await redis.get(key)) ?? '';
      else if (type === 'hash') text = JSON.stringify(await redis.hgetall(key));
      else if (type === 'set') text = (await redis.smembers(key)).join('\n');
      else if (type === 'zset') text = (await redis.zrange(key, 0, -1)).join('\n');
      else if (type === 'list') text = (await redis.lrange(key, 0, -1)).join('\n');
      else if (type === 'stream') text = JSON.stringify(await redis.xrange(key, '-', '+'));
      else text = `(type ${type})`;
      dump.set(key, `${type} ${key}\n${text}`);
    }
  }
  return dump;
}

const holding = (dump: Map<string, string>, digits: string): string[] =>
  [...dump].filter(([, text]) => text.includes(digits)).map(([key]) => key);

test("a forgotten number is in no key, no value and no stream entry afterwards; another patient's data is untouched", async (context) => {
  const { redis } = context.path;
  await missedCall(context, NUMBER);
  await missedCall(context, NUMBER);
  await missedCall(context, OTHER);

  // signaling's projector, as in production: the stream's events into tasks.
  const tasks = new TaskStore(redis, { retentionDays: 90 });
  for (const [id, fields] of await redis.xrange(RedisStreams.callEvents, '-', '+')) {
    const event = JSON.parse(fields[fields.indexOf('event') + 1] ?? '{}') as CallEvent;
    await tasks.applyCallEvent(event.call, id);
  }
  const taskId = await redis.get(RedisKeys.patientTask(NUMBER));
  const otherTaskId = await redis.get(RedisKeys.patientTask(OTHER));
  assert.ok(taskId && otherTaskId, 'each patient has an unanswered task');
  const task = await tasks.get(taskId);
  assert.is(task?.status, 'unanswered');
  assert.is(task?.patient, NUMBER);

  // A callback: signaling's grant, and the sip app's record of it and its events.
  const grant = await tasks.startCallback(
    task!,
    { userId: 'anna', workstationId: 'ws-1', sipUser: 'ws-ws-1' },
    { key: RedisKeys.callbackCount('anna', '2026-12-06'), max: 50 },
  );
  assert.ok('token' in grant);
  const callbacks = new CallbackStore(redis, 90);
  const callback: CallbackView = {
    id: 'token' in grant ? grant.callbackId : '',
    taskId,
    number: NUMBER,
    userId: 'anna',
    workstationId: 'ws-1',
    state: 'dialing',
    startedAt: Date.now(),
  };
  await callbacks.record(callback);
  await callbacks.record({ ...callback, state: 'ended', outcome: 'no-answer', endedAt: Date.now() });
  // A second grant, not yet taken by the sip app, holds the number too.
  await redis.del(RedisKeys.taskCallback(taskId));
  const pending = await tasks.startCallback(
    task!,
    { userId: 'ben', workstationId: 'ws-2', sipUser: 'ws-ws-2' },
    { key: RedisKeys.callbackCount('ben', '2026-12-06'), max: 50 },
  );
  assert.ok('token' in pending);

  const before = await dumpAll(context);
  const kinds = holding(before, DIGITS).map((key) => key.replace(/:.*$/, ':'));
  for (const kind of ['call:', 'call-record:', 'task:', 'patient-task:', 'callback:', 'callback-grant:', 'stream:']) {
    assert.ok(kinds.includes(kind), `before: some ${kind} key holds the number (${kinds.join(' ')})`);
  }
  const otherBefore = holding(before, OTHER.slice(1));

  // Given in another spelling than the trunk's (00 instead of +).
  const result = await runCli(['patient', 'forget', `00${DIGITS}`], { REDIS_URL: context.path.redisUrl });
  assert.is(result.code, 0, result.stderr);
  console.log(
    result.stdout
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n'),
  );
  assert.match(result.stdout, new RegExp(`^removed task: task:${taskId}$`, 'm'));
  assert.match(result.stdout, /^removed callback: callback:/m);
  assert.match(result.stdout, /^removed call record \(statistics\): call-record:/m);
  assert.match(result.stdout, /^removed stream entry: stream:call-events /m);
  assert.match(result.stdout, /^removed stream entry: stream:callback-events /m);

  const after = await dumpAll(context);
  assert.equal(holding(after, DIGITS), [], 'no key, value, member or stream entry holds the number');
  // Nor an index entry that leads to what was removed.
  assert.not.ok(await redis.sismember(RedisKeys.openTasks, taskId));
  assert.is(await redis.zscore(RedisKeys.callbacks, callback.id), null);

  // The other patient: everything as before.
  assert.equal(holding(after, OTHER.slice(1)), otherBefore);
  assert.is((await tasks.get(otherTaskId))?.patient, OTHER);
  assert.ok(await redis.sismember(RedisKeys.openTasks, otherTaskId));

  // Forgetting again finds nothing.
  const again = await runCli(['patient', 'forget', NUMBER], { REDIS_URL: context.path.redisUrl });
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, /Nothing held this number\./);
});

test('a text that is not a number is refused, and nothing is removed', async (context) => {
  const keys = await context.path.redis.dbsize();
  const result = await runCli(['patient', 'forget', 'abc'], { REDIS_URL: context.path.redisUrl });
  assert.is(result.code, 2);
  assert.match(result.stderr, /"abc" is not a phone number/);
  assert.is(await context.path.redis.dbsize(), keys);
});

test.run();
