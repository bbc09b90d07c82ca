/**
 * Voicemail on the board (issue 15), end to end: a patient waits past the call plan's maximum wait
 * with nobody logged in to a workstation, hears the greeting and leaves 5 s of a tone; Maria, a
 * manager in Chromium, sees the "Voicemail" task in Unanswered with the caller's number, its length
 * and a player, plays it (the <audio> element's duration is about 5 s) and seeks to the middle (a
 * 206 from /api/voicemail/:id/audio). Then the message's file is lost on disk, and another message
 * passes the retention: in both cases her board, without a reload, replaces the player with why it
 * is gone. Real Redis, Kamailio, rtpengine, sip app and signaling.
 */
import { mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RetentionSweep } from '@deskline/signaling/services/retention';
import { openTab, taskOf } from '../../helpers/board-page.js';
import { messageLeftTask } from '../../helpers/board-tasks.js';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.js';
import { CLINIC_NUMBER } from '../../helpers/call-path.js';
import { createClinic, STAFF } from '../../helpers/clinic.js';
import { PatientLine } from '../../helpers/patient-line.js';
import { PatientPhone } from '../../helpers/patient-phone.js';
import { VOICEMAIL_TONES, heardTone, prepareVoicemail, storeVoicemail } from '../../helpers/voicemail.js';
import { logIn, screenshots, startWebStack, type WebStack } from '../../helpers/web-stack.js';

const TIMEOUT = 15_000;
const MAX_WAIT_SECONDS = 30;
const { greetingHz: GREETING_HZ, beepHz: BEEP_HZ } = VOICEMAIL_TONES;
const CALLER = '+48500100777';
const screenshot = screenshots('call-plan-voicemail');

const test = suite<{ stack: WebStack; work: string; browser: TestBrowser; maria: Page; pageErrors: string[] }>(
  'call plan: a voicemail on the board, played in Chromium',
);

test.before(async (context) => {
  context.pageErrors = [];
  context.work = mkdtempSync(path.join(os.tmpdir(), 'deskline-voicemail-e2e-'));
  context.stack = await startWebStack({
    appEnv: { SKIP_INTRO: 'true', RECORDINGS_DIR: path.join(context.work, 'recordings') },
  });
  await prepareVoicemail(context.stack.callPath.redis, context.stack.callPath.appEnv['MEDIA_DIR'] ?? '', {
    maxWaitSeconds: MAX_WAIT_SECONDS,
  });
  await createClinic(context.stack.app, { staff: ['maria'] });
  context.browser = await launchBrowser();
  context.maria = await logIn(context.browser, context.stack.base, STAFF.maria.email, STAFF.maria.password, {
    pageErrors: context.pageErrors,
    timeoutMs: TIMEOUT,
  });
  await context.maria.getByRole('button', { name: 'Work without a workstation' }).click();
});

test.after(async (context) => {
  await context.browser?.close();
  await context.stack?.stop();
  if (context.work) rmSync(context.work, { recursive: true, force: true });
});

test('the patient leaves 5 s after the maximum wait; Maria sees a Voicemail task, plays it (≈ 5 s) and seeks', async (context) => {
  const { maria } = context;
  const line = await PatientLine.open(context.stack.callPath.kamailioPort);
  const phone = await PatientPhone.open();
  phone.mute(true);
  // Chromium loads media with Range requests: the answers show that the endpoint serves ranges.
  const ranges: number[] = [];
  maria.on('response', (response) => {
    if (/\/api\/voicemail\/[0-9a-f]{32}\/audio$/.test(response.url())) ranges.push(response.status());
  });
  try {
    const dialog = await line.call({ line: CLINIC_NUMBER, rtpPort: phone.port, from: CALLER });
    await heardTone(phone, GREETING_HZ, (MAX_WAIT_SECONDS + 15) * 1000);
    await heardTone(phone, BEEP_HZ, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 450));
    phone.mute(false);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    phone.mute(true);
    await dialog.waitForBye(15_000);
    const byeAt = Date.now();

    await openTab(maria, 'Unanswered');
    const task = taskOf(maria, CALLER);
    await task.getByText('Voicemail', { exact: true }).waitFor({ timeout: TIMEOUT });
    console.log(`  the Voicemail task on Maria's board ${Date.now() - byeAt} ms after the clinic's BYE`);
    await task.getByRole('button', { name: 'Call back' }).waitFor({ timeout: TIMEOUT });
    const shown = (await task.locator('section.voicemail time').textContent()) ?? '';
    assert.match(shown, /0:0[5-6]/, `the task shows the message's length: ${shown}`);

    const audio = task.locator('section.voicemail audio');
    const duration = await audio.evaluate(
      (element: HTMLAudioElement) =>
        new Promise<number>((resolve, reject) => {
          const done = (): void => resolve(element.duration);
          if (element.readyState >= 1 && Number.isFinite(element.duration)) return done();
          element.addEventListener('loadedmetadata', done, { once: true });
          element.addEventListener('error', () => reject(new Error(`audio error ${element.error?.code}`)), {
            once: true,
          });
          element.load();
        }),
    );
    console.log(`  the <audio> element's duration: ${duration.toFixed(2)} s`);
    assert.ok(Math.abs(duration - 5) <= 1, `the audio element's duration is about 5 s: ${duration}`);

    const played = await audio.evaluate(async (element: HTMLAudioElement) => {
      element.muted = true;
      await element.play();
      await new Promise((resolve) => setTimeout(resolve, 700));
      const at = element.currentTime;
      element.pause();
      return at;
    });
    assert.ok(played > 0.3, `it plays: currentTime ${played} after 0.7 s`);
    const seeked = await audio.evaluate(
      (element: HTMLAudioElement) =>
        new Promise<number>((resolve) => {
          element.addEventListener('seeked', () => resolve(element.currentTime), { once: true });
          element.currentTime = element.duration / 2;
        }),
    );
    assert.ok(Math.abs(seeked - duration / 2) < 0.5, `seeking to the middle works: ${seeked} of ${duration}`);
    assert.ok(ranges.includes(206), `the audio came as ranges (206): ${ranges.join(', ')}`);
    await screenshot(maria, 'voicemail-task');
    assert.equal(context.pageErrors, []);
  } finally {
    phone.close();
    await line.close();
  }
});

test("the message's file is lost on disk: Maria's play is refused and her card says the recording is missing, with no player", async (context) => {
  const { maria } = context;
  const recordings = path.join(context.work, 'recordings');
  const files = readdirSync(recordings).filter((name) => name.endsWith('.mp3'));
  assert.is(files.length, 1, `the first test's message: ${files.join(', ')}`);
  unlinkSync(path.join(recordings, files[0] ?? ''));
  // Maria opens the board afresh (nothing of the message in Chromium's media cache): the player
  // loads the message's metadata at once, and is refused.
  const refused = maria.waitForResponse((response) => /\/api\/voicemail\/[0-9a-f]{32}\/audio$/.test(response.url()));
  await maria.reload();
  await openTab(maria, 'Unanswered');
  const task = taskOf(maria, CALLER);
  assert.is((await refused).status(), 404);
  await task.getByText(/recording is missing on the server/).waitFor({ timeout: TIMEOUT });
  assert.is(await task.locator('section.voicemail audio').count(), 0, 'no player');
  assert.match((await task.locator('section.voicemail time').textContent()) ?? '', /0:0[5-6]/, 'the length stays');
  await task.getByRole('button', { name: 'Call back' }).waitFor({ timeout: TIMEOUT });
  await screenshot(maria, 'voicemail-file-missing');
});

test('a message older than the retention is deleted: the card, without a reload, says so instead of a player', async (context) => {
  const { maria, stack } = context;
  const from = '+48500100778';
  const db = stack.callPath.redis;
  const message = await storeVoicemail(db, path.join(context.work, 'recordings'), {
    callId: 'call-before-the-retention',
    from,
    createdAt: Date.now() - 31 * 24 * 60 * 60_000,
  });
  await messageLeftTask(stack.app, db, message);
  const task = taskOf(maria, from);
  await task.locator('section.voicemail audio').waitFor({ timeout: TIMEOUT });

  await new RetentionSweep(db, 30, stack.app.voicemail, stack.app.tasks).run();
  await task.getByText('Message deleted after 31 days (retention).').waitFor({ timeout: TIMEOUT });
  assert.is(await task.locator('section.voicemail audio').count(), 0, 'no player');
  await task.getByRole('button', { name: 'Call back' }).waitFor({ timeout: TIMEOUT });
  await screenshot(maria, 'voicemail-retention');
  assert.equal(context.pageErrors, []);
});

test.run();
