/**
 * The intro (issue 15, docs/call-plan.md "What a caller hears") through the real call path (Redis,
 * rtpengine, Kamailio, the sip app): the call plan's `intro` prompt in each of the plan's languages in
 * turn, the plan's order, then the hold music; and a manager's recording, uploaded through signaling
 * (real sox into the sip app's PROMPTS_DIR), is the intro of the next call, with no restart, until
 * the manager goes back to the built-in one. Each prompt is a tone of its own, read off the RTP the
 * patient's phone receives.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_CALL_PLAN, type PromptLanguage } from '@deskline/protocol';
import { callPlanHooks, patientCalls, type CallPlanContext } from '../../helpers/call-plan-stack.js';
import { HOLD_MUSIC_HZ, INTRO_HZ, INTRO_SECONDS, writeTone } from '../../helpers/call-path.js';
import { isTone, type PatientPhone, type Received } from '../../helpers/patient-phone.js';
import { asUser, buildTestApp, createUser, loginOk, putRecording, type LoggedIn } from '../../helpers/signaling.js';

const run = promisify(execFile);
/** The Polish intro's tone (the English one is the call path's INTRO_HZ, 3 s). */
const PL_INTRO_HZ = 1250;
const PL_INTRO_SECONDS = 1;
/** The manager's own English intro. */
const UPLOADED_HZ = 560;
const UPLOADED_SECONDS = 2;
/** A tone counts once it lasts this many packets (60 ms): a packet half one tone, half the next reads as neither. */
const MIN_RUN_PACKETS = 3;

const work = mkdtempSync(path.join(tmpdir(), 'deskline-intro-'));
const promptsDir = path.join(work, 'uploads');

type Context = CallPlanContext;

const test = suite<Context>('call plan: the intro in each language');

callPlanHooks(test, { PROMPTS_DIR: promptsDir }, 1, (callPath) => {
  const mediaDir = callPath.appEnv['MEDIA_DIR'];
  if (!mediaDir) throw new Error('the call path has no MEDIA_DIR');
  writeTone(path.join(mediaDir, 'prompts/pl/intro'), PL_INTRO_HZ, PL_INTRO_SECONDS);
});

test.after(() => rmSync(work, { recursive: true, force: true }));

/** signaling on the stack's Redis and the sip app's PROMPTS_DIR, with a manager logged in; closed after `use`. */
async function withSignaling(
  context: Context,
  use: (signaling: FastifyInstance, manager: LoggedIn) => Promise<void>,
): Promise<void> {
  const signaling = await buildTestApp(context.path.redisUrl, {
    MEDIA_DIR: context.path.appEnv['MEDIA_DIR'] ?? '',
    PROMPTS_DIR: promptsDir,
  });
  try {
    const email = 'maria@clinic.example';
    await use(signaling, await loginOk(signaling, email, await createUser(signaling, email, 'manager')));
  } finally {
    await signaling.close();
  }
}

/** A tone heard: its frequency and its first packet's time. */
interface ToneRun {
  hz: number;
  at: number;
}

/** The tones heard, in order: runs of MIN_RUN_PACKETS packets of one of `tones`. */
function toneRuns(received: readonly Received[], tones: readonly number[]): ToneRun[] {
  const runs: ToneRun[] = [];
  let current: { hz: number; at: number; packets: number } | undefined;
  for (const packet of received) {
    const hz = tones.find((tone) => isTone(packet, tone));
    if (hz === undefined || hz !== current?.hz) {
      current = hz === undefined ? undefined : { hz, at: packet.at, packets: 1 };
      continue;
    }
    current.packets += 1;
    if (current.packets === MIN_RUN_PACKETS && runs.at(-1)?.hz !== hz) runs.push({ hz, at: current.at });
  }
  return runs;
}

/** A call with the plan in `languages`: resolves once the patient hears the hold music, with what they heard until then. */
async function callUntilMusic(
  context: Context,
  languages: PromptLanguage[],
  tones: readonly number[],
): Promise<{ media: PatientPhone; runs: ToneRun[] }> {
  await context.plans.put({ ...DEFAULT_CALL_PLAN, languages });
  const { media, dialog, id } = await patientCalls(context);
  context.open.push({ close: () => dialog.hangUp().catch(() => undefined) });
  const introMs = 10_000;
  await media.waitUntil(
    'the hold music after the intro',
    (received) => (toneRuns(received, [...tones, HOLD_MUSIC_HZ]).at(-1)?.hz === HOLD_MUSIC_HZ ? true : undefined),
    introMs,
  );
  await context.events.waitFor({ callId: id, state: 'waiting' });
  return { media, runs: toneRuns(media.received, [...tones, HOLD_MUSIC_HZ]) };
}

test("the patient hears the intro in the plan's first language, then its second, then the hold music", async (context) => {
  for (const languages of [
    ['en', 'pl'],
    ['pl', 'en'],
  ] as PromptLanguage[][]) {
    const { runs } = await callUntilMusic(context, languages, [INTRO_HZ, PL_INTRO_HZ]);
    const expected = languages.map((language) => (language === 'en' ? INTRO_HZ : PL_INTRO_HZ));
    assert.equal(
      runs.map((run) => run.hz),
      [...expected, HOLD_MUSIC_HZ],
      `${languages.join(', ')}: ${JSON.stringify(runs)}`,
    );
    // Each intro for its whole length, one right after the other.
    const firstSeconds = languages[0] === 'en' ? INTRO_SECONDS : PL_INTRO_SECONDS;
    const secondSeconds = languages[1] === 'en' ? INTRO_SECONDS : PL_INTRO_SECONDS;
    const [first, second, music] = runs as [ToneRun, ToneRun, ToneRun];
    const firstMs = second.at - first.at;
    const secondMs = music.at - second.at;
    console.log(`  ${languages.join(', ')}: ${Math.round(firstMs)} ms, then ${Math.round(secondMs)} ms, then music`);
    assert.ok(Math.abs(firstMs - firstSeconds * 1000) < 500, `the first intro lasted ${firstMs} ms`);
    assert.ok(Math.abs(secondMs - secondSeconds * 1000) < 500, `the second intro lasted ${secondMs} ms`);
    for (const item of context.open.splice(0)) await item.close();
  }
});

test("a manager's uploaded intro is the next call's, with no restart; back to the built-in one, the next call hears that again", async (context) => {
  await withSignaling(context, async (signaling, manager) => {
    const mp3 = path.join(work, 'welcome.mp3');
    await run('sox', [
      '-R',
      '-n',
      '-r',
      '22050',
      '-c',
      '1',
      mp3,
      'synth',
      String(UPLOADED_SECONDS),
      'sine',
      String(UPLOADED_HZ),
    ]);
    const put = await putRecording(
      signaling,
      manager,
      '/api/settings/prompts/en/intro',
      readFileSync(mp3),
      'audio/mpeg',
    );
    assert.is(put.statusCode, 200, put.body);

    const tones = [INTRO_HZ, PL_INTRO_HZ, UPLOADED_HZ];
    const uploaded = await callUntilMusic(context, ['en', 'pl'], tones);
    assert.equal(
      uploaded.runs.map((run) => run.hz),
      [UPLOADED_HZ, PL_INTRO_HZ, HOLD_MUSIC_HZ],
      `the upload, then the built-in Polish one: ${JSON.stringify(uploaded.runs)}`,
    );
    const [first, second] = uploaded.runs as [ToneRun, ToneRun];
    assert.ok(
      Math.abs(second.at - first.at - UPLOADED_SECONDS * 1000) < 500,
      `the uploaded intro played whole: ${second.at - first.at} ms`,
    );
    for (const item of context.open.splice(0)) await item.close();

    const reset = await asUser(signaling, manager, 'DELETE', '/api/settings/prompts/en/intro');
    assert.is(reset.statusCode, 200, reset.body);
    const builtIn = await callUntilMusic(context, ['en'], tones);
    assert.equal(
      builtIn.runs.map((run) => run.hz),
      [INTRO_HZ, HOLD_MUSIC_HZ],
      `the built-in intro again: ${JSON.stringify(builtIn.runs)}`,
    );
  });
});

test.run();
