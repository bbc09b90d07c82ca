/**
 * Voicemail messages leaving (issue 15), against a real Redis and signaling's projector: retention,
 * a message file lost on disk, and a crash at each step of a deletion. What a receptionist sees: a
 * task that outlives its message says why it cannot be played and offers no player; no task names a
 * message that is gone; and nothing a crash leaves behind is missed by the next sweep.
 */
import { existsSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { SESSION_COOKIE, voicemailAudioPath, type VoicemailMessage } from '@deskline/protocol';
import { RedisKeys, RedisStreams, VoicemailStore } from '@deskline/store';
import { RetentionSweep } from '@deskline/signaling/services/retention';
import { forgetPatient } from '@deskline/signaling/services/patient-forget';
import { messageLeftTask } from '../../helpers/board-tasks.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { buildTestApp, createUser, loginOk, type LoggedIn } from '../../helpers/signaling.js';
import { storeVoicemail } from '../../helpers/voicemail.js';

const DAY_MS = 24 * 60 * 60_000;
const RETENTION_DAYS = 30;

interface Context {
  server: TestRedis;
  db: Redis;
  app: FastifyInstance;
  dir: string;
  manager: LoggedIn;
}

const test = suite<Context>('call plan: voicemail messages leaving (retention, lost files, crashes)');

test.before(async (context) => {
  context.dir = mkdtempSync(path.join(os.tmpdir(), 'deskline-voicemail-retention-'));
  context.server = await startTestRedis();
  context.db = new Redis(context.server.url);
  context.app = await buildTestApp(context.server.url, {
    RECORDINGS_DIR: context.dir,
    HISTORY_RETENTION_DAYS: String(RETENTION_DAYS),
  });
  await context.app.ready();
  context.manager = await loginOk(
    context.app,
    'maria@clinic.example',
    await createUser(context.app, 'maria@clinic.example', 'manager'),
  );
});

test.after(async (context) => {
  await context.app?.close();
  context.db?.disconnect();
  await context.server?.stop();
  if (context.dir) rmSync(context.dir, { recursive: true, force: true });
});

const fileOf = (context: Context, id: string): string => path.join(context.dir, `${id}.mp3`);

/** A message left `daysAgo` days ago (its file written then too), and its task on the board. */
async function oldMessage(context: Context, from: string, daysAgo: number): Promise<VoicemailMessage> {
  const createdAt = Date.now() - daysAgo * DAY_MS;
  const message = await storeVoicemail(context.db, context.dir, { callId: `call-${from}`, from, createdAt });
  utimesSync(fileOf(context, message.id), new Date(createdAt), new Date(createdAt));
  await messageLeftTask(context.app, context.db, message);
  return message;
}

function sweep(context: Context): RetentionSweep {
  return new RetentionSweep(context.db, RETENTION_DAYS, context.app.voicemail, context.app.tasks);
}

function play(context: Context, id: string) {
  return context.app.inject({
    method: 'GET',
    url: voicemailAudioPath(id),
    cookies: { [SESSION_COOKIE]: context.manager.cookie },
  });
}

/** Every task in Redis that still names message `id` anywhere (its voicemail, its call). */
async function tasksNaming(db: Redis, id: string): Promise<string[]> {
  const keys = await db.keys(RedisKeys.task('*'));
  const named: string[] = [];
  for (const key of keys) if (((await db.get(key)) ?? '').includes(id)) named.push(key);
  return named;
}

async function taskOf(context: Context, message: VoicemailMessage) {
  const taskId = await context.db.get(RedisKeys.callTask(message.callId));
  assert.ok(taskId, "the message's call has a task");
  const task = await context.app.tasks.get(taskId);
  assert.ok(task, 'the task is there');
  return task;
}

test('retention deletes a 31-day-old message; its task stays, says so, and names the message nowhere, its expiry unchanged', async (context) => {
  const message = await oldMessage(context, '+48600200100', 31);
  const before = await taskOf(context, message);
  assert.is(before.voicemail?.id, message.id);
  assert.is(before.call?.voicemailId, message.id);
  const ttlBefore = await context.db.ttl(RedisKeys.task(before.id));
  const [lastEvent] = await context.db.xrevrange(RedisStreams.boardEvents, '+', '-', 'COUNT', 1);

  const now = Date.now();
  const report = await sweep(context).run(now);
  assert.is(report.voicemails, 1);
  assert.not.ok(existsSync(fileOf(context, message.id)), 'the file is gone');
  assert.not.ok(await new VoicemailStore(context.db).has(message.id), 'the metadata is gone');

  const after = await taskOf(context, message);
  assert.equal(after.voicemail, {
    durationMs: message.durationMs,
    createdAt: message.createdAt,
    removed: { reason: 'retention', at: now },
  });
  assert.is(after.call?.voicemailId, undefined, "the task's call no longer names the message");
  assert.is(after.status, 'unanswered', 'still a task to call back');
  assert.is(after.updatedAt, before.updatedAt, 'its place on the board is unchanged');
  const ttlAfter = await context.db.ttl(RedisKeys.task(after.id));
  assert.ok(ttlAfter > 0 && ttlAfter <= ttlBefore, `its expiry is not pushed back: ${ttlBefore} s, then ${ttlAfter} s`);
  assert.equal(await tasksNaming(context.db, message.id), []);
  const [event] = await context.db.xrevrange(RedisStreams.boardEvents, '+', '-', 'COUNT', 1);
  assert.ok(event && event[0] !== lastEvent?.[0] && event[1].includes(after.id), 'the boards are told');
  assert.is((await play(context, message.id)).statusCode, 404);
  assert.is(
    await context.db.exists(RedisKeys.voicemailTask(message.id)),
    0,
    "the message's link to its task goes with it",
  );

  // A second run finds nothing more and leaves the task as it is.
  assert.is((await sweep(context).run(now + 60_000)).voicemails, 0);
  assert.equal((await taskOf(context, message)).voicemail?.removed, { reason: 'retention', at: now });
});

test('a crash after the task let go: file and metadata are still there, and the next run deletes them', async (context) => {
  const message = await oldMessage(context, '+48600200200', 31);
  const cutoff = Date.now() - RETENTION_DAYS * DAY_MS;
  const crash = context.app.voicemail.deleteOlderThan(cutoff, async (id) => {
    await context.app.tasks.voicemailRemoved(id, { reason: 'retention', at: Date.now() });
    throw new Error('signaling stopped here');
  });
  await crash.then(
    () => assert.unreachable('the crash'),
    (err: Error) => assert.is(err.message, 'signaling stopped here'),
  );
  assert.ok(existsSync(fileOf(context, message.id)), 'the file is still there');
  assert.ok(await new VoicemailStore(context.db).has(message.id), 'the metadata is still there');
  assert.equal(await tasksNaming(context.db, message.id), [], 'but no task offers it');

  assert.is((await sweep(context).run()).voicemails, 1);
  assert.not.ok(existsSync(fileOf(context, message.id)));
  assert.not.ok(await new VoicemailStore(context.db).has(message.id));
});

test('metadata without its file (a crash between the two): the next run deletes the metadata and its task lets go', async (context) => {
  const message = await oldMessage(context, '+48600200300', 31);
  unlinkSync(fileOf(context, message.id));
  assert.is((await sweep(context).run()).voicemails, 1);
  assert.not.ok(await new VoicemailStore(context.db).has(message.id));
  assert.is((await context.db.zscore(RedisKeys.voicemails, message.id)) ?? undefined, undefined);
  assert.equal((await taskOf(context, message)).voicemail?.removed?.reason, 'retention');
  assert.equal(await tasksNaming(context.db, message.id), []);
});

test('a file without metadata (the sip app stopped between its file and its save) goes once older than the retention; younger ones, files being written and other files stay', async (context) => {
  const orphan = (id: string, daysAgo: number): string => {
    const file = fileOf(context, id);
    writeFileSync(file, 'audio', { mode: 0o600 });
    const at = new Date(Date.now() - daysAgo * DAY_MS);
    utimesSync(file, at, at);
    return file;
  };
  const old = orphan('a'.repeat(32), 31);
  const young = orphan('b'.repeat(32), 2);
  const writing = path.join(context.dir, `.${'c'.repeat(32)}.part`);
  const other = path.join(context.dir, 'notes.txt');
  for (const file of [writing, other]) {
    writeFileSync(file, 'x');
    utimesSync(file, new Date(0), new Date(0));
  }
  const report = await sweep(context).run();
  assert.is(report.voicemailOrphanFiles, 1);
  assert.not.ok(existsSync(old), 'the old orphan is deleted');
  for (const file of [young, writing, other]) assert.ok(existsSync(file), `${path.basename(file)} stays`);
  assert.is((await sweep(context).run()).voicemailOrphanFiles, 0, 'a second run finds none');
});

test('a young message whose file is lost: playing it is 404 saying so, and its task says the recording is missing (no player); retention later deletes the metadata', async (context) => {
  const message = await oldMessage(context, '+48600200400', 1);
  unlinkSync(fileOf(context, message.id));
  const reply = await play(context, message.id);
  assert.is(reply.statusCode, 404);
  assert.match(reply.json<{ message: string }>().message, /audio file is missing/);
  const task = await taskOf(context, message);
  assert.is(task.voicemail?.id, undefined);
  assert.is(task.voicemail?.removed?.reason, 'file-missing');
  assert.equal(await tasksNaming(context.db, message.id), []);
  assert.ok(await new VoicemailStore(context.db).has(message.id), 'the metadata stays until the retention');

  const report = await sweep(context).run(message.createdAt + (RETENTION_DAYS + 1) * DAY_MS);
  assert.ok((report.voicemails ?? 0) >= 1);
  assert.not.ok(await new VoicemailStore(context.db).has(message.id));
  assert.is((await taskOf(context, message)).voicemail?.removed?.reason, 'file-missing', 'the first reason stays');
});

test('patient forget: the message and its task go together, no task is left naming it', async (context) => {
  const message = await oldMessage(context, '+48600200500', 1);
  const task = await taskOf(context, message);
  const report = await forgetPatient(context.db, '0048600200500', context.app.voicemail);
  assert.ok(report.removed.includes(`voicemail message: ${message.id}`), report.removed.join('\n'));
  assert.ok(report.removed.includes(`task: ${RedisKeys.task(task.id)}`), report.removed.join('\n'));
  assert.not.ok(existsSync(fileOf(context, message.id)));
  assert.is(await context.app.tasks.get(task.id), undefined);
  assert.equal(await tasksNaming(context.db, message.id), []);
});

test.run();
