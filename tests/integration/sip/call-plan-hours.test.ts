/**
 * The call plan's hours (issue 15, docs/call-plan.md "What a caller hears") through the real call
 * path: outside the weekly hours or on a closure the patient hears no intro but the closed prompt in
 * each of the plan's languages, then the clinic hangs up; the call is `closed` with `afterHours`, not
 * a missed call. The DST edges of openingAt are unit tests.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { callPlanHooks, patientCalls, type CallPlanContext } from '../../helpers/call-plan-stack.js';
import { DEFAULT_CALL_PLAN, WEEKDAYS, type CallPlan, type WeeklyHours } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { waitFor } from '../../helpers/wait.js';
import { INTRO_HZ, PROMPT_TONES, readCall } from '../../helpers/call-path.js';
import { isTone } from '../../helpers/patient-phone.js';

const test = suite<CallPlanContext>('call plan: calls outside the opening hours');
// The intro plays for calls in the hours: a closed call must not hear it.
callPlanHooks(test, { CLINIC_TIME_ZONE: 'Europe/Warsaw' });

/** Today in Warsaw, as YYYY-MM-DD. */
function warsawDate(offsetDays = 0): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Warsaw' }).format(
    new Date(Date.now() + offsetDays * 86_400_000),
  );
}

/** Open every day, except the Warsaw hour now (and the one around it): a closed weekday hour. */
function closedNow(): WeeklyHours {
  const hour = Number(
    new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Warsaw', hour: '2-digit', hourCycle: 'h23' }).format(
      new Date(),
    ),
  );
  const pad = (h: number): string => `${String(h).padStart(2, '0')}:00`;
  const from = Math.max(0, hour - 1);
  const to = Math.min(24, hour + 2);
  const intervals = [
    ...(from > 0 ? [{ start: '00:00', end: pad(from) }] : []),
    ...(to < 24 ? [{ start: pad(to), end: '24:00' }] : []),
  ];
  return Object.fromEntries(WEEKDAYS.map((day) => [day, intervals])) as WeeklyHours;
}

async function expectClosedPromptThenBye(context: CallPlanContext, plan: CallPlan): Promise<string> {
  const { path, events, plans } = context;
  await plans.put(plan);
  const { media, dialog, id } = await patientCalls(context);
  const closed = await events.waitFor({ callId: id, state: 'closed' });
  assert.is(closed.call.afterHours, true);
  const first = await media.waitForTone(PROMPT_TONES.closed.hz, 3_000);
  await dialog.waitForBye(5_000);
  const heardMs = Date.now() - first.at;
  const expectedMs = plan.languages.length * PROMPT_TONES.closed.seconds * 1000;
  console.log(`  closed prompt for ${heardMs} ms (${plan.languages.join(', ')}), then BYE`);
  assert.ok(heardMs >= expectedMs - 300, `BYE ${heardMs} ms after the prompt began`);
  assert.not.ok(
    media.received.some((packet) => isTone(packet, INTRO_HZ)),
    'no intro',
  );
  const view = await waitFor('the call to be over', async () => {
    const call = await readCall(path.redis, id);
    return call?.endedAt ? call : undefined;
  });
  assert.is(view.state, 'closed');
  assert.is(view.afterHours, true);
  assert.is(await path.redis.zscore(RedisKeys.abandonedCalls, id), null, 'not a missed call');
  return id;
}

test('a call in a closed weekday hour: no intro, the closed prompt in each language, then the clinic hangs up', async (context) => {
  await expectClosedPromptThenBye(context, { ...DEFAULT_CALL_PLAN, hours: closedNow(), languages: ['pl', 'en'] });
});

test('a call on a holiday: the closed prompt, then the clinic hangs up, whatever the weekly hours say', async (context) => {
  await expectClosedPromptThenBye(context, {
    ...DEFAULT_CALL_PLAN,
    closures: [{ from: warsawDate(-1), to: warsawDate(1), kind: 'holiday', reason: 'Christmas' }],
  });
});

test('closedAction voicemail: the closed prompt, then the voicemail greeting; a caller who says nothing leaves no message', async (context) => {
  const { path, events, plans } = context;
  await plans.put({ ...DEFAULT_CALL_PLAN, hours: closedNow(), closedAction: 'voicemail' });
  const { media, dialog, id } = await patientCalls(context);
  media.mute(true);
  const closed = await events.waitFor({ callId: id, state: 'closed' });
  assert.is(closed.call.afterHours, true);
  await media.waitForTone(PROMPT_TONES.closed.hz, 3_000);
  await events.waitFor({ callId: id, state: 'voicemail' }, 5_000);
  await media.waitForTone(PROMPT_TONES['voicemail-greeting'].hz, 3_000);
  await dialog.hangUp();
  const view = await waitFor('the call to be over', async () => {
    const call = await readCall(path.redis, id);
    return call?.endedAt ? call : undefined;
  });
  assert.is(view.state, 'abandoned', 'nothing was said: no message');
  assert.is(view.abandonedIn, 'voicemail');
  assert.is(view.afterHours, true);
  assert.equal(events.states(id), ['intro', 'closed', 'voicemail', 'abandoned']);
});

test('a patient who hangs up during the closed prompt: the call is closed (not abandoned), with endedAt', async (context) => {
  const { path, events, plans } = context;
  await plans.put({ ...DEFAULT_CALL_PLAN, hours: closedNow(), languages: ['en', 'pl'] });
  const { media, dialog, id } = await patientCalls(context);
  await events.waitFor({ callId: id, state: 'closed' });
  await media.waitForTone(PROMPT_TONES.closed.hz, 3_000);
  await dialog.hangUp();
  const view = await waitFor('the call to be over', async () => {
    const call = await readCall(path.redis, id);
    return call?.endedAt ? call : undefined;
  });
  assert.is(view.state, 'closed');
  assert.is(await path.redis.zscore(RedisKeys.abandonedCalls, id), null, 'not a missed call');
  assert.equal(events.states(id), ['intro', 'closed', 'closed']);
});

test('in the hours (the default plan) the call hears the intro and waits, as before the call plan', async (context) => {
  const { events, plans } = context;
  await plans.put(DEFAULT_CALL_PLAN);
  const { media, dialog, id } = await patientCalls(context);
  await media.waitForTone(INTRO_HZ, 3_000);
  await events.waitFor({ callId: id, state: 'waiting' }, 6_000);
  await dialog.hangUp();
});

test.run();
