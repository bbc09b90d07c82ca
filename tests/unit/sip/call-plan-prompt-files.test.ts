/**
 * The built-in prompts (scripts/make-media.sh) and PromptFiles, which the sip app asks for the file
 * of a prompt: every prompt of protocol/src/call-plan.ts exists in every language, in the telephone
 * format, as a WAV and the μ-law `.au` rtpengine is given, and a manager's upload in PROMPTS_DIR wins
 * over the built-in one.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ALL_PROMPT_NAMES,
  DEFAULT_CALL_PLAN,
  PROMPT_LANGUAGES,
  PROMPT_POSITIONS,
  PROMPT_WAIT_MINUTES,
} from '@deskline/protocol';
import { PromptFiles } from '@deskline/sip/media/prompt-files';
import { REPO_ROOT } from '../../helpers/launcher.js';

const mediaDir = path.join(REPO_ROOT, 'pbx-config/media');

/** The fmt chunk of a WAV sox wrote (a plain or an extensible header), and the data chunk's size. */
function wavFormat(file: string): { format: string; seconds: number } {
  const bytes = readFileSync(file);
  assert.is(bytes.toString('latin1', 0, 4), 'RIFF', file);
  assert.is(bytes.toString('latin1', 8, 12), 'WAVE', file);
  const fmt = bytes.indexOf('fmt ', 12, 'latin1');
  const data = bytes.indexOf('data', 12, 'latin1');
  const channels = bytes.readUInt16LE(fmt + 10);
  const rate = bytes.readUInt32LE(fmt + 12);
  const byteRate = bytes.readUInt32LE(fmt + 16);
  const bits = bytes.readUInt16LE(fmt + 22);
  return { format: `${rate} Hz, ${channels} ch, ${bits} bit`, seconds: bytes.readUInt32LE(data + 4) / byteRate };
}

/** A Sun audio file's header: its encoding (1 = 8-bit μ-law), rate, channels, and length. */
function auFormat(file: string): { format: string; seconds: number } {
  const bytes = readFileSync(file);
  assert.is(bytes.toString('latin1', 0, 4), '.snd', file);
  const [offset, encoding, rate, channels] = [4, 12, 16, 20].map((at) => bytes.readUInt32BE(at)) as [
    number,
    number,
    number,
    number,
  ];
  return { format: `encoding ${encoding}, ${rate} Hz, ${channels} ch`, seconds: (bytes.length - offset) / rate };
}

test('every prompt exists in English and Polish, 8 kHz mono 16-bit WAV and its μ-law .au, and nothing else is in the folder', () => {
  assert.is(ALL_PROMPT_NAMES.length, 8 + PROMPT_POSITIONS + PROMPT_WAIT_MINUTES.length);
  const files = new PromptFiles(mediaDir);
  let total = 0;
  for (const language of PROMPT_LANGUAGES) {
    const present = readdirSync(path.join(mediaDir, 'prompts', language)).sort();
    assert.equal(present, ALL_PROMPT_NAMES.flatMap((name) => [`${name}.au`, `${name}.wav`]).sort(), language);
    for (const name of ALL_PROMPT_NAMES) {
      const wav = path.join(mediaDir, 'prompts', language, `${name}.wav`);
      const { format, seconds } = wavFormat(wav);
      assert.is(format, '8000 Hz, 1 ch, 16 bit', `${language}/${name}`);
      assert.ok(seconds > 1 && seconds < 12, `${language}/${name}: ${seconds} s`);
      // What rtpengine is given: the .au, the same length.
      const au = files.prompt(language, name);
      assert.is(au, path.join(mediaDir, 'prompts', language, `${name}.au`));
      const played = auFormat(au);
      assert.is(played.format, 'encoding 1, 8000 Hz, 1 ch', `${language}/${name}.au`);
      assert.ok(
        Math.abs(played.seconds - seconds) < 0.01,
        `${language}/${name}.au: ${played.seconds} s, not ${seconds} s`,
      );
      total += seconds;
    }
  }
  console.log(`  ${PROMPT_LANGUAGES.length * ALL_PROMPT_NAMES.length} prompts, ${Math.round(total)} s in all`);
});

test('the voicemail greeting ends with its tone, and the Polish one too', () => {
  for (const language of PROMPT_LANGUAGES) {
    const bytes = readFileSync(path.join(mediaDir, `prompts/${language}/voicemail-greeting.wav`));
    const data = bytes.indexOf('data', 12, 'latin1') + 8;
    const samples = new Int16Array(bytes.buffer.slice(bytes.byteOffset + data, bytes.byteOffset + bytes.length));
    // The tone: 0.5 s of 1 kHz ending 0.2 s before the end; count zero crossings in its middle 0.25 s.
    const end = samples.length - 0.2 * 8000;
    const part = samples.subarray(end - 0.375 * 8000, end - 0.125 * 8000);
    let crossings = 0;
    for (let i = 1; i < part.length; i++) if (part[i - 1]! < 0 !== part[i]! < 0) crossings += 1;
    const hz = crossings / 2 / 0.25;
    assert.ok(Math.abs(hz - 1000) < 20, `${language}: ${hz} Hz`);
  }
});

test("PromptFiles: a manager's upload in PROMPTS_DIR wins over the built-in prompt (its .au when it has one), the built-in one stays reachable", () => {
  const uploads = mkdtempSync(path.join(tmpdir(), 'deskline-prompt-files-'));
  try {
    const files = PromptFiles.fromConfig({ MEDIA_DIR: mediaDir, PROMPTS_DIR: uploads });
    const builtIn = path.join(mediaDir, 'prompts/pl/intro.au');
    assert.is(files.prompt('pl', 'intro'), builtIn);
    mkdirSync(path.join(uploads, 'pl'));
    // An upload from before signaling wrote the .au: its WAV.
    writeFileSync(path.join(uploads, 'pl/intro.wav'), 'RIFF');
    assert.is(files.prompt('pl', 'intro'), path.join(uploads, 'pl/intro.wav'));
    writeFileSync(path.join(uploads, 'pl/intro.au'), '.snd');
    assert.is(files.prompt('pl', 'intro'), path.join(uploads, 'pl/intro.au'));
    assert.is(files.prompt('en', 'intro'), path.join(mediaDir, 'prompts/en/intro.au'));
    assert.is(files.builtInPrompt('pl', 'intro'), builtIn);
    rmSync(path.join(uploads, 'pl/intro.wav'));
    assert.is(files.prompt('pl', 'intro'), builtIn, 'a removed upload (its WAV) gives the built-in one back at once');
    rmSync(path.join(uploads, 'pl/intro.au'));
    // rtpengine is given the built-in loop's .au (playableFile; docs/call-plan.md, "Hold music cost").
    const loop = path.join(mediaDir, 'hold-music.au');
    assert.is(files.holdMusic, loop);
    assert.is(files.music(null), loop);
    assert.is(files.music('hold-music'), loop, 'no upload yet: the built-in loop');
    writeFileSync(path.join(uploads, 'hold-music.wav'), 'RIFF');
    assert.is(files.music('hold-music'), path.join(uploads, 'hold-music.wav'));
    writeFileSync(path.join(uploads, 'hold-music.au'), '.snd');
    assert.is(files.music('hold-music'), path.join(uploads, 'hold-music.au'));
    assert.is(files.music(null), loop, 'a queue without musicId keeps the built-in loop');
    assert.is(files.music('jazz'), loop, 'an id nothing was uploaded as');
    assert.is(new PromptFiles(mediaDir).music('hold-music'), loop, 'without PROMPTS_DIR, only the built-in files');
  } finally {
    rmSync(uploads, { recursive: true, force: true });
  }
});

test("the intro (any prompt) in each of the plan's languages, in the plan's order: the upload where there is one, else the built-in one", () => {
  const uploads = mkdtempSync(path.join(tmpdir(), 'deskline-prompt-files-'));
  try {
    const files = PromptFiles.fromConfig({ MEDIA_DIR: mediaDir, PROMPTS_DIR: uploads });
    assert.equal(files.promptInEach(['pl', 'en'], 'intro'), [
      path.join(mediaDir, 'prompts/pl/intro.au'),
      path.join(mediaDir, 'prompts/en/intro.au'),
    ]);
    mkdirSync(path.join(uploads, 'en'));
    writeFileSync(path.join(uploads, 'en/intro.wav'), 'RIFF');
    writeFileSync(path.join(uploads, 'en/intro.au'), '.snd');
    assert.equal(files.promptInEach(['pl', 'en'], 'intro'), [
      path.join(mediaDir, 'prompts/pl/intro.au'),
      path.join(uploads, 'en/intro.au'),
    ]);
    // The default plan (no plan stored): English alone.
    assert.equal(files.promptInEach(DEFAULT_CALL_PLAN.languages, 'intro'), [path.join(uploads, 'en/intro.au')]);
  } finally {
    rmSync(uploads, { recursive: true, force: true });
  }
});

test.run();
