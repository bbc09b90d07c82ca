/**
 * GET /api/voicemail/:id/audio against the real app on a port, with raw HTTP requests (every byte
 * of the path as sent): who may hear a message, what an attacker gets for other ids and paths, and
 * range abuse. And that retention and `patient forget` delete the audio with the metadata.
 */
import http from 'node:http';
import { existsSync, mkdtempSync, rmSync, unlinkSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { SESSION_COOKIE, type TaskView, type VoicemailMessage } from '@deskline/protocol';
import { RedisKeys, VoicemailStore } from '@deskline/store';
import { RetentionSweep } from '@deskline/signaling/services/retention';
import { forgetPatient } from '@deskline/signaling/services/patient-forget';
import { VoicemailService } from '@deskline/signaling/services/voicemail-service';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { buildTestApp, createUser, loginOk, type LoggedIn } from '../helpers/signaling.js';
import { messageLeftTask, wrapUpTask } from '../helpers/board-tasks.js';
import { storeVoicemail } from '../helpers/voicemail.js';

interface Context {
  redis: TestRedis;
  db: Redis;
  app: FastifyInstance;
  port: number;
  dir: string;
  manager: LoggedIn;
  anna: LoggedIn;
  ben: LoggedIn;
  bensTask: TaskView;
  message: VoicemailMessage;
  audio: Buffer;
}

const test = suite<Context>('voicemail audio: access, paths and ranges');

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function send(port: number, rawPath: string, who?: LoggedIn, headers: http.OutgoingHttpHeaders = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'GET',
        path: rawPath,
        headers: { ...headers, ...(who ? { cookie: `${SESSION_COOKIE}=${who.cookie}` } : {}) },
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    request.on('error', reject);
    request.end();
  });
}

test.before(async (context) => {
  context.dir = mkdtempSync(path.join(os.tmpdir(), 'deskline-voicemail-audio-'));
  context.redis = await startTestRedis();
  context.db = new Redis(context.redis.url);
  context.app = await buildTestApp(context.redis.url, { RECORDINGS_DIR: context.dir });
  await context.app.listen({ host: '127.0.0.1', port: 0 });
  context.port = (context.app.server.address() as AddressInfo).port;
  context.manager = await loginOk(
    context.app,
    'maria@clinic.example',
    await createUser(context.app, 'maria@clinic.example', 'manager'),
  );
  context.anna = await loginOk(
    context.app,
    'anna@clinic.example',
    await createUser(context.app, 'anna@clinic.example', 'employee'),
  );
  context.ben = await loginOk(
    context.app,
    'ben@clinic.example',
    await createUser(context.app, 'ben@clinic.example', 'employee'),
  );
  // A message whose task is Ben's (in his wrap-up: Anna does not see it on the board).
  context.bensTask = await wrapUpTask(context.app, context.db, context.ben.info.user.id, '+48600100300');
  context.audio = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
  context.message = await storeVoicemail(context.db, context.dir, {
    callId: 'call-with-a-message',
    from: '+48600100300',
    audio: context.audio,
  });
  await context.db.set(RedisKeys.callTask(context.message.callId), context.bensTask.id);
});

test.after(async (context) => {
  await context.app?.close();
  context.db?.disconnect();
  await context.redis?.stop();
  if (context.dir) rmSync(context.dir, { recursive: true, force: true });
});

test('whoever may see the task hears the message, a manager always; another employee gets 403, nobody 401', async (context) => {
  const p = `/api/voicemail/${context.message.id}/audio`;
  for (const who of [context.ben, context.manager]) {
    const reply = await send(context.port, p, who);
    assert.is(reply.status, 200);
    assert.ok(reply.body.equals(context.audio), 'the whole file');
    assert.is(reply.headers['content-type'], 'audio/mpeg');
    assert.is(reply.headers['cache-control'], 'no-store');
    assert.is(reply.headers['accept-ranges'], 'bytes');
    assert.is(reply.headers['x-content-type-options'], 'nosniff');
  }
  const anna = await send(context.port, p, context.anna);
  assert.is(anna.status, 403, anna.body.toString());
  assert.not.ok(anna.body.includes(context.audio.subarray(0, 64)), 'no audio in the refusal');
  assert.is((await send(context.port, p)).status, 401);
  // A message whose task is not known (its call's link to it expired, and no open task holds it): managers only.
  const orphan = await storeVoicemail(context.db, context.dir, { callId: 'call-without-task', from: '+48600100301' });
  const orphanPath = `/api/voicemail/${orphan.id}/audio`;
  assert.is((await send(context.port, orphanPath, context.anna)).status, 403);
  assert.is((await send(context.port, orphanPath, context.manager)).status, 200);
});

test('ids of another form, `..` spellings and guessed ids are 400 or 404, never a file', async (context) => {
  const guessed = 'f'.repeat(32);
  const paths = [
    `/api/voicemail/${guessed}/audio`,
    `/api/voicemail/${context.message.id.toUpperCase()}/audio`,
    `/api/voicemail/${context.message.id}.mp3/audio`,
    `/api/voicemail/${context.message.id.slice(1)}/audio`,
    `/api/voicemail/..%2f..%2fetc%2fpasswd/audio`,
    `/api/voicemail/%2e%2e/audio`,
    `/api/voicemail/..%252f${context.message.id}/audio`,
    `/api/voicemail/${context.message.id}%00/audio`,
    `/api/voicemail/x/../${context.message.id}/audio/..`,
    `/api/voicemail/${encodeURIComponent('../' + context.message.id)}/audio`,
    `/recordings/${context.message.id}.mp3`,
    `/api/voicemail/${context.message.id}.mp3`,
    `/${context.message.id}.mp3`,
  ];
  for (const p of paths) {
    const reply = await send(context.port, p, context.manager);
    assert.ok([400, 404].includes(reply.status), `${p}: ${reply.status}`);
    assert.not.ok(reply.body.includes(context.audio.subarray(0, 64)), `${p}: no audio`);
  }
});

test('ranges: one range is 206 with its bytes (seeking), beyond the end or bytes=-0 is 416, several ranges get the whole file', async (context) => {
  const p = `/api/voicemail/${context.message.id}/audio`;
  const size = context.audio.length;
  const middle = await send(context.port, p, context.manager, { range: 'bytes=5000-5999' });
  assert.is(middle.status, 206);
  assert.is(middle.headers['content-range'], `bytes 5000-5999/${size}`);
  assert.ok(middle.body.equals(context.audio.subarray(5000, 6000)));
  const open = await send(context.port, p, context.manager, { range: 'bytes=9000-' });
  assert.is(open.status, 206);
  assert.ok(open.body.equals(context.audio.subarray(9000)));
  const suffix = await send(context.port, p, context.manager, { range: 'bytes=-100' });
  assert.is(suffix.status, 206);
  assert.ok(suffix.body.equals(context.audio.subarray(size - 100)));
  const clamped = await send(context.port, p, context.manager, { range: 'bytes=9990-999999999' });
  assert.is(clamped.status, 206);
  assert.is(clamped.body.length, 10);
  for (const range of ['bytes=-0', `bytes=${size}-`, 'bytes=999999999999-', 'bytes=500-100']) {
    const reply = await send(context.port, p, context.manager, { range });
    assert.is(reply.status, 416, range);
    assert.is(reply.headers['content-range'], `bytes */${size}`, range);
    assert.not.ok(reply.body.includes(context.audio.subarray(0, 64)));
  }
  const many = await send(context.port, p, context.manager, {
    range: `bytes=${Array.from({ length: 200 }, (_, i) => `${i}-${i}`).join(',')}`,
  });
  assert.is(many.status, 200, 'several ranges: the whole file, once (no multipart amplification)');
  assert.is(many.body.length, size);
  for (const range of ['bytes=abc', 'items=0-1', 'bytes=--1', `bytes=${'9'.repeat(40)}-`]) {
    const reply = await send(context.port, p, context.manager, { range });
    assert.is(reply.status, 200, range);
    assert.is(reply.body.length, size, range);
  }
});

test('every fetch is in the audit log, which managers read and employees may not', async (context) => {
  const before = (await new VoicemailStore(context.db).plays()).length;
  await send(context.port, `/api/voicemail/${context.message.id}/audio`, context.ben, { range: 'bytes=0-' });
  const audit = await send(context.port, '/api/voicemail/audit', context.manager);
  assert.is(audit.status, 200);
  const { plays } = JSON.parse(audit.body.toString()) as {
    plays: Array<{ voicemailId: string; userId: string; range: string }>;
  };
  assert.is(plays.length, before + 1);
  assert.equal(
    { voicemailId: plays[0]?.voicemailId, userId: plays[0]?.userId, range: plays[0]?.range },
    { voicemailId: context.message.id, userId: context.ben.info.user.id, range: 'bytes=0-' },
  );
  assert.is((await send(context.port, '/api/voicemail/audit', context.anna)).status, 403);
  assert.is((await send(context.port, '/api/voicemail/audit')).status, 401);
});

test('retention deletes an old message (file and metadata); patient forget deletes that patient’s messages; a deleted message is 404', async (context) => {
  const service = new VoicemailService(context.db, context.dir);
  const now = Date.now();
  const old = await storeVoicemail(context.db, context.dir, {
    callId: 'old-call',
    from: '+48600100400',
    createdAt: now - 91 * 86_400_000,
  });
  const oldFile = path.join(context.dir, `${old.id}.mp3`);
  utimesSync(oldFile, new Date(old.createdAt), new Date(old.createdAt));
  const report = await new RetentionSweep(context.db, 90, service).run(now);
  assert.is(report.voicemails, 1);
  assert.not.ok(existsSync(oldFile));
  assert.is(await new VoicemailStore(context.db).get(old.id), undefined);
  assert.is((await send(context.port, `/api/voicemail/${old.id}/audio`, context.manager)).status, 404);
  assert.ok(existsSync(path.join(context.dir, `${context.message.id}.mp3`)), 'a recent message stays');

  const patients = await storeVoicemail(context.db, context.dir, { callId: 'forget-call', from: '+48600100500' });
  const forgotten = await forgetPatient(context.db, '0048600100500', service);
  assert.ok(forgotten.removed.includes(`voicemail message: ${patients.id}`), forgotten.removed.join('\n'));
  assert.not.ok(existsSync(path.join(context.dir, `${patients.id}.mp3`)));
  assert.is(await new VoicemailStore(context.db).get(patients.id), undefined);
  assert.is((await send(context.port, `/api/voicemail/${patients.id}/audio`, context.manager)).status, 404);
});

test("a message whose file is missing: someone who may not hear it gets 403 and changes nothing; a manager's 404 marks its task", async (context) => {
  const message = await storeVoicemail(context.db, context.dir, { callId: 'call-lost-file', from: '+48600100600' });
  const left = await messageLeftTask(context.app, context.db, message);
  // The patient called again and Ben answered: the task (with the message) is in Ben's wrap-up, which Anna does not see.
  const task = await wrapUpTask(context.app, context.db, context.ben.info.user.id, message.from);
  assert.is(task.id, left.id);
  assert.is(task.voicemail?.id, message.id);
  unlinkSync(path.join(context.dir, `${message.id}.mp3`));
  const p = `/api/voicemail/${message.id}/audio`;
  for (const spelling of [p, p.replace('/audio', '/AUDIO'), `${p}?x=1`]) {
    const reply = await send(context.port, spelling, context.anna);
    assert.ok(reply.status === 403 || reply.status === 404, `${spelling}: ${reply.status}`);
    assert.not.ok(reply.body.toString().includes('missing'), `${spelling}: says nothing about the file`);
  }
  assert.is((await send(context.port, p)).status, 401);
  assert.is((await context.app.tasks.get(task.id))?.voicemail?.id, message.id, 'the task is untouched');

  const manager = await send(context.port, p, context.manager);
  assert.is(manager.status, 404);
  assert.match(manager.body.toString(), /audio file is missing/);
  assert.is((await context.app.tasks.get(task.id))?.voicemail?.removed?.reason, 'file-missing');
});

test.run();
