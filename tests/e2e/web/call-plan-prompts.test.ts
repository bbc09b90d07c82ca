/**
 * The managers' Prompts view in Chromium, in the real app (docs/call-plan.md, "Prompts"): signaling
 * serves the built web app and converts uploads with the real sox; a manager logs in, opens Prompts
 * from the Views nav, uploads an MP3 (made by sox here) for a Polish prompt through the file picker,
 * previews it (the page's <audio> plays the converted file, as long as the MP3), is told in words why
 * a text file is refused, and goes back to the built-in prompt.
 *
 * SCREENSHOT_DIR=/some/dir saves what the view looks like.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import type { Locator, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { board } from '../../helpers/board-page.js';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { createClinic, STAFF } from '../../helpers/clinic.js';
import { REPO_ROOT } from '../../helpers/launcher.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { buildTestApp } from '../../helpers/signaling.js';
import { logIn, screenshots } from '../../helpers/web-stack.js';

/** Generous: another test run may share this machine's two cores. */
const TIMEOUT = 15_000;
const run = promisify(execFile);
const work = mkdtempSync(path.join(tmpdir(), 'deskline-prompts-e2e-'));
const promptsDir = path.join(work, 'prompts');

let redis: TestRedis;
let app: FastifyInstance;
let base: string;
let browser: TestBrowser;
const pageErrors: string[] = [];
const screenshot = screenshots('call-plan-prompts', { fullPage: true });

test.before(async () => {
  redis = await startTestRedis();
  app = await buildTestApp(redis.url, { PROMPTS_DIR: promptsDir });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  await createClinic(app, { staff: ['maria'] });
  browser = await launchBrowser();
});

test.after(async () => {
  await browser?.close();
  await app?.close();
  await redis?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** The cells of the prompt's row, found by its header cell. */
async function row(view: Locator, name: string): Promise<string[]> {
  await view.getByRole('rowheader', { name, exact: true }).waitFor({ timeout: TIMEOUT });
  // `has` is looked for inside each row: a locator of its own, not one chained from the view.
  const header = view.page().getByRole('rowheader', { name, exact: true });
  return (await view.getByRole('row').filter({ has: header }).getByRole('cell').allTextContents()).map((t) => t.trim());
}

/** Chooses `file` in the file picker that the prompt's Upload button opens. */
async function uploadThrough(page: Page, view: Locator, button: string, file: string): Promise<void> {
  const chooser = page.waitForEvent('filechooser', { timeout: TIMEOUT });
  await view.getByRole('button', { name: button }).click();
  await (await chooser).setFiles(file);
}

/** The preview's duration, once the player has read the file's header. */
async function previewSeconds(page: Page): Promise<{ seconds: number; src: string }> {
  const player = page.locator('dl-prompts-admin audio');
  return player.evaluate(
    (audio: HTMLAudioElement) =>
      new Promise<{ seconds: number; src: string }>((resolve, reject) => {
        const done = () => resolve({ seconds: audio.duration, src: audio.currentSrc });
        if (Number.isFinite(audio.duration) && audio.duration > 0) return done();
        audio.addEventListener('loadedmetadata', done, { once: true });
        audio.addEventListener('error', () => reject(new Error(`the player could not load ${audio.currentSrc}`)), {
          once: true,
        });
      }),
  );
}

test('a manager uploads an MP3 for a Polish prompt, previews it, sees a text file refused in words, and goes back to the built-in prompt', async () => {
  const mp3 = path.join(work, 'zamkniete.mp3');
  await run('sox', ['-R', '-n', '-r', '44100', '-c', '1', mp3, 'synth', '3.5', 'sine', '300-900', 'gain', '-12']);
  const mp3Seconds = Number((await run('soxi', ['-D', mp3])).stdout);
  const builtInSeconds = Number(
    (await run('soxi', ['-D', path.join(REPO_ROOT, 'pbx-config/media/prompts/pl/closed.wav')])).stdout,
  );

  const page = await logIn(browser, base, STAFF.maria.email, STAFF.maria.password, {
    pageErrors,
    timeoutMs: TIMEOUT,
  });
  await page.getByRole('button', { name: 'Work without a workstation' }).click();
  await board(page).waitFor({ timeout: TIMEOUT });
  await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Prompts' }).click();
  const view = page.getByRole('region', { name: 'Prompts' });
  await view.getByRole('table', { name: 'Prompts in English' }).waitFor({ timeout: TIMEOUT });
  assert.equal((await row(view, 'intro')).slice(1, 3), ['Built-in', '0:07.8']);

  await view.getByRole('group', { name: 'Language' }).getByRole('button', { name: 'Polski' }).click();
  await view.getByRole('table', { name: 'Prompts in Polski' }).waitFor({ timeout: TIMEOUT });
  assert.is((await row(view, 'closed'))[1], 'Built-in');

  // The upload, through the file picker as a person does it.
  await uploadThrough(page, view, 'Upload closed (Polski)', mp3);
  await view.getByRole('status').filter({ hasText: 'now plays as closed (Polski)' }).waitFor({ timeout: TIMEOUT });
  const uploaded = await row(view, 'closed');
  assert.match(uploaded[1] ?? '', /^Uploaded by Maria Manager, /);
  assert.is(uploaded[2], '0:03.5');
  await screenshot(page, 'uploaded');

  await view.getByRole('button', { name: 'Play closed (Polski)' }).click();
  const preview = await previewSeconds(page);
  assert.match(preview.src, /\/api\/settings\/prompts\/pl\/closed\/audio/);
  assert.ok(
    Math.abs(preview.seconds - mp3Seconds) < 0.1,
    `the preview lasts ${preview.seconds} s, the MP3 ${mp3Seconds} s`,
  );
  console.log(`  preview ${preview.seconds} s of an MP3 of ${mp3Seconds} s`);

  // A text file called .wav: refused in words, and the recording stays.
  const text = path.join(work, 'notes.wav');
  writeFileSync(text, 'This is a shopping list, not a recording.\n'.repeat(20));
  await uploadThrough(page, view, 'Upload closed (Polski)', text);
  const alert = view.getByRole('alert');
  await alert.waitFor({ timeout: TIMEOUT });
  assert.is(
    (await alert.textContent())?.trim(),
    '"notes.wav" was not used: This is not an audio file we can read. Upload a WAV, MP3 or Ogg recording.',
  );
  assert.match((await row(view, 'closed'))[1] ?? '', /^Uploaded by Maria Manager/);

  // Back to the built-in prompt: the list and the preview say so.
  await view.getByRole('button', { name: 'Use built-in closed (Polski)' }).click();
  await view.getByRole('status').filter({ hasText: 'is the built-in prompt again' }).waitFor({ timeout: TIMEOUT });
  assert.is((await row(view, 'closed'))[1], 'Built-in');
  assert.is(await view.getByRole('button', { name: 'Use built-in closed (Polski)' }).count(), 0);
  await view.getByRole('button', { name: 'Play closed (Polski)' }).click();
  const builtIn = await previewSeconds(page);
  assert.ok(
    Math.abs(builtIn.seconds - builtInSeconds) < 0.05,
    `the preview lasts ${builtIn.seconds} s, the built-in prompt ${builtInSeconds} s`,
  );
  await screenshot(page, 'reverted');
  assert.equal(pageErrors, []);
});

test('a manager replaces the hold music with an Ogg, previews it, and goes back to the built-in loop', async () => {
  const ogg = path.join(work, 'music.ogg');
  await run('sox', ['-R', '-n', '-r', '44100', '-c', '2', ogg, 'synth', '20', 'pluck', 'C4', 'gain', '-6']);
  // A fresh session: the first test's is still in the browser.
  await browser.context.clearCookies();
  const page = await logIn(browser, base, STAFF.maria.email, STAFF.maria.password, { pageErrors, timeoutMs: TIMEOUT });
  await page.getByRole('button', { name: 'Work without a workstation' }).click();
  await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Prompts' }).click();
  const view = page.getByRole('region', { name: 'Prompts' });
  await view.getByText('Built-in, 0:24, repeated while a caller waits.').waitFor({ timeout: TIMEOUT });

  await uploadThrough(page, view, 'Upload hold music', ogg);
  await view
    .getByRole('status')
    .filter({ hasText: 'now plays as the hold music, 0:20 long' })
    .waitFor({ timeout: TIMEOUT });
  await view
    .getByText(/Uploaded by Maria Manager, .*, 0:20, repeated while a caller waits\./)
    .waitFor({ timeout: TIMEOUT });
  await view.getByRole('button', { name: 'Play hold music' }).click();
  const preview = await previewSeconds(page);
  assert.match(preview.src, /\/api\/settings\/hold-music\/audio/);
  assert.ok(Math.abs(preview.seconds - 20) < 0.05, `the preview lasts ${preview.seconds} s`);

  await view.getByRole('button', { name: 'Use built-in hold music' }).click();
  await view
    .getByRole('status')
    .filter({ hasText: 'The built-in hold music plays again.' })
    .waitFor({ timeout: TIMEOUT });
  await view.getByRole('button', { name: 'Play hold music' }).click();
  assert.ok(Math.abs((await previewSeconds(page)).seconds - 24) < 0.05, 'the built-in loop is 24 s');
  assert.equal(pageErrors, []);
});

test.run();
