/**
 * The pure parts of signaling's PromptLibrary (docs/call-plan.md, "Prompts"): what an upload is from
 * its first bytes, a WAV's length from its header (never more than the file holds), and the start-up
 * check of PROMPTS_DIR.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { PromptUploadStore } from '@deskline/store';
import { PromptLibrary, audioType, unsupportedAudio, wavSeconds } from '@deskline/signaling/services/prompt-library';

/** A 44-byte PCM WAV header: 8 kHz mono 16-bit (16000 bytes a second), declaring `dataBytes`. */
function header(dataBytes: number): Buffer {
  const bytes = Buffer.alloc(44);
  bytes.write('RIFF', 0, 'latin1');
  bytes.writeUInt32LE(36 + dataBytes, 4);
  bytes.write('WAVEfmt ', 8, 'latin1');
  bytes.writeUInt32LE(16, 16);
  bytes.writeUInt16LE(1, 20);
  bytes.writeUInt16LE(1, 22);
  bytes.writeUInt32LE(8000, 24);
  bytes.writeUInt32LE(16000, 28);
  bytes.writeUInt16LE(2, 32);
  bytes.writeUInt16LE(16, 34);
  bytes.write('data', 36, 'latin1');
  bytes.writeUInt32LE(dataBytes, 40);
  return bytes;
}

test('audioType: WAV, Ogg, FLAC and MP3 (ID3 tag or a bare frame) by their first bytes; anything else is not audio', () => {
  assert.is(audioType(header(0)), 'wav');
  assert.is(audioType(Buffer.from('OggS\0\u0002')), 'ogg');
  assert.is(audioType(Buffer.from('ID3\u0004\0')), 'mp3');
  assert.is(audioType(Buffer.from('fLaC\0\0\0\u0022')), 'flac');
  assert.is(audioType(Buffer.from([0xff, 0xfb, 0x90, 0x64])), 'mp3');
  for (const bytes of [
    Buffer.from('hello, this is text'),
    Buffer.from('RIFF\0\0\0\0AVI '),
    Buffer.from([0xff]),
    Buffer.alloc(0),
    Buffer.from('<svg/>'),
  ]) {
    assert.is(audioType(bytes), undefined, JSON.stringify(bytes.toString('latin1')));
  }
});

test('unsupportedAudio names the recordings sox cannot read (Ogg Opus, M4A), and not the ones it can', () => {
  const opus = Buffer.concat([Buffer.from('OggS\0\u0002'), Buffer.alloc(22), Buffer.from('OpusHead')]);
  const vorbis = Buffer.concat([Buffer.from('OggS\0\u0002'), Buffer.alloc(22), Buffer.from('\u0001vorbis')]);
  assert.is(unsupportedAudio(opus), 'Ogg Opus');
  assert.is(unsupportedAudio(Buffer.from('\0\0\0\u0020ftypM4A \0\0\0\0')), 'MP4 audio (M4A)');
  assert.is(unsupportedAudio(Buffer.from('fLaC\0\0\0\u0022')), undefined);
  assert.is(unsupportedAudio(vorbis), undefined);
  assert.is(unsupportedAudio(header(0)), undefined);
  assert.is(unsupportedAudio(Buffer.from('ID3\u0004\0')), undefined);
});

test('wavSeconds: the data chunk over the byte rate, but never more than the file holds', () => {
  assert.is(wavSeconds(header(32_000), 44 + 32_000), 2);
  // A header claiming 4 GB in a file of one second.
  assert.is(wavSeconds(header(0xffffff00), 44 + 16_000), 1);
  assert.is(wavSeconds(Buffer.from('not a wav at all'), 16), undefined);
  const noFormat = header(100);
  noFormat.write('junk', 12, 'latin1');
  assert.is(wavSeconds(noFormat, 144), undefined, 'no fmt chunk: no byte rate');
});

test('uploadProblem: none for a folder that does not exist yet under a writable one', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'deskline-prompt-library-'));
  try {
    const library = new PromptLibrary({} as PromptUploadStore, root, path.join(root, 'var/prompts'));
    assert.is(await library.uploadProblem(), undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
