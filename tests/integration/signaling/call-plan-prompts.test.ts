/**
 * The call plan's prompts (docs/call-plan.md, "Prompts"): the built-in ones in both languages, and a
 * manager's recording in place of one (PUT /api/settings/prompts/:lang/:name, converted by the real
 * sox to a WAV for the preview and a μ-law `.au` for rtpengine), its preview, and DELETE back to the built-in one; against a real redis-server, with the sip
 * app's PromptFiles reading the same folder.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LightMyRequestResponse } from 'fastify';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ALL_PROMPT_NAMES,
  PROMPT_LANGUAGES,
  SESSION_COOKIE,
  type ApiError,
  type HoldMusicInfo,
  type PromptInfo,
  type PromptList,
} from '@deskline/protocol';
import { PromptFiles } from '@deskline/sip/media/prompt-files';
import {
  asUser,
  buildTestApp,
  createUser,
  loginOk,
  putRecording,
  useFreshApp,
  type LoggedIn,
} from '../../helpers/signaling.js';
import { REPO_ROOT } from '../../helpers/launcher.js';
import { waitFor } from '../../helpers/wait.js';

const run = promisify(execFile);
const promptsDir = mkdtempSync(path.join(tmpdir(), 'deskline-prompts-'));
const work = mkdtempSync(path.join(tmpdir(), 'deskline-prompt-sources-'));
const mediaDir = path.join(REPO_ROOT, 'pbx-config/media');
const fixture = useFreshApp(test, { PROMPTS_DIR: promptsDir, MEDIA_DIR: mediaDir });
let maria: LoggedIn;

test.before.each(async () => {
  rmSync(promptsDir, { recursive: true, force: true });
  maria = await loginOk(
    fixture.app,
    'maria@clinic.example',
    await createUser(fixture.app, 'maria@clinic.example', 'manager'),
  );
});

test.after(() => {
  rmSync(promptsDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

/** A recording made by sox: `seconds` of a 440 Hz tone warbling like a voice, at `level` dB, in `format` (its file extension). */
async function recording(format: string, seconds: number, options: { rate?: number; level?: number } = {}) {
  const file = path.join(work, `source-${format}-${seconds}-${options.rate ?? 44100}.${format}`);
  await run('sox', [
    '-R',
    '-n',
    // MP3 at 32 kb/s: twelve minutes fit under the 10 MB limit.
    ...(format === 'mp3' ? ['-C', '32'] : []),
    '-r',
    String(options.rate ?? 44100),
    '-c',
    '2',
    file,
    'synth',
    String(seconds),
    'sine',
    '440',
    'tremolo',
    '4',
    '60',
    'gain',
    String(options.level ?? -30),
  ]);
  return readFileSync(file);
}

function upload(lang: string, name: string, body: Buffer, contentType: string): Promise<LightMyRequestResponse> {
  return putRecording(fixture.app, maria, `/api/settings/prompts/${lang}/${name}`, body, contentType);
}

async function soxStats(file: string): Promise<{ rms: number; peak: number }> {
  const { stderr } = await run('sox', [file, '-n', 'stats']);
  const value = (name: string) => Number(new RegExp(`^${name}\\s+(-?[0-9.]+)`, 'm').exec(stderr)?.[1]);
  return { rms: value('RMS lev dB'), peak: value('Pk lev dB') };
}

async function soxi(file: string): Promise<string> {
  const [rate, channels, bits, encoding] = await Promise.all(
    ['-r', '-c', '-b', '-e'].map(async (flag) => (await run('soxi', [flag, file])).stdout.trim()),
  );
  return `${rate} Hz, ${channels} channel, ${bits} bit, ${encoding}`;
}

async function soxiSeconds(file: string): Promise<number> {
  return Number((await run('soxi', ['-D', file])).stdout);
}

/**
 * The upload `<base>.wav` and the `.au` beside it, which rtpengine plays: telephone format, the same
 * audio (length), readable by rtpengine's group and nobody else.
 */
async function assertUploadPair(base: string, seconds: number): Promise<void> {
  const [wav, au] = [`${base}.wav`, `${base}.au`];
  assert.is(await soxi(wav), '8000 Hz, 1 channel, 16 bit, Signed Integer PCM');
  assert.is(await soxi(au), '8000 Hz, 1 channel, 8 bit, u-law');
  for (const file of [wav, au]) {
    assert.is((statSync(file).mode & 0o777).toString(8), '640', file);
    const length = await soxiSeconds(file);
    assert.ok(Math.abs(length - seconds) < 0.05, `${file}: ${length} s, not ${seconds} s`);
  }
  // Not older than the WAV, or the sip app would take the WAV for a replacement of both (playableFile).
  assert.ok(statSync(au).mtimeMs >= statSync(wav).mtimeMs, 'the .au is written after the .wav');
}

test('the list: every prompt in English and Polish, built-in, with the length of its file', async () => {
  const response = await asUser(fixture.app, maria, 'GET', '/api/settings/prompts');
  assert.is(response.statusCode, 200, response.body);
  const { prompts, holdMusic } = response.json<PromptList>();
  assert.equal(holdMusic, { source: 'built-in', durationMs: 24_000 });
  assert.is(prompts.length, PROMPT_LANGUAGES.length * ALL_PROMPT_NAMES.length);
  for (const prompt of prompts) {
    assert.is(prompt.source, 'built-in', `${prompt.language}/${prompt.name}`);
    // The shortest built-in prompt ("Prosimy wybrać opcję z menu.") is over a second.
    assert.ok(
      prompt.durationMs > 1000 && prompt.durationMs < 15_000,
      `${prompt.language}/${prompt.name}: ${prompt.durationMs} ms`,
    );
  }
  const intro = prompts.find((p) => p.language === 'pl' && p.name === 'intro')!;
  const seconds = await soxiSeconds(path.join(mediaDir, 'prompts/pl/intro.wav'));
  assert.ok(Math.abs(intro.durationMs / 1000 - seconds) < 0.01, `pl/intro: ${intro.durationMs} ms, soxi ${seconds} s`);
  console.log(`  ${prompts.length} built-in prompts, pl/intro ${seconds} s`);
});

for (const [format, contentType] of [
  ['mp3', 'audio/mpeg'],
  ['ogg', 'audio/ogg'],
  ['wav', 'audio/wav'],
  ['flac', 'audio/flac'],
] as const) {
  test(`a manager's ${format.toUpperCase()} becomes 8 kHz mono 16-bit WAV at the built-in prompts' loudness, plays in calls, and previews`, async () => {
    const source = await recording(format, 4);
    const response = await upload('pl', 'closed', source, contentType);
    assert.is(response.statusCode, 200, response.body);
    const info = response.json<PromptInfo>();
    assert.is(info.source, 'uploaded');
    assert.ok(Math.abs(info.durationMs - 4000) < 100, `${info.durationMs} ms`);
    assert.is(info.uploadedBy?.displayName, 'maria');
    assert.ok(Math.abs(Date.parse(info.uploadedAt ?? '') - Date.now()) < 60_000, info.uploadedAt);

    const file = path.join(promptsDir, 'pl/closed.wav');
    const au = path.join(promptsDir, 'pl/closed.au');
    await assertUploadPair(path.join(promptsDir, 'pl/closed'), 4);
    const { rms, peak } = await soxStats(file);
    const builtIn = await soxStats(path.join(mediaDir, 'prompts/pl/closed.wav'));
    // The source was at -30 dB peak; the upload is brought to the speech level of the built-in ones.
    assert.ok(peak <= -2.9, `peak ${peak} dB`);
    assert.ok(Math.abs(rms - -21) < 1 || Math.abs(peak - -3) < 0.2, `rms ${rms} dB, peak ${peak} dB`);
    console.log(`  ${format}: rms ${rms} dB, peak ${peak} dB (built-in: rms ${builtIn.rms}, peak ${builtIn.peak})`);
    // Nothing else is left in the folder (the temporary files are gone).
    assert.equal(
      (await run('find', [promptsDir, '-type', 'f'])).stdout.trim().split('\n').sort(),
      [au, file],
      'only the converted prompt is kept',
    );

    // The sip app's PromptFiles plays the upload's .au; the other language keeps its built-in one.
    const files = new PromptFiles(mediaDir, promptsDir);
    assert.is(files.prompt('pl', 'closed'), au);
    assert.is(files.prompt('en', 'closed'), path.join(mediaDir, 'prompts/en/closed.au'));

    const list = (await asUser(fixture.app, maria, 'GET', '/api/settings/prompts')).json<PromptList>().prompts;
    assert.equal(
      list.filter((p) => p.source === 'uploaded').map((p) => `${p.language}/${p.name}`),
      ['pl/closed'],
    );

    const audio = await asUser(fixture.app, maria, 'GET', '/api/settings/prompts/pl/closed/audio');
    assert.is(audio.statusCode, 200);
    assert.is(audio.headers['content-type'], 'audio/wav');
    assert.is(audio.headers['cache-control'], 'no-store');
    assert.ok(audio.rawPayload.equals(readFileSync(file)), 'the preview is the file calls play');
  });
}

test('a second upload replaces both files; DELETE brings the built-in prompt back: both files go, the preview and PromptFiles give the built-in one', async () => {
  const base = path.join(promptsDir, 'en/menu');
  assert.is((await upload('en', 'menu', await recording('mp3', 3), 'audio/mpeg')).statusCode, 200);
  await assertUploadPair(base, 3);
  assert.is((await upload('en', 'menu', await recording('wav', 2), 'audio/wav')).statusCode, 200);
  await assertUploadPair(base, 2);
  assert.is(new PromptFiles(mediaDir, promptsDir).prompt('en', 'menu'), `${base}.au`);
  const response = await asUser(fixture.app, maria, 'DELETE', '/api/settings/prompts/en/menu');
  assert.is(response.statusCode, 200, response.body);
  const info = response.json<PromptInfo>();
  assert.is(info.source, 'built-in');
  assert.is(info.uploadedBy, undefined);
  assert.not.ok(existsSync(`${base}.wav`));
  assert.not.ok(existsSync(`${base}.au`));
  assert.is(new PromptFiles(mediaDir, promptsDir).prompt('en', 'menu'), path.join(mediaDir, 'prompts/en/menu.au'));
  const audio = await asUser(fixture.app, maria, 'GET', '/api/settings/prompts/en/menu/audio');
  assert.ok(
    audio.rawPayload.equals(readFileSync(path.join(mediaDir, 'prompts/en/menu.wav'))),
    'the preview plays the WAV',
  );
  // Deleting again is harmless.
  assert.is((await asUser(fixture.app, maria, 'DELETE', '/api/settings/prompts/en/menu')).statusCode, 200);
});

test('the preview answers a range request with 206 and the asked bytes, and refuses a range past the end with 416', async () => {
  const builtIn = readFileSync(path.join(mediaDir, 'prompts/en/intro.wav'));
  const request = (range: string) =>
    fixture.app.inject({
      method: 'GET',
      url: '/api/settings/prompts/en/intro/audio',
      cookies: { [SESSION_COOKIE]: maria.cookie },
      headers: { range },
    });
  const part = await request('bytes=100-199');
  assert.is(part.statusCode, 206);
  assert.is(part.headers['content-range'], `bytes 100-199/${builtIn.length}`);
  assert.ok(part.rawPayload.equals(builtIn.subarray(100, 200)));
  const open = await request('bytes=0-');
  assert.is(open.statusCode, 206);
  assert.is(open.rawPayload.length, builtIn.length);
  const past = await request(`bytes=${builtIn.length + 10}-`);
  assert.is(past.statusCode, 416);
  assert.is(past.headers['content-range'], `bytes */${builtIn.length}`);
});

test('refused uploads say why, and leave the previous recording in place', async () => {
  assert.is((await upload('en', 'intro', await recording('ogg', 2), 'audio/ogg')).statusCode, 200);
  const file = path.join(promptsDir, 'en/intro.wav');
  const au = path.join(promptsDir, 'en/intro.au');
  const before = readFileSync(file);
  const beforeAu = readFileSync(au);
  const notAudio = 'This is not an audio file we can read. Upload a WAV, MP3 or Ogg recording.';
  const opus = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(24), Buffer.from('OpusHead'), Buffer.alloc(100)]);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.write('WAVEjunkjunkjunk', 8, 'latin1');
  const cases: Array<[string, Buffer, string, number, string]> = [
    [
      'a text file called a WAV',
      Buffer.from('hello, this is not a recording\n'.repeat(50)),
      'audio/wav',
      400,
      notAudio,
    ],
    ['a WAV header over garbage', Buffer.concat([header, Buffer.alloc(4000, 7)]), 'audio/wav', 400, notAudio],
    ['an empty body', Buffer.alloc(0), 'audio/wav', 400, 'Choose a recording to upload.'],
    [
      'Ogg Opus',
      opus,
      'audio/ogg',
      400,
      'This recording is Ogg Opus, which Deskline cannot convert. Save it as MP3 or WAV.',
    ],
    [
      'two and a half minutes',
      await recording('mp3', 150, { rate: 8000 }),
      'audio/mpeg',
      400,
      'The recording lasts 150 s; a prompt may last at most 120 s.',
    ],
    [
      'an 11 MB file',
      Buffer.concat([before, Buffer.alloc(11 * 1024 * 1024)]),
      'audio/wav',
      413,
      'The recording is larger than 10 MB. Shorten it or save it as MP3.',
    ],
  ];
  for (const [what, body, type, status, message] of cases) {
    const response = await upload('en', 'intro', body, type);
    assert.is(response.statusCode, status, `${what}: ${response.body}`);
    assert.is(response.json<ApiError>().message, message, what);
    assert.ok(readFileSync(file).equals(before), `${what}: the previous recording is still there`);
    assert.ok(readFileSync(au).equals(beforeAu), `${what}: and the .au rtpengine plays`);
  }
  const list = (await asUser(fixture.app, maria, 'GET', '/api/settings/prompts')).json<PromptList>().prompts;
  assert.is(list.find((p) => p.language === 'en' && p.name === 'intro')?.source, 'uploaded');
  assert.equal((await run('find', [promptsDir, '-type', 'f'])).stdout.trim().split('\n').sort(), [au, file]);
});

test('a WAV whose header claims 4 GB of samples is read for what it holds', async () => {
  const real = await recording('wav', 2, { rate: 8000 });
  const lying = Buffer.from(real);
  // The RIFF size at 4, and the data chunk's size after its name.
  const data = lying.indexOf('data', 12, 'latin1');
  assert.ok(data > 0, 'the WAV has a data chunk');
  lying.writeUInt32LE(0xfffffff0, 4);
  lying.writeUInt32LE(0xffffff00, data + 4);
  const response = await upload('en', 'closed', lying, 'audio/wav');
  assert.is(response.statusCode, 200, response.body);
  const info = response.json<PromptInfo>();
  assert.ok(Math.abs(info.durationMs - 2000) < 100, `${info.durationMs} ms`);
});

test('an unknown language or prompt is 404, whatever the method', async () => {
  for (const p of ['de/intro', 'en/nope', 'en/position-21', 'en/wait-11', 'EN/intro', 'en/intro.wav']) {
    for (const [method, url] of [
      ['GET', `/api/settings/prompts/${p}/audio`],
      ['DELETE', `/api/settings/prompts/${p}`],
    ] as const) {
      const response = await asUser(fixture.app, maria, method, url);
      assert.is(response.statusCode, 404, `${method} ${url}: ${response.body}`);
    }
    assert.is(
      (await upload(...(p.split('/') as [string, string]), await recording('wav', 1), 'audio/wav')).statusCode,
      404,
      p,
    );
  }
});

test("a media folder without prompts/ (a clinic's own DESKLINE_MEDIA_DIR): the preview says so (404), the list shows 0:00, and an upload still works", async () => {
  const empty = mkdtempSync(path.join(tmpdir(), 'deskline-no-media-'));
  const app = await buildTestApp(fixture.redisUrl, { PROMPTS_DIR: promptsDir, MEDIA_DIR: empty });
  try {
    const who = await loginOk(app, 'maria@clinic.example', 'correct horse battery');
    const audio = await asUser(app, who, 'GET', '/api/settings/prompts/en/closed/audio');
    assert.is(audio.statusCode, 404, audio.body);
    assert.is(
      audio.json<ApiError>().message,
      "The built-in file of a prompt is missing from the server's media folder: upload a recording, or ask clinic IT.",
    );
    const list = (await asUser(app, who, 'GET', '/api/settings/prompts')).json<PromptList>();
    assert.is(list.prompts.find((p) => key(p) === 'en/closed')?.durationMs, 0);
    assert.is(list.holdMusic.durationMs, 0);
    const upload = await putRecording(
      app,
      who,
      '/api/settings/prompts/en/closed',
      await recording('wav', 1),
      'audio/wav',
    );
    assert.is(upload.statusCode, 200, upload.body);
    assert.is((await asUser(app, who, 'GET', '/api/settings/prompts/en/closed/audio')).statusCode, 200);
  } finally {
    await app.close();
    rmSync(empty, { recursive: true, force: true });
  }
});

const key = (prompt: { language: string; name: string }): string => `${prompt.language}/${prompt.name}`;

function uploadMusic(body: Buffer, contentType: string): Promise<LightMyRequestResponse> {
  return putRecording(fixture.app, maria, '/api/settings/hold-music', body, contentType);
}

test("hold music: a manager's Ogg replaces the built-in loop for a queue with musicId hold-music, softer than speech; too long is refused; DELETE brings the loop back", async () => {
  // What the sip app gives rtpengine for the built-in loop: its .au (docs/call-plan.md, "Hold music cost").
  const loop = path.join(mediaDir, 'hold-music.au');
  const response = await uploadMusic(await recording('ogg', 30, { level: -2 }), 'audio/ogg');
  assert.is(response.statusCode, 200, response.body);
  const info = response.json<HoldMusicInfo>();
  assert.is(info.source, 'uploaded');
  assert.ok(Math.abs(info.durationMs - 30_000) < 100, `${info.durationMs} ms`);
  const file = path.join(promptsDir, 'hold-music.wav');
  const au = path.join(promptsDir, 'hold-music.au');
  await assertUploadPair(path.join(promptsDir, 'hold-music'), 30);
  const { rms, peak } = await soxStats(file);
  assert.ok(peak <= -8.9, `the music's peaks stay at -9 dB as the built-in loop's: ${peak} dB (rms ${rms} dB)`);
  const files = new PromptFiles(mediaDir, promptsDir);
  assert.is(files.music('hold-music'), au);
  assert.is(files.music(null), loop);
  const listed = (await asUser(fixture.app, maria, 'GET', '/api/settings/prompts')).json<PromptList>().holdMusic;
  assert.is(listed.uploadedBy?.displayName, 'maria');
  const audio = await asUser(fixture.app, maria, 'GET', '/api/settings/hold-music/audio');
  assert.is(audio.headers['content-type'], 'audio/wav');
  assert.ok(audio.rawPayload.equals(readFileSync(file)));

  // Twelve minutes: refused with its length, and the upload before stays.
  const before = readFileSync(file);
  const long = await uploadMusic(await recording('mp3', 720, { rate: 8000 }), 'audio/mpeg');
  assert.is(long.statusCode, 400, long.body);
  assert.is(long.json<ApiError>().message, 'The recording lasts 720 s; the hold music may last at most 600 s.');
  assert.ok(readFileSync(file).equals(before));

  const reset = await asUser(fixture.app, maria, 'DELETE', '/api/settings/hold-music');
  assert.is(reset.statusCode, 200, reset.body);
  assert.equal(reset.json<HoldMusicInfo>(), { source: 'built-in', durationMs: 24_000 });
  assert.not.ok(existsSync(file));
  assert.not.ok(existsSync(au));
  assert.is(files.music('hold-music'), loop);
  const builtIn = await asUser(fixture.app, maria, 'GET', '/api/settings/hold-music/audio');
  // The panel plays the .wav.
  assert.ok(builtIn.rawPayload.equals(readFileSync(path.join(mediaDir, 'hold-music.wav'))));
});

test.run();

test("an older Deskline's uploads (a WAV without its .au) get their .au when signaling starts; a WAV sox cannot read is left as it is", async () => {
  const sent = await upload('en', 'intro', await recording('wav', 3), 'audio/wav');
  assert.is(sent.statusCode, 200, sent.body);
  await upload('pl', 'menu', await recording('mp3', 2), 'audio/mpeg');
  // As an upload of before the .au was written beside each: only its WAV.
  const base = path.join(promptsDir, 'en', 'intro');
  rmSync(`${base}.au`);
  // A WAV whose bytes are damaged (a disk copy gone wrong): no .au, and no crash.
  const damaged = path.join(promptsDir, 'pl', 'menu');
  rmSync(`${damaged}.au`);
  writeFileSync(`${damaged}.wav`, 'not audio at all');

  const started = await buildTestApp(fixture.redisUrl, { PROMPTS_DIR: promptsDir, MEDIA_DIR: mediaDir });
  try {
    await waitFor('the .au of the older upload', async () => existsSync(`${base}.au`), 10_000);
    await assertUploadPair(base, 3);
    // PromptFiles (the sip app) now plays the .au.
    const files = new PromptFiles(mediaDir, promptsDir);
    assert.is(files.prompt('en', 'intro'), `${base}.au`);
    // Once more, as the next start would: nothing left to write, and the damaged one named.
    const again = await started.prompts.addMissingAu();
    assert.equal(again, { written: 0, failed: [`${damaged}.wav`] });
    assert.not.ok(existsSync(`${damaged}.au`), 'nothing made of the damaged WAV');
  } finally {
    await started.close();
  }
});
