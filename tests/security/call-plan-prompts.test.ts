/**
 * The attacker against the prompt routes (docs/call-plan.md, "Prompts"), over real HTTP to signaling
 * listening on a port (raw paths, so that `..` and encoded slashes reach the router as sent), with a
 * real Redis and the real sox: an employee, no session, no CSRF token, paths that try to leave the
 * prompts folder, a 50 MB body, a text file called a WAV. Every refusal leaves the folder as it was.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FastifyInstance } from 'fastify';
import { CSRF_HEADER, SESSION_COOKIE } from '@deskline/protocol';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { buildTestApp, createUser, loginOk, type LoggedIn } from '../helpers/signaling.js';

const run = promisify(execFile);
const root = mkdtempSync(path.join(tmpdir(), 'deskline-prompt-attack-'));
const promptsDir = path.join(root, 'prompts');
/** A file next to the prompts folder that a path with `..` would reach. */
const outside = path.join(root, 'secret.wav');

let redis: TestRedis;
let app: FastifyInstance;
let port: number;
let maria: LoggedIn;
let anna: LoggedIn;
let recording: Buffer;

interface Caller {
  cookie?: string;
  csrf?: string;
}
const as = (who: LoggedIn): Caller => ({ cookie: who.cookie, csrf: who.info.csrfToken });

/** One request with `rawPath` exactly as written; `body` is sent as is, or `bodyBytes` zero bytes streamed. */
function send(
  method: string,
  rawPath: string,
  caller: Caller,
  body?: Buffer | { bytes: number },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'audio/wav' };
    if (caller.cookie) headers['cookie'] = `${SESSION_COOKIE}=${caller.cookie}`;
    if (caller.csrf) headers[CSRF_HEADER] = caller.csrf;
    if (body !== undefined) headers['content-length'] = Buffer.isBuffer(body) ? body.length : body.bytes;
    const request = http.request({ host: '127.0.0.1', port, method, path: rawPath, headers }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    // The server may answer (413) and close before a big body is all sent.
    request.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err),
    );
    if (body === undefined) return request.end();
    if (Buffer.isBuffer(body)) return request.end(body);
    const chunk = Buffer.alloc(1024 * 1024);
    let left = body.bytes;
    const write = (): void => {
      while (left > 0) {
        const piece = chunk.subarray(0, Math.min(chunk.length, left));
        left -= piece.length;
        if (!request.write(piece)) return void request.once('drain', write);
      }
      request.end();
    };
    write();
  });
}

/** Every file under the test's folder, relative to it: what a refused request must not change. */
function files(): string[] {
  return (readdirSync(root, { recursive: true }) as string[]).sort();
}

test.before(async () => {
  redis = await startTestRedis();
  app = await buildTestApp(redis.url, { PROMPTS_DIR: promptsDir });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
  maria = await loginOk(app, 'maria@clinic.example', await createUser(app, 'maria@clinic.example', 'manager'));
  anna = await loginOk(app, 'anna@clinic.example', await createUser(app, 'anna@clinic.example', 'employee'));
  writeFileSync(outside, 'not for callers');
  const source = path.join(root, 'source.wav');
  await run('sox', ['-R', '-n', '-r', '8000', '-c', '1', source, 'synth', '2', 'sine', '500', 'gain', '-10']);
  recording = readFileSync(source);
  rmSync(source);
  // The manager's own upload, which every attack below must leave as it is.
  const put = await send('PUT', '/api/settings/prompts/en/intro', as(maria), recording);
  assert.is(put.status, 200, put.body);
});

test.after(async () => {
  await app.close();
  await redis.stop();
  rmSync(root, { recursive: true, force: true });
});

test('an employee is refused every prompt route (403), and an anonymous caller too (401)', async () => {
  const before = files();
  const uploaded = readFileSync(path.join(promptsDir, 'en/intro.wav'));
  for (const [method, p, body] of [
    ['GET', '/api/settings/prompts', undefined],
    ['GET', '/api/settings/prompts/en/intro/audio', undefined],
    ['PUT', '/api/settings/prompts/en/intro', recording],
    ['PUT', '/api/settings/prompts/pl/closed', recording],
    ['DELETE', '/api/settings/prompts/en/intro', undefined],
    ['GET', '/api/settings/hold-music/audio', undefined],
    ['PUT', '/api/settings/hold-music', recording],
    ['DELETE', '/api/settings/hold-music', undefined],
  ] as const) {
    const employee = await send(method, p, as(anna), body);
    assert.is(employee.status, 403, `employee ${method} ${p}: ${employee.body}`);
    const anonymous = await send(method, p, {}, body);
    assert.is(anonymous.status, 401, `anonymous ${method} ${p}: ${anonymous.body}`);
  }
  assert.equal(files(), before);
  assert.ok(readFileSync(path.join(promptsDir, 'en/intro.wav')).equals(uploaded), "the manager's upload is intact");
});

test('a manager without the CSRF token cannot upload or delete (403)', async () => {
  const before = files();
  for (const [method, p, body] of [
    ['PUT', '/api/settings/prompts/pl/closed', recording],
    ['DELETE', '/api/settings/prompts/en/intro', undefined],
    ['PUT', '/api/settings/hold-music', recording],
    ['DELETE', '/api/settings/hold-music', undefined],
  ] as const) {
    const reply = await send(method, p, { cookie: maria.cookie }, body);
    assert.is(reply.status, 403, `${method} ${p}: ${reply.body}`);
  }
  assert.equal(files(), before);
});

test('paths that try to leave the prompts folder are 404 for a manager, and touch no file', async () => {
  const before = files();
  const names = [
    '..',
    '%2e%2e',
    '..%2fsecret',
    '..%2f..%2fsecret',
    '%2e%2e%2f%2e%2e%2fsecret',
    '..%5c..%5csecret',
    'intro%00',
    'intro.wav',
    '.intro',
    '%252e%252e%252fsecret',
    'intro%2f..%2f..%2f..%2fsecret',
  ];
  const langs = ['en', '..', '%2e%2e', '..%2f..', 'en%2f..', '.'];
  let requests = 0;
  for (const lang of langs) {
    for (const name of names.concat(lang === 'en' ? [] : ['intro'])) {
      for (const [method, p, body] of [
        ['GET', `/api/settings/prompts/${lang}/${name}/audio`, undefined],
        ['PUT', `/api/settings/prompts/${lang}/${name}`, recording],
        ['DELETE', `/api/settings/prompts/${lang}/${name}`, undefined],
      ] as const) {
        const reply = await send(method, p, as(maria), body);
        requests += 1;
        assert.is(reply.status, 404, `${method} ${p}: ${reply.status} ${reply.body}`);
        assert.not.ok(reply.body.includes('not for callers'), `${method} ${p} sent the file outside`);
      }
    }
  }
  assert.equal(files(), before);
  assert.is(readFileSync(outside, 'utf8'), 'not for callers');
  console.log(`  ${requests} requests with .. and encoded slashes, all 404`);
});

test('a 50 MB body is refused with 413 before it is read, and the previous recording stays', async () => {
  const before = files();
  const uploaded = readFileSync(path.join(promptsDir, 'en/intro.wav'));
  const started = Date.now();
  for (const p of ['/api/settings/prompts/en/intro', '/api/settings/hold-music']) {
    const reply = await send('PUT', p, as(maria), { bytes: 50 * 1024 * 1024 });
    assert.is(reply.status, 413, `${p}: ${reply.body}`);
    assert.match(reply.body, /larger than 10 MB/);
  }
  assert.equal(files(), before);
  assert.ok(readFileSync(path.join(promptsDir, 'en/intro.wav')).equals(uploaded));
  console.log(`  50 MB twice: 413 in ${Date.now() - started} ms`);
});

test('a text file called a WAV, and one that starts like an MP3, are 400 and stored nowhere', async () => {
  const before = files();
  for (const body of [
    Buffer.from('#!/bin/sh\nrm -rf /\n'.repeat(100)),
    Buffer.concat([Buffer.from('ID3'), Buffer.from('#!/bin/sh\nrm -rf /\n'.repeat(100))]),
  ]) {
    const reply = await send('PUT', '/api/settings/prompts/en/intro', as(maria), body);
    assert.is(reply.status, 400, reply.body);
    assert.match(reply.body, /not an audio file we can read/);
  }
  assert.equal(files(), before);
});

test.run();
