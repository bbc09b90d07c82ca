/**
 * Announcements while waiting (issue 15, docs/call-plan.md): the real call path (Redis, rtpengine,
 * Kamailio, the sip app); patients over UDP through Kamailio, each prompt a tone of its own
 * (tests/helpers/prompt-tones.ts), so that what a patient hears, and when, is read off the RTP their
 * phone receives. The call plan is written through the store, as the settings page does.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_CALL_PLAN, type CallPlan } from '@deskline/protocol';
import { waitFor } from '../../helpers/wait.js';
import { AgentPhone } from '../../helpers/agent-phone.js';
import { HOLD_MUSIC_HZ, readCall } from '../../helpers/call-path.js';
import {
  ANNOUNCEMENT_HZ,
  PROMPT_SECONDS,
  WAIT_HZ,
  positionHz,
  writePromptTonesFor,
} from '../../helpers/prompt-tones.js';
import { callPlanHooks, type CallPlanContext } from '../../helpers/call-plan-stack.js';
import {
  announcementsOf,
  longestSilenceMs,
  seedAnsweredCall,
  toneFrom,
  toneRuns,
  waitingCaller,
  type WaitingCaller,
} from '../../helpers/announcements.js';

const INTERVAL_SECONDS = 10;
const MINUTE = 60_000;

type Context = CallPlanContext;

const test = suite<Context>('call plan: announcements while waiting');

callPlanHooks(test, { SKIP_INTRO: 'true', RING_TIMEOUT_SECONDS: '5' }, 1, writePromptTonesFor);

function planWith(announcements: CallPlan['announcements']): CallPlan {
  return { ...DEFAULT_CALL_PLAN, announcements };
}

const tones = [HOLD_MUSIC_HZ, ...ANNOUNCEMENT_HZ];

test('the expected wait is announced once three calls were answered in the last hour, not before', async (context) => {
  await context.plans.put(planWith({ intervalSeconds: INTERVAL_SECONDS, expectedWait: true, offerCallback: false }));
  // Two calls of the last hour that lasted 2 minutes each, answered by one person.
  await seedAnsweredCall(context.path.redis, 1, 2 * MINUTE);
  await seedAnsweredCall(context.path.redis, 2, 2 * MINUTE);
  const caller = await waitingCaller(context);

  const first = await toneFrom(caller.media, positionHz(1), caller.queuedAt, INTERVAL_SECONDS * 1000 + 3_000);
  const afterFirst = first.at + PROMPT_SECONDS * 1000 + 1_500;
  await toneFrom(caller.media, HOLD_MUSIC_HZ, first.at, 3_000);
  await waitFor('the first announcement to end', async () => Date.now() > afterFirst);
  assert.equal(
    toneRuns(caller.media, first.at, afterFirst, tones).map((run) => run.hz),
    [positionHz(1), HOLD_MUSIC_HZ],
    'two answered calls: no wait announced',
  );

  // The third: now the average of the last hour's calls (2 min) × position 1 ÷ one person.
  await seedAnsweredCall(context.path.redis, 3, 2 * MINUTE);
  const second = await toneFrom(caller.media, positionHz(1), afterFirst, INTERVAL_SECONDS * 1000 + 3_000);
  const afterSecond = second.at + 2 * PROMPT_SECONDS * 1000 + 1_500;
  await waitFor('the second announcement to end', async () => Date.now() > afterSecond);
  const heard = toneRuns(caller.media, second.at, afterSecond, tones).map((run) => run.hz);
  console.log(`  second announcement: ${heard.join(' Hz, ')} Hz`);
  assert.equal(heard, [positionHz(1), WAIT_HZ, HOLD_MUSIC_HZ]);
  assert.equal(
    announcementsOf(context.path.app.logs, caller.id).map((announcement) => announcement.prompts),
    [['en/position-1'], ['en/position-1', 'en/wait-2']],
  );
  assert.ok(longestSilenceMs(caller.media, caller.queuedAt + 500, afterSecond) < 1_000, 'no second of silence');
});

test('three callers, every 10 s: the third hears "number 3" 10 s after queuing, "number 2" once the first is answered', async (context) => {
  await context.plans.put(planWith({ intervalSeconds: INTERVAL_SECONDS, expectedWait: false, offerCallback: false }));
  const workstation = await context.staff.workstation('Reception 1');
  const agent = await AgentPhone.register(context.path.kamailio, workstation.id);
  context.open.push(agent);

  const callers: WaitingCaller[] = [];
  for (let index = 0; index < 3; index++) callers.push(await waitingCaller(context));
  const [first, second, third] = callers as [WaitingCaller, WaitingCaller, WaitingCaller];

  const heard = await Promise.all(
    callers.map((caller, index) =>
      toneFrom(caller.media, positionHz(index + 1), caller.queuedAt, INTERVAL_SECONDS * 1000 + 4_000),
    ),
  );
  const lateMs = heard.map((packet, index) => packet.at - ((callers[index]?.queuedAt ?? 0) + INTERVAL_SECONDS * 1000));
  console.log(
    `  position announced ${lateMs.map((ms) => `${ms} ms`).join(', ')} after it was due (1st, 2nd, 3rd caller)`,
  );
  for (const ms of lateMs) assert.ok(Math.abs(ms) <= 2_000, `announced ${ms} ms off its time`);
  const thirdHeardAt = heard[2]?.at ?? 0;
  // The music comes back after the prompt.
  const musicBack = await toneFrom(third.media, HOLD_MUSIC_HZ, thirdHeardAt, 3_000);
  assert.ok(musicBack.at - thirdHeardAt < PROMPT_SECONDS * 1000 + 1_000, 'the music resumes after the prompt');

  // An agent is ready: the first caller is rung and answered.
  context.users.push('anna');
  await context.staff.available('anna', workstation.id);
  const ring = await agent.nextInvite(5_000);
  context.open.push(await ring.answer());
  await waitFor(
    'the first caller to be bridged',
    async () => (await readCall(context.path.redis, first.id))?.state === 'bridged',
  );

  const due = third.queuedAt + 2 * INTERVAL_SECONDS * 1000;
  const now2 = await toneFrom(third.media, positionHz(2), musicBack.at, due - Date.now() + 4_000);
  console.log(`  after the first was answered, the third heard position 2 ${now2.at - due} ms after it was due`);
  assert.ok(Math.abs(now2.at - due) <= 2_000);
  const secondNow1 = await toneFrom(second.media, positionHz(1), heard[1]?.at ?? 0, 6_000);
  assert.ok(secondNow1.at > (heard[1]?.at ?? 0), 'the second caller is now number 1');
  await toneFrom(third.media, HOLD_MUSIC_HZ, now2.at, 3_000);
  const silence = longestSilenceMs(third.media, third.queuedAt + 500, now2.at + PROMPT_SECONDS * 1000 + 500);
  console.log(`  the third caller's longest silence: ${silence} ms`);
  assert.ok(silence < 1_000, `${silence} ms of silence`);
  assert.not.ok(
    toneRuns(third.media, musicBack.at, now2.at - 100, tones).some((run) => run.hz === positionHz(3)),
    'no "number 3" once the first was answered',
  );
  assert.equal(
    announcementsOf(context.path.app.logs, third.id).map((announcement) => announcement.position),
    [3, 2],
  );
});

test('a ring during an announcement: the agent is rung at once, the prompt stops for the music; declined, the schedule goes on', async (context) => {
  await context.plans.put(planWith({ intervalSeconds: INTERVAL_SECONDS, expectedWait: false, offerCallback: false }));
  const workstation = await context.staff.workstation('Reception 2');
  const agent = await AgentPhone.register(context.path.kamailio, workstation.id);
  context.open.push(agent);
  const caller = await waitingCaller(context);

  const prompt = await toneFrom(caller.media, positionHz(1), caller.queuedAt, INTERVAL_SECONDS * 1000 + 3_000);
  context.users.push('bob');
  const availableAt = Date.now();
  await context.staff.available('bob', workstation.id);
  const ring = await agent.nextInvite(5_000);
  const ringMs = ring.receivedAt - availableAt;
  const music = await toneFrom(caller.media, HOLD_MUSIC_HZ, prompt.at, 3_000);
  console.log(
    `  rung ${ringMs} ms after the agent was ready, ${availableAt - prompt.at} ms into the prompt; music ${music.at - prompt.at} ms after the prompt began`,
  );
  assert.ok(ringMs < 1_000, `the ring took ${ringMs} ms`);
  assert.ok(
    music.at - prompt.at < PROMPT_SECONDS * 1000 - 100,
    'the music while it rings, before the prompt would have ended',
  );

  // The agent declines and logs out: the caller waits on, and the next announcement is on time.
  ring.decline(486, 'Busy Here');
  await context.staff.leave('bob');
  await waitFor(
    'the call to wait again',
    async () => (await readCall(context.path.redis, caller.id))?.state === 'waiting',
  );
  const due = caller.queuedAt + 2 * INTERVAL_SECONDS * 1000;
  const next = await toneFrom(caller.media, positionHz(1), music.at, due - Date.now() + 4_000);
  console.log(`  after the declined ring, position 1 again ${next.at - due} ms after it was due`);
  assert.ok(Math.abs(next.at - due) <= 2_000);
  assert.ok(longestSilenceMs(caller.media, caller.queuedAt + 500, next.at + 500) < 1_000);
});

test('announcements off (interval 0): the hold music alone', async (context) => {
  await context.plans.put(planWith({ intervalSeconds: 0, expectedWait: true, offerCallback: true }));
  const caller = await waitingCaller(context);
  const until = caller.queuedAt + INTERVAL_SECONDS * 1000 + 2_500;
  await waitFor('12.5 s of waiting', async () => Date.now() > until, 20_000);
  const runs = toneRuns(caller.media, caller.queuedAt, until, tones);
  assert.equal(
    runs.map((run) => run.hz),
    [HOLD_MUSIC_HZ],
  );
  assert.equal(announcementsOf(context.path.app.logs, caller.id), []);
  assert.ok(longestSilenceMs(caller.media, caller.queuedAt + 500, until) < 1_000);
});

test.run();
