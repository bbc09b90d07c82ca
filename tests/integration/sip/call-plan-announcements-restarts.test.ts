/**
 * Announcements while waiting across a restart (issue 15, docs/call-plan.md "Announcements while
 * waiting": the schedule hangs on queuedAt alone), through the real call path with two sip app
 * instances and rtpengine keeping its calls in Redis (RTPENGINE_REDIS_DB):
 *   - rtpengine killed and started again in the middle of an announcement: the music comes back,
 *     and the next announcements come on their time;
 *   - the sip app instance holding the call killed: the other instance adopts the call, and its
 *     announcements keep the grid counted from queuedAt.
 * What the patient hears is read off the RTP their phone receives (tests/helpers/prompt-tones.ts).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_CALL_PLAN, type CallPlan } from '@deskline/protocol';
import {
  announcementsOf,
  longestSilenceMs,
  toneFrom,
  toneRuns,
  waitingCaller,
  INTERVAL_MS,
  ON_TIME_MS,
} from '../../helpers/announcements.js';
import { HOLD_MUSIC_HZ, ownerOf } from '../../helpers/call-path.js';
import { callPlanHooks, type CallPlanContext } from '../../helpers/call-plan-stack.js';
import {
  ANNOUNCEMENT_HZ,
  POLISH_POSITION_HZ,
  PROMPT_SECONDS,
  positionHz,
  writePromptTonesFor,
} from '../../helpers/prompt-tones.js';
import { instanceIdOf, type LogLine } from '../../helpers/sip-app.js';
import { waitFor } from '../../helpers/wait.js';

/** Around a restart, the patient may hear nothing for as long as it was down, and this much more. */
const BEYOND_RESTART_MS = 2_000;
/** How long rtpengine stays down in the outage test. */
const OUTAGE_MS = 1_500;
const TONES = [HOLD_MUSIC_HZ, ...ANNOUNCEMENT_HZ];
const ADOPTED = 'adopted a call whose sip app instance is gone';

const test = suite<CallPlanContext>('call plan: announcements across rtpengine and sip app restarts');
callPlanHooks(test, { SKIP_INTRO: 'true' }, 2, writePromptTonesFor, { rtpengineKeyspace: true });

const PLAN: CallPlan = {
  ...DEFAULT_CALL_PLAN,
  languages: ['en', 'pl'],
  announcements: { intervalSeconds: INTERVAL_MS / 1000, expectedWait: false, offerCallback: false },
};

/** Every sip app instance's log lines so far (a killed one's included). */
function allLogs(context: CallPlanContext): LogLine[] {
  return [0, 1].flatMap((index) => context.path.appAt(index).logs);
}

/** The k-th announcement of the call queued at `queuedAt` is due then (the grid from queuedAt). */
function dueAt(queuedAt: number, k: number): number {
  return queuedAt + k * INTERVAL_MS;
}

/**
 * Waits for the announcement due at `due` (its place, then Polish place, then the music); resolves
 * with when it was heard and how late it was.
 */
async function announcementAt(
  caller: Awaited<ReturnType<typeof waitingCaller>>,
  due: number,
  since: number,
): Promise<{ at: number; lateMs: number; end: number }> {
  const heard = await toneFrom(caller.media, positionHz(1), since, due - Date.now() + ON_TIME_MS + 1_000);
  const end = heard.at + 2 * PROMPT_SECONDS * 1000 + 1_500;
  await waitFor('the announcement to end', async () => Date.now() > end, 10_000);
  assert.equal(
    toneRuns(caller.media, heard.at, end, TONES).map((run) => run.hz),
    [positionHz(1), POLISH_POSITION_HZ, HOLD_MUSIC_HZ],
    `the announcement due at +${due - caller.queuedAt} ms: en, pl, then the music`,
  );
  return { at: heard.at, lateMs: heard.at - due, end };
}

test('rtpengine killed and started again during an announcement: the music is back within the restart gap, the next announcements come on time', async (context) => {
  const { path, plans } = context;
  await plans.put(PLAN);
  const caller = await waitingCaller(context);
  const rtpengine = path.rtpengineProcess;

  const first = await toneFrom(caller.media, positionHz(1), caller.queuedAt, INTERVAL_MS + ON_TIME_MS + 1_000);
  // A few packets into the English place: the Polish one and the music are still to come.
  await toneFrom(caller.media, positionHz(1), first.at + 200, 1_000);
  const killedAt = Date.now();
  try {
    await rtpengine.crash();
  } finally {
    await rtpengine.restart();
  }
  const upAt = Date.now();
  const musicBack = await toneFrom(caller.media, HOLD_MUSIC_HZ, upAt, 5_000);
  const restartGap = longestSilenceMs(caller.media, killedAt - 500, musicBack.at + 500);
  console.log(
    `  rtpengine down ${upAt - killedAt} ms; music back ${musicBack.at - killedAt} ms after the kill; longest silence ${restartGap} ms`,
  );
  assert.ok(
    restartGap <= upAt - killedAt + BEYOND_RESTART_MS,
    `${restartGap} ms of silence for ${upAt - killedAt} ms of restart`,
  );

  const second = await announcementAt(caller, dueAt(caller.queuedAt, 2), musicBack.at);
  const third = await announcementAt(caller, dueAt(caller.queuedAt, 3), second.end);
  console.log(`  after the restart, announced ${second.lateMs} ms and ${third.lateMs} ms after they were due`);
  for (const { lateMs } of [second, third]) assert.ok(Math.abs(lateMs) <= ON_TIME_MS, `${lateMs} ms off its time`);
  const silence = longestSilenceMs(caller.media, musicBack.at, third.end);
  console.log(`  longest silence after the music came back: ${silence} ms`);
  assert.ok(silence < 1_000, `${silence} ms of silence`);
  assert.equal(
    announcementsOf(allLogs(context), caller.id)
      .map((announcement) => announcement.dueAt)
      .filter((due) => due > killedAt),
    [dueAt(caller.queuedAt, 2), dueAt(caller.queuedAt, 3)],
    'the announcements after the restart keep the grid from queuedAt',
  );
});

test('rtpengine down for a while over the time an announcement is due: the music is back within the restart gap, the next announcement on time', async (context) => {
  const { path, plans } = context;
  await plans.put(PLAN);
  const caller = await waitingCaller(context);
  const rtpengine = path.rtpengineProcess;

  const first = await announcementAt(caller, dueAt(caller.queuedAt, 1), caller.queuedAt);
  const due = dueAt(caller.queuedAt, 2);
  await waitFor('half a second before the second announcement', async () => Date.now() >= due - 500, INTERVAL_MS);
  const killedAt = Date.now();
  try {
    await rtpengine.crash();
    // An outage, not a wait for something: rtpengine stays down over the announcement's due time.
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
  } finally {
    await rtpengine.restart();
  }
  const upAt = Date.now();
  const musicBack = await toneFrom(caller.media, HOLD_MUSIC_HZ, upAt, 5_000);
  const restartGap = longestSilenceMs(caller.media, first.end, musicBack.at + 500);
  console.log(
    `  rtpengine down ${upAt - killedAt} ms; music back ${musicBack.at - killedAt} ms after the kill; longest silence ${restartGap} ms`,
  );
  assert.ok(
    restartGap <= upAt - killedAt + BEYOND_RESTART_MS,
    `${restartGap} ms of silence for ${upAt - killedAt} ms of restart`,
  );

  const third = await announcementAt(caller, dueAt(caller.queuedAt, 3), musicBack.at + 500);
  console.log(`  the next announcement ${third.lateMs} ms after it was due`);
  assert.ok(Math.abs(third.lateMs) <= ON_TIME_MS, `${third.lateMs} ms off its time`);
  const silence = longestSilenceMs(caller.media, musicBack.at, third.end);
  assert.ok(silence < 1_000, `${silence} ms of silence once the music was back`);
  // The announcement due while rtpengine was down is skipped: not heard, and not logged as played.
  assert.not.ok(
    toneRuns(caller.media, killedAt, third.at - 100, TONES).some((run) => run.hz === positionHz(1)),
    'no announcement heard between the kill and the next one due',
  );
  assert.equal(
    announcementsOf(allLogs(context), caller.id).map((announcement) => announcement.dueAt),
    [dueAt(caller.queuedAt, 1), dueAt(caller.queuedAt, 3)],
    'the sip app logs as playing only the announcements the patient heard',
  );
});

/**
 * The sip app instance holding a waiting caller's call is stopped a few packets into an
 * announcement: `stop` (SIGTERM) hands the call over with the music, `crash` (SIGKILL) leaves rtpengine
 * playing the prompt alone. The other instance adopts the call; its next two announcements come on
 * the grid from queuedAt, with the music between. The patient hears no second of silence, but after
 * a crash for as long as no instance had the call. Resolves with the stopped instance's index.
 */
async function adoptedDuringAnnouncement(context: CallPlanContext, how: 'stop' | 'crash'): Promise<number> {
  const { path, plans } = context;
  await plans.put(PLAN);
  const caller = await waitingCaller(context);
  const owner = await ownerOf(path, caller.id);
  const victim = owner === instanceIdOf(path.appAt(0)) ? 0 : 1;
  const survivor = path.appAt(1 - victim);
  assert.is(owner, instanceIdOf(path.appAt(victim)), 'one of the two instances holds the call');

  const first = await toneFrom(caller.media, positionHz(1), caller.queuedAt, INTERVAL_MS + ON_TIME_MS + 1_000);
  await toneFrom(caller.media, positionHz(1), first.at + 200, 1_000);
  const from = survivor.logs.length;
  const stoppedAt = Date.now();
  await (how === 'stop' ? path.stopAppAt(victim) : path.crashAppAt(victim));
  const adopted = await survivor.waitForLog(
    'the other instance to adopt the call',
    (line) => line.msg === ADOPTED && line['callId'] === caller.id,
    { from, timeoutMs: 8_000 },
  );
  const adoptedMs = Number(adopted['time']) - stoppedAt;
  const musicBack = await toneFrom(caller.media, HOLD_MUSIC_HZ, first.at, 5_000);
  const gap = longestSilenceMs(caller.media, first.at, musicBack.at + 500);
  console.log(
    `  ${how}: adopted ${adoptedMs} ms after; music back ${musicBack.at - stoppedAt} ms after; silence ${gap} ms`,
  );
  // After a crash, nothing asks rtpengine for the music until the call is adopted.
  const allowedMs = how === 'crash' ? adoptedMs + 1_000 : 1_000;
  assert.ok(gap < allowedMs, `${gap} ms of silence around the ${how}`);

  const second = await announcementAt(caller, dueAt(caller.queuedAt, 2), first.at + PROMPT_SECONDS * 1000);
  const third = await announcementAt(caller, dueAt(caller.queuedAt, 3), second.end);
  console.log(
    `  announced ${first.at - dueAt(caller.queuedAt, 1)} ms (before), ${second.lateMs} ms and ${third.lateMs} ms (adopted) after they were due`,
  );
  for (const { lateMs } of [second, third]) assert.ok(Math.abs(lateMs) <= ON_TIME_MS, `${lateMs} ms off its time`);
  assert.equal(
    announcementsOf(survivor.logs.slice(from), caller.id).map((announcement) => announcement.dueAt),
    [dueAt(caller.queuedAt, 2), dueAt(caller.queuedAt, 3)],
    "the adopting instance's announcements are due on the grid from queuedAt",
  );
  const silence = Math.max(
    longestSilenceMs(caller.media, caller.queuedAt + 500, first.at + 500),
    longestSilenceMs(caller.media, musicBack.at, third.end),
  );
  console.log(`  longest silence before and after: ${silence} ms`);
  assert.ok(silence < 1_000, `${silence} ms of silence`);
  return victim;
}

test('the sip app instance holding the call stopped (SIGTERM) during an announcement: the other adopts the call, and its announcements keep the grid from queuedAt', async (context) => {
  const victim = await adoptedDuringAnnouncement(context, 'stop');
  await context.path.startAppAt(victim);
});

// Last: it leaves one instance dead.
test('the sip app instance holding the call killed (SIGKILL) during an announcement: the other adopts the call, and its announcements keep the grid from queuedAt', async (context) => {
  await adoptedDuringAnnouncement(context, 'crash');
});

test.run();
