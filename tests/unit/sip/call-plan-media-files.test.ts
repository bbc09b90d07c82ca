import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PromptFiles } from '@deskline/sip/media/prompt-files';

/** A media folder with these files (empty: only their names and times matter here). */
function mediaDir(files: string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deskline-media-files-'));
  for (const file of files) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), '');
  }
  return dir;
}

function withDir(files: string[], check: (dir: string) => void): void {
  const dir = mediaDir(files);
  try {
    check(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('rtpengine is given the .au beside a built-in .wav', () => {
  withDir(
    [
      'hold-music.wav',
      'hold-music.au',
      'prompts/en/intro.wav',
      'prompts/en/intro.au',
      'prompts/en/closed.wav',
      'prompts/en/closed.au',
    ],
    (dir) => {
      const files = new PromptFiles(dir);
      assert.is(files.holdMusic, path.join(dir, 'hold-music.au'));
      assert.is(files.prompt('en', 'intro'), path.join(dir, 'prompts/en/intro.au'));
      assert.is(files.prompt('en', 'closed'), path.join(dir, 'prompts/en/closed.au'));
      assert.is(files.music(null), path.join(dir, 'hold-music.au'));
    },
  );
});

test("a clinic's own folder with only .wav files plays them, and an .au added later is played from the next call", () => {
  withDir(['hold-music.wav', 'prompts/en/closed.wav'], (dir) => {
    const files = new PromptFiles(dir);
    assert.is(files.holdMusic, path.join(dir, 'hold-music.wav'));
    assert.is(files.prompt('en', 'closed'), path.join(dir, 'prompts/en/closed.wav'));
    writeFileSync(path.join(dir, 'hold-music.au'), '');
    assert.is(files.holdMusic, path.join(dir, 'hold-music.au'));
  });
});

test('a .wav replaced in place (newer than the .au beside it) plays, not the old music', () => {
  withDir(['hold-music.wav', 'hold-music.au'], (dir) => {
    const now = Date.now() / 1000;
    utimesSync(path.join(dir, 'hold-music.au'), now - 3600, now - 3600);
    utimesSync(path.join(dir, 'hold-music.wav'), now, now);
    assert.is(new PromptFiles(dir).holdMusic, path.join(dir, 'hold-music.wav'));
    // Checked out or written together (a second apart at most): the .au.
    utimesSync(path.join(dir, 'hold-music.au'), now - 1, now - 1);
    assert.is(new PromptFiles(dir).holdMusic, path.join(dir, 'hold-music.au'));
  });
});

test('with neither, the .wav is named, so that rtpengine reports the missing file; an .au alone plays', () => {
  withDir(['prompts/en/intro.au'], (dir) => {
    const files = new PromptFiles(dir);
    assert.is(files.holdMusic, path.join(dir, 'hold-music.wav'));
    assert.is(files.prompt('en', 'intro'), path.join(dir, 'prompts/en/intro.au'));
  });
});

test.run();
