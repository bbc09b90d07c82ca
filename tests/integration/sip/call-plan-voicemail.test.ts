/**
 * Voicemail (issue 15) with the real parts: Kamailio, rtpengine, the sip app, Redis. Patients wait
 * past the plan's maximum wait (nobody is logged in), hear the greeting (a tone, then the beep), and
 * send a tone as their message; the message ends by silence, by the maximum length, or by their
 * hang-up. The stored MP3 is decoded with sox and checked for its length and the patient's tone.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VOICEMAIL_ID_PATTERN, type CallView } from '@deskline/protocol';
import { VoicemailStore } from '@deskline/store';
import { CLINIC_NUMBER, readCall, startCallPath, type CallPath } from '../../helpers/call-path.js';
import { PatientLine, type PatientDialog } from '../../helpers/patient-line.js';
import { PATIENT_TONE_HZ, PatientPhone } from '../../helpers/patient-phone.js';
import { VOICEMAIL_TONES, heardTone, prepareVoicemail } from '../../helpers/voicemail.js';
import { toneShare } from '../../helpers/rtp-capture.js';
import { waitFor } from '../../helpers/wait.js';

const { greetingHz: GREETING_HZ, beepHz: BEEP_HZ, savedHz: SAVED_HZ } = VOICEMAIL_TONES;
const MAX_WAIT_SECONDS = 30;
const MAX_MESSAGE_SECONDS = 10;

const test = suite<{ path: CallPath; recordings: string; work: string; line: PatientLine }>(
  'call plan: voicemail after the maximum wait',
);

test.before(async (context) => {
  context.work = mkdtempSync(path.join(os.tmpdir(), 'deskline-voicemail-'));
  context.recordings = path.join(context.work, 'recordings');
  context.path = await startCallPath({ appEnv: { SKIP_INTRO: 'true', RECORDINGS_DIR: context.recordings } });
  await prepareVoicemail(context.path.redis, context.path.appEnv['MEDIA_DIR'] ?? '', {
    maxWaitSeconds: MAX_WAIT_SECONDS,
    maxSeconds: MAX_MESSAGE_SECONDS,
  });
  context.line = await PatientLine.open(context.path.kamailioPort);
});

test.after(async (context) => {
  await context.line?.close();
  await context.path?.stop();
  if (context.work) rmSync(context.work, { recursive: true, force: true });
});

interface Caller {
  phone: PatientPhone;
  dialog: PatientDialog;
  calledAt: number;
}

/** A patient who calls, keeps quiet while waiting, and has heard the greeting's beep when this resolves. */
async function callUntilBeep(
  context: { path: CallPath; line: PatientLine },
  from: string,
): Promise<Caller & { beepAt: number }> {
  const phone = await PatientPhone.open();
  phone.mute(true);
  const calledAt = Date.now();
  const dialog = await context.line.call({ line: CLINIC_NUMBER, rtpPort: phone.port, from });
  await heardTone(phone, GREETING_HZ, (MAX_WAIT_SECONDS + 15) * 1000);
  const greetingAt = Date.now();
  assert.ok(
    greetingAt - calledAt >= MAX_WAIT_SECONDS * 1000 - 500,
    `the greeting came ${greetingAt - calledAt} ms after the call, before the maximum wait`,
  );
  await heardTone(phone, BEEP_HZ, 5_000);
  const beepAt = Date.now();
  // The beep is 0.4 s; the patient speaks once it is over.
  await new Promise((resolve) => setTimeout(resolve, 450));
  return { phone, dialog, calledAt, beepAt };
}

async function endedCall(context: { path: CallPath }, dialog: PatientDialog): Promise<CallView> {
  const ended = await context.path.app.waitForLog(
    'the call to end',
    (entry) => entry.msg === 'call ended' && entry['sipCallId'] === dialog.callId,
    { timeoutMs: 20_000 },
  );
  return waitFor('the final call state in Redis', () => readCall(context.path.redis, ended['callId'] as string));
}

/** The message's audio decoded by sox (from Debian) to 8 kHz mono samples. */
function decode(file: string): Float64Array {
  const raw = execFileSync('sox', [file, '-t', 'raw', '-r', '8000', '-e', 'signed', '-b', '16', '-c', '1', '-']);
  const samples = new Float64Array(raw.length / 2);
  for (let i = 0; i < samples.length; i++) samples[i] = raw.readInt16LE(i * 2);
  return samples;
}

/** Checks the stored message and its file; returns its decoded length in seconds. */
async function checkMessage(
  context: { path: CallPath; recordings: string },
  call: CallView,
  from: string,
  expectedSeconds: number,
): Promise<number> {
  assert.is(call.state, 'message-left');
  const id = call.voicemailId ?? '';
  assert.ok(VOICEMAIL_ID_PATTERN.test(id), `a random message id, not ${id}`);
  const message = await new VoicemailStore(context.path.redis).get(id);
  assert.ok(message, 'the message metadata is in Redis');
  assert.is(message.from, from);
  assert.is(message.callId, call.id);
  const file = path.join(context.recordings, `${id}.mp3`);
  const stat = statSync(file);
  assert.is(stat.mode & 0o777, 0o600, 'the file is readable by the service user only');
  assert.is(stat.size, message.size);
  assert.not.ok(file.includes(from.replace('+', '')), 'the file name carries no number');
  const samples = decode(file);
  const seconds = samples.length / 8000;
  assert.ok(
    Math.abs(seconds - expectedSeconds) <= 1,
    `the message decodes to ${seconds.toFixed(2)} s, expected about ${expectedSeconds} s`,
  );
  assert.ok(Math.abs(message.durationMs / 1000 - seconds) < 0.3, 'its metadata tells its length');
  // The patient's tone, in the middle second of the message.
  const middle = samples.subarray(Math.floor(samples.length / 2) - 4000, Math.floor(samples.length / 2) + 4000);
  const share = toneShare(middle, PATIENT_TONE_HZ);
  assert.ok(share > 0.8, `the ${PATIENT_TONE_HZ} Hz tone is in the message (share ${share.toFixed(2)})`);
  console.log(
    `  voicemail ${from}: ${seconds.toFixed(2)} s decoded, ${stat.size} bytes (${Math.round((stat.size / seconds) * 60)} bytes a minute), tone share ${share.toFixed(2)}`,
  );
  return seconds;
}

test('a message after the maximum wait: ended by silence, by the maximum length, by a hang-up, by a key; none when nothing was said', async (context) => {
  const silenceEnd = (async () => {
    const from = '+48500100201';
    const caller = await callUntilBeep(context, from);
    caller.phone.mute(false);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    caller.phone.mute(true);
    const quietAt = Date.now();
    await heardTone(caller.phone, SAVED_HZ, 10_000);
    const savedAfterMs = Date.now() - quietAt;
    assert.ok(
      savedAfterMs >= 4_500 && savedAfterMs <= 7_000,
      `"saved" came ${savedAfterMs} ms after the patient fell silent (5 s of silence ends a message)`,
    );
    await caller.dialog.waitForBye(5_000);
    const call = await endedCall(context, caller.dialog);
    const seconds = await checkMessage(context, call, from, 5);
    console.log(
      `  silence end: "saved" ${savedAfterMs} ms after the patient fell silent; message ${seconds.toFixed(2)} s`,
    );
    caller.phone.close();
  })();
  const maxLength = (async () => {
    const from = '+48500100202';
    const caller = await callUntilBeep(context, from);
    caller.phone.mute(false);
    await heardTone(caller.phone, SAVED_HZ, (MAX_MESSAGE_SECONDS + 5) * 1000);
    const recordedMs = Date.now() - caller.beepAt;
    assert.ok(
      recordedMs >= MAX_MESSAGE_SECONDS * 1000 && recordedMs <= (MAX_MESSAGE_SECONDS + 2.5) * 1000,
      `the message ended ${recordedMs} ms after the beep (maximum ${MAX_MESSAGE_SECONDS} s)`,
    );
    await caller.dialog.waitForBye(5_000);
    const call = await endedCall(context, caller.dialog);
    await checkMessage(context, call, from, MAX_MESSAGE_SECONDS - 0.5);
    caller.phone.close();
  })();
  const hangUp = (async () => {
    const from = '+48500100203';
    const caller = await callUntilBeep(context, from);
    caller.phone.mute(false);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const hungUpAt = Date.now();
    await caller.dialog.hangUp();
    const call = await endedCall(context, caller.dialog);
    const availableMs = Date.now() - hungUpAt;
    await checkMessage(context, call, from, 3);
    assert.ok(availableMs < 1_500, `the message was stored ${availableMs} ms after the hang-up`);
    console.log(`  hang-up: message-left and the file stored ${availableMs} ms after the BYE`);
    caller.phone.close();
  })();
  const nothingSaid = (async () => {
    const from = '+48500100204';
    const caller = await callUntilBeep(context, from);
    await caller.dialog.waitForBye(10_000);
    const call = await endedCall(context, caller.dialog);
    assert.is(call.state, 'abandoned');
    assert.is(call.abandonedIn, 'voicemail');
    assert.is(call.voicemailId, undefined);
    assert.not.ok(
      caller.phone.received.some((packet) => Math.abs(packet.frequency - SAVED_HZ) < 60 && packet.rms > 1000),
      'no "saved" prompt without a message',
    );
    assert.equal(await new VoicemailStore(context.path.redis).ofNumber(from), []);
    caller.phone.close();
  })();
  const keyPressed = (async () => {
    const from = '+48500100205';
    const caller = await callUntilBeep(context, from);
    caller.phone.mute(false);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    caller.phone.mute(true);
    const pressedAt = Date.now();
    await caller.phone.pressKey('#');
    await heardTone(caller.phone, SAVED_HZ, 5_000);
    const savedAfterMs = Date.now() - pressedAt;
    assert.ok(savedAfterMs < 1_500, `"saved" came ${savedAfterMs} ms after the key, not after 5 s of silence`);
    await caller.dialog.waitForBye(5_000);
    const call = await endedCall(context, caller.dialog);
    await checkMessage(context, call, from, 3);
    console.log(`  key: "saved" ${savedAfterMs} ms after the patient pressed #`);
    caller.phone.close();
  })();
  await Promise.all([silenceEnd, maxLength, hangUp, nothingSaid, keyPressed]);
  // Only whole files: nothing half written is left beside them.
  const names = readdirSync(context.recordings);
  assert.is(names.length, 4, `four messages: ${names.join(', ')}`);
  assert.ok(names.every((name) => /^[0-9a-f]{32}\.mp3$/.test(name)));
  assert.ok(existsSync(context.recordings));
});

test.run();
