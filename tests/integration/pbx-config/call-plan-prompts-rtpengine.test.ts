/**
 * The call plan's prompts as rtpengine plays them (docs/call-plan.md, "Prompts"), with a real
 * rtpengine: every built-in prompt in both languages is a `.au` rtpengine plays, for its whole
 * length; and a manager's MP3, converted by signaling (real sox, real Redis) into PROMPTS_DIR (a WAV
 * and its `.au`) and found there by the sip app's PromptFiles, reaches the patient's phone as its
 * tone, at the built-in prompts' level, evenly paced, until the manager goes back to the built-in
 * prompt.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ALL_PROMPT_NAMES, PROMPT_LANGUAGES } from '@deskline/protocol';
import { PromptFiles } from '@deskline/sip/media/prompt-files';
import { REPO_ROOT } from '../../helpers/launcher.js';
import { startTestRtpengine, type TestRtpengine } from '../../helpers/rtpengine.js';
import { holdLeg, levelDbfs, patientSocket, type PatientSocket } from '../../helpers/rtpengine-playback.js';
import { decodePcmu, toneShare } from '../../helpers/rtp-capture.js';
import { asUser, createUser, loginOk, putRecording, useFreshApp } from '../../helpers/signaling.js';

const run = promisify(execFile);
const MEDIA = path.join(REPO_ROOT, 'pbx-config/media');
const work = mkdtempSync(path.join(tmpdir(), 'deskline-prompts-rtpengine-'));
const promptsDir = path.join(work, 'prompts');
const fixture = useFreshApp(test, { MEDIA_DIR: MEDIA, PROMPTS_DIR: promptsDir });
const files = PromptFiles.fromConfig({ MEDIA_DIR: MEDIA, PROMPTS_DIR: promptsDir });

let rtpengine: TestRtpengine;
let patient: PatientSocket;

test.before(async () => {
  rtpengine = await startTestRtpengine();
  patient = await patientSocket();
  await holdLeg(rtpengine, 'prompts-test', patient.port);
});

test.after(async () => {
  patient?.close();
  await rtpengine?.ng({ command: 'delete', 'call-id': 'prompts-test' }).catch(() => undefined);
  await rtpengine?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** `play media` of `file` to the patient: rtpengine's answer, with the length it decoded (ms). */
async function play(file: string): Promise<{ result: string; duration: number }> {
  const answer = await rtpengine.ng({ command: 'play media', 'call-id': 'prompts-test', 'from-tag': 'patient', file });
  return { result: String(answer['result']), duration: Number(answer['duration']) };
}

async function soxiMs(file: string): Promise<number> {
  return Number((await run('soxi', ['-D', file])).stdout) * 1000;
}

test('rtpengine plays every built-in prompt, English and Polish, for its whole length', async () => {
  const started = performance.now();
  for (const language of PROMPT_LANGUAGES) {
    for (const name of ALL_PROMPT_NAMES) {
      const file = files.prompt(language, name);
      assert.is(file, path.join(MEDIA, 'prompts', language, `${name}.au`));
      const played = await play(file);
      assert.is(played.result, 'ok', `${language}/${name}`);
      const length = await soxiMs(file);
      assert.ok(
        Math.abs(played.duration - length) < 40,
        `${language}/${name}: rtpengine ${played.duration} ms, file ${length} ms`,
      );
    }
  }
  await rtpengine.ng({ command: 'stop media', 'call-id': 'prompts-test', 'from-tag': 'patient' });
  console.log(
    `  ${PROMPT_LANGUAGES.length * ALL_PROMPT_NAMES.length} prompts played in ${Math.round(performance.now() - started)} ms`,
  );
});

test("a manager's MP3, converted by signaling, is what rtpengine plays to the patient; DELETE brings the built-in prompt back", async () => {
  const maria = await loginOk(
    fixture.app,
    'maria@clinic.example',
    await createUser(fixture.app, 'maria@clinic.example', 'manager'),
  );
  const mp3 = path.join(work, 'closed.mp3');
  // A quiet 1 kHz tone: signaling brings it up to the prompts' level.
  await run('sox', ['-R', '-n', '-r', '22050', '-c', '1', mp3, 'synth', '3', 'sine', '1000', 'gain', '-30']);
  const put = await putRecording(
    fixture.app,
    maria,
    '/api/settings/prompts/pl/closed',
    readFileSync(mp3),
    'audio/mpeg',
  );
  assert.is(put.statusCode, 200, put.body);

  const uploaded = files.prompt('pl', 'closed');
  assert.is(uploaded, path.join(promptsDir, 'pl/closed.au'));
  const from = patient.packets.length;
  const played = await play(uploaded);
  assert.is(played.result, 'ok');
  assert.ok(Math.abs(played.duration - (await soxiMs(mp3))) < 60, `rtpengine plays ${played.duration} ms`);
  await patient.waitForPackets(from + 100, 5000);
  // Half a second in, where the MP3's own fade-in is over.
  const heard = patient.packets.slice(from + 25, from + 100);
  const share = heard.reduce((sum, p) => sum + toneShare(decodePcmu(p.payload), 1000), 0) / heard.length;
  const level = levelDbfs(heard.map((p) => p.payload));
  assert.ok(share > 0.9, `the patient hears the 1 kHz tone (share ${share.toFixed(2)})`);
  // The .au goes out evenly; a WAV went out in bursts of 256 ms (docs/call-plan.md, "Hold music cost").
  const longestGap = Math.max(...heard.slice(1).map((p, i) => p.at - heard[i]!.at));
  assert.ok(longestGap < 100, `the longest gap between two packets is ${longestGap.toFixed(0)} ms`);
  // Brought to the built-in prompts' speech level (RMS -21 dBFS; the tone's peaks stay far below -3).
  assert.ok(Math.abs(level - -21) < 1.5, `level ${level.toFixed(1)} dBFS at the patient, from a -30 dB source`);
  console.log(
    `  uploaded MP3: ${played.duration} ms, 1 kHz share ${share.toFixed(2)}, ${level.toFixed(1)} dBFS at the patient, longest gap ${longestGap.toFixed(0)} ms`,
  );

  assert.is((await asUser(fixture.app, maria, 'DELETE', '/api/settings/prompts/pl/closed')).statusCode, 200);
  const builtIn = files.prompt('pl', 'closed');
  assert.is(builtIn, path.join(MEDIA, 'prompts/pl/closed.au'));
  const again = await play(builtIn);
  assert.ok(Math.abs(again.duration - (await soxiMs(builtIn))) < 40, `the built-in prompt: ${again.duration} ms`);
  await rtpengine.ng({ command: 'stop media', 'call-id': 'prompts-test', 'from-tag': 'patient' });
});

test.run();
