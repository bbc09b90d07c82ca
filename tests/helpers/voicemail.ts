/**
 * Voicemail tests' helpers. `storeVoicemail`: a voicemail message as the sip app leaves it (sip/src/voicemail/): `<dir>/<id>.mp3`, mode 600, and
 * its metadata in Redis (VoicemailStore), for tests of signaling's side that run without a call.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { DEFAULT_CALL_PLAN, type VoicemailMessage } from '@deskline/protocol';
import { CallPlanStore, VoicemailStore } from '@deskline/store';
import { isTone, type PatientPhone } from './patient-phone.js';

export async function storeVoicemail(
  db: Redis,
  dir: string,
  options: { callId: string; from: string; audio?: Buffer; createdAt?: number },
): Promise<VoicemailMessage> {
  const id = randomBytes(16).toString('hex');
  const audio = options.audio ?? randomBytes(4_000);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(dir, `${id}.mp3`), audio, { mode: 0o600 });
  const message: VoicemailMessage = {
    id,
    callId: options.callId,
    from: options.from,
    line: '100',
    durationMs: 5_000,
    createdAt: options.createdAt ?? Date.now(),
    size: audio.length,
  };
  await new VoicemailStore(db).save(message);
  return message;
}

/** The test prompts' tones: the greeting (then its beep), and "saved". */
export const VOICEMAIL_TONES = { greetingHz: 600, beepHz: 1400, savedHz: 800 } as const;

/**
 * Writes the test's voicemail prompts into the sip app's MEDIA_DIR (`prompts/en/`): the greeting, 1 s
 * of 600 Hz and a 0.4 s beep at 1400 Hz; "saved", 1 s of 800 Hz. And a call plan that sends a call to
 * voicemail after `maxWaitSeconds` in the queue, with messages of at most `maxSeconds`.
 */
export async function prepareVoicemail(
  db: Redis,
  mediaDir: string,
  plan: { maxWaitSeconds: number; maxSeconds?: number },
): Promise<void> {
  const prompts = path.join(mediaDir, 'prompts', 'en');
  mkdirSync(prompts, { recursive: true });
  const tone = (file: string, hz: number, seconds: number): void => {
    execFileSync('sox', [
      '-n',
      '-r',
      '8000',
      '-c',
      '1',
      '-b',
      '16',
      file,
      'synth',
      String(seconds),
      'sine',
      String(hz),
    ]);
  };
  const greeting = path.join(prompts, '.greeting.wav');
  const beep = path.join(prompts, '.beep.wav');
  tone(greeting, VOICEMAIL_TONES.greetingHz, 1);
  tone(beep, VOICEMAIL_TONES.beepHz, 0.4);
  execFileSync('sox', [greeting, beep, path.join(prompts, 'voicemail-greeting.wav')]);
  rmSync(greeting);
  rmSync(beep);
  tone(path.join(prompts, 'voicemail-saved.wav'), VOICEMAIL_TONES.savedHz, 1);
  // And the .au beside each, as make-media.sh writes them: what rtpengine is given (playableFile).
  for (const name of ['voicemail-greeting', 'voicemail-saved']) {
    execFileSync('sox', [
      path.join(prompts, `${name}.wav`),
      '-e',
      'u-law',
      '-t',
      'au',
      path.join(prompts, `${name}.au`),
    ]);
  }
  await new CallPlanStore(db).put({
    ...DEFAULT_CALL_PLAN,
    maxWaitSeconds: plan.maxWaitSeconds,
    overflow: 'voicemail',
    voicemail: { maxSeconds: plan.maxSeconds ?? DEFAULT_CALL_PLAN.voicemail.maxSeconds },
  });
}

/** Resolves once `phone` has heard `hz` for 100 ms (5 packets): one packet of the hold music's loop seam can pass for another tone. */
export async function heardTone(phone: PatientPhone, hz: number, timeoutMs: number): Promise<void> {
  await phone.waitUntil(
    `${hz} Hz for 100 ms`,
    (received) => (received.filter((packet) => isTone(packet, hz)).length >= 5 ? true : undefined),
    timeoutMs,
  );
}
