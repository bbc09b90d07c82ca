/**
 * The callback offer inside the announcements (issue 15, docs/call-plan.md "Announcements while
 * waiting" and "Keypad"), through the real call path: with the plan's callback key, each announcement
 * ends with "press 1 to be called back"; the patient presses 1 (RFC 4733 through rtpengine) while
 * hearing it, keeps their place in the queue as a callback request, hears the confirmation, and the
 * clinic hangs up. Every prompt is a tone of its own (tests/helpers/prompt-tones.ts).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_CALL_PLAN } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import {
  announcementsOf,
  toneFrom,
  toneRuns,
  waitingCaller,
  INTERVAL_MS,
  ON_TIME_MS,
} from '../../helpers/announcements.js';
import { HOLD_MUSIC_HZ, readCall } from '../../helpers/call-path.js';
import { callPlanHooks, type CallPlanContext } from '../../helpers/call-plan-stack.js';
import {
  ANNOUNCEMENT_HZ,
  CALLBACK_OFFER_HZ,
  OTHER_PROMPT_HZ,
  PROMPT_SECONDS,
  positionHz,
  writePromptTonesFor,
} from '../../helpers/prompt-tones.js';
import { waitFor } from '../../helpers/wait.js';

const CALLBACK_KEY = '1';
/** The confirmation (callback-confirmed) is one of the "other" prompts' tone here. */
const CONFIRMATION_HZ = OTHER_PROMPT_HZ;
const TONES = [HOLD_MUSIC_HZ, CONFIRMATION_HZ, ...ANNOUNCEMENT_HZ];

const test = suite<CallPlanContext>('call plan: the callback offer in the announcements');
callPlanHooks(test, { SKIP_INTRO: 'true' }, 1, writePromptTonesFor);

test('the announcement offers a callback; 1 pressed during the offer: callback-requested with the place kept, the confirmation, then the clinic hangs up; the caller behind moves up', async (context) => {
  const { path, events, plans } = context;
  await plans.put({
    ...DEFAULT_CALL_PLAN,
    keypad: { callbackDigit: CALLBACK_KEY, voicemailDigit: null },
    announcements: { intervalSeconds: INTERVAL_MS / 1000, expectedWait: false, offerCallback: true },
  });
  const first = await waitingCaller(context, '+48500000001');
  const behind = await waitingCaller(context, '+48500000002');

  const place = await toneFrom(first.media, positionHz(1), first.queuedAt, INTERVAL_MS + ON_TIME_MS + 1_000);
  const lateMs = place.at - (first.queuedAt + INTERVAL_MS);
  console.log(`  announcement ${lateMs} ms after it was due`);
  assert.ok(Math.abs(lateMs) <= ON_TIME_MS, `announced ${lateMs} ms off its time`);
  const offer = await toneFrom(first.media, CALLBACK_OFFER_HZ, place.at, PROMPT_SECONDS * 1000 + 1_000);
  // Into the offer (a few packets of it heard), the patient presses the key.
  await toneFrom(first.media, CALLBACK_OFFER_HZ, offer.at + 100, PROMPT_SECONDS * 1000);
  assert.equal(
    toneRuns(first.media, place.at, Date.now(), TONES).map((run) => run.hz),
    [positionHz(1), CALLBACK_OFFER_HZ],
    'the place, then the offer',
  );
  const mark = events.mark();
  const pressedAt = Date.now();
  await first.media.pressKey(CALLBACK_KEY);
  const requested = await events.waitFor({ callId: first.id, state: 'callback-requested', from: mark }, 3_000);
  console.log(`  key to callback-requested: ${requested.at - pressedAt} ms`);
  assert.is(requested.call.queuedAt, first.queuedAt, 'the place in the queue is kept');
  assert.ok((requested.call.queuedAt ?? Infinity) < behind.queuedAt, 'ahead of the caller who called later');
  assert.is(await path.redis.zscore(RedisKeys.waitingCalls, first.id), null, 'out of the waiting queue');

  const confirmation = await toneFrom(first.media, CONFIRMATION_HZ, pressedAt, 3_000);
  await first.dialog.waitForBye(PROMPT_SECONDS * 1000 + 4_000);
  const byeAt = Date.now();
  const confirmedMs = byeAt - confirmation.at;
  console.log(`  confirmation ${confirmation.at - pressedAt} ms after the key; BYE ${confirmedMs} ms after it began`);
  assert.ok(confirmedMs >= PROMPT_SECONDS * 1000 - 300, `BYE ${confirmedMs} ms into the confirmation`);
  assert.equal(
    toneRuns(first.media, place.at, byeAt, TONES).map((run) => run.hz),
    [positionHz(1), CALLBACK_OFFER_HZ, CONFIRMATION_HZ],
    'the offer stops for the confirmation; neither the music nor another prompt comes after the key',
  );
  assert.is((await readCall(path.redis, first.id))?.state, 'callback-requested');
  assert.equal(events.states(first.id), ['intro', 'waiting', 'callback-requested']);

  // The caller behind: number 2 while the first waited, number 1 once the first asked for a callback.
  const due = (at: number): number => behind.queuedAt + Math.ceil((at - behind.queuedAt) / INTERVAL_MS) * INTERVAL_MS;
  const nextDue = due(requested.at + 1);
  const moved = await toneFrom(behind.media, positionHz(1), requested.at, nextDue - Date.now() + ON_TIME_MS + 1_000);
  console.log(`  the caller behind heard number 1 ${moved.at - nextDue} ms after it was due`);
  assert.ok(Math.abs(moved.at - nextDue) <= ON_TIME_MS);
  await waitFor("the caller behind's announcement to be logged", async () =>
    announcementsOf(path.app.logs, behind.id).some((line) => line.dueAt === nextDue),
  );
  // Its place is read when an announcement is due: 2 before the key, 1 once the request was made.
  for (const { dueAt, position } of announcementsOf(path.app.logs, behind.id)) {
    if (dueAt < pressedAt) assert.is(position, 2, `the announcement due at ${dueAt}`);
    else if (dueAt > requested.at) assert.is(position, 1, `the announcement due at ${dueAt}`);
  }
  assert.not.ok(
    toneRuns(behind.media, requested.at, moved.at + PROMPT_SECONDS * 1000, TONES).some(
      (run) => run.hz === positionHz(2),
    ),
    'no "number 2" once the first caller left the queue',
  );
});

test.run();
