/**
 * Announcements while waiting in the plan's several languages (issue 15, docs/call-plan.md
 * "Announcements while waiting"), through the real call path: each announcement says the caller's
 * place, and the expected wait once it is meaningful, in English and then in Polish. Every prompt is a
 * tone of its own, the Polish ones other than the English ones (tests/helpers/prompt-tones.ts), so the
 * order is read off the RTP the patient's phone receives.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_CALL_PLAN } from '@deskline/protocol';
import {
  announcementsOf,
  longestSilenceMs,
  seedAnsweredCall,
  toneFrom,
  toneRuns,
  waitingCaller,
  INTERVAL_MS,
  ON_TIME_MS,
} from '../../helpers/announcements.js';
import { HOLD_MUSIC_HZ } from '../../helpers/call-path.js';
import { callPlanHooks, type CallPlanContext } from '../../helpers/call-plan-stack.js';
import {
  ANNOUNCEMENT_HZ,
  POLISH_POSITION_HZ,
  POLISH_WAIT_HZ,
  PROMPT_SECONDS,
  WAIT_HZ,
  positionHz,
  writePromptTonesFor,
} from '../../helpers/prompt-tones.js';
import { waitFor } from '../../helpers/wait.js';

const MINUTE = 60_000;
const TONES = [HOLD_MUSIC_HZ, ...ANNOUNCEMENT_HZ];

const test = suite<CallPlanContext>('call plan: announcements in English and Polish');
callPlanHooks(test, { SKIP_INTRO: 'true' }, 1, writePromptTonesFor);

test('languages en and pl: each announcement says the place (and, once meaningful, the expected wait) in English, then in Polish, then the music', async (context) => {
  const { path, plans } = context;
  await plans.put({
    ...DEFAULT_CALL_PLAN,
    languages: ['en', 'pl'],
    announcements: { intervalSeconds: INTERVAL_MS / 1000, expectedWait: true, offerCallback: false },
  });
  // Two answered calls in the last hour: too few for an expected wait.
  await seedAnsweredCall(path.redis, 1, 2 * MINUTE);
  await seedAnsweredCall(path.redis, 2, 2 * MINUTE);
  const caller = await waitingCaller(context);

  const first = await toneFrom(caller.media, positionHz(1), caller.queuedAt, INTERVAL_MS + ON_TIME_MS + 1_000);
  const firstEnd = first.at + 2 * PROMPT_SECONDS * 1000 + 1_500;
  await waitFor('the first announcement to end', async () => Date.now() > firstEnd, 10_000);
  const firstHeard = toneRuns(caller.media, first.at, firstEnd, TONES).map((run) => run.hz);
  console.log(`  first announcement: ${firstHeard.join(' Hz, ')} Hz`);
  assert.equal(firstHeard, [positionHz(1), POLISH_POSITION_HZ, HOLD_MUSIC_HZ], 'the place in English, then Polish');

  // A third call: now the expected wait is announced too, after the place, in each language.
  await seedAnsweredCall(path.redis, 3, 2 * MINUTE);
  const second = await toneFrom(caller.media, positionHz(1), firstEnd, INTERVAL_MS + ON_TIME_MS);
  const secondEnd = second.at + 4 * PROMPT_SECONDS * 1000 + 1_500;
  await waitFor('the second announcement to end', async () => Date.now() > secondEnd, 10_000);
  const secondHeard = toneRuns(caller.media, second.at, secondEnd, TONES).map((run) => run.hz);
  console.log(`  second announcement: ${secondHeard.join(' Hz, ')} Hz`);
  assert.equal(secondHeard, [positionHz(1), WAIT_HZ, POLISH_POSITION_HZ, POLISH_WAIT_HZ, HOLD_MUSIC_HZ]);

  const lateMs = [first.at - (caller.queuedAt + INTERVAL_MS), second.at - (caller.queuedAt + 2 * INTERVAL_MS)];
  console.log(`  announced ${lateMs.map((ms) => `${ms} ms`).join(', ')} after they were due`);
  for (const ms of lateMs) assert.ok(Math.abs(ms) <= ON_TIME_MS, `announced ${ms} ms off its time`);
  assert.equal(
    announcementsOf(path.app.logs, caller.id).map((announcement) => announcement.prompts),
    [
      ['en/position-1', 'pl/position-1'],
      ['en/position-1', 'en/wait-2', 'pl/position-1', 'pl/wait-2'],
    ],
  );
  const silence = longestSilenceMs(caller.media, caller.queuedAt + 500, secondEnd);
  console.log(`  longest silence: ${silence} ms`);
  assert.ok(silence < 1_000, `${silence} ms of silence`);
});

test.run();
