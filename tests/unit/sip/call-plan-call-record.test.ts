import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CallView } from '@deskline/protocol';
import { callRecordOf } from '@deskline/sip/calls/call-store';

const START = Date.parse('2026-03-10T09:00:00Z');
const base: CallView = { id: 'c1', from: '+48600100200', line: '100', state: 'intro', startedAt: START };

test('a message left is the outcome voicemail, not an abandoned call, from the queue or after hours', () => {
  const fromQueue = callRecordOf({
    ...base,
    state: 'message-left',
    queuedAt: START + 8_000,
    queueId: 'results',
    voicemailId: 'vm1',
    endedAt: START + 60_000,
  });
  assert.is(fromQueue.outcome, 'voicemail');
  assert.is(fromQueue.queuedAt, START + 8_000);
  const afterHours = callRecordOf({ ...base, state: 'message-left', afterHours: true, endedAt: START + 30_000 });
  assert.is(afterHours.outcome, 'voicemail');
  assert.is(afterHours.afterHours, true);
});

test('a hang-up in the voicemail greeting with nothing said is unanswered (issue 16), from the queue or after hours', () => {
  const waited = callRecordOf({
    ...base,
    state: 'abandoned',
    abandonedIn: 'voicemail',
    queuedAt: START + 8_000,
    endedAt: START + 20_000,
  });
  assert.is(waited.outcome, 'unanswered');
  const never = callRecordOf({ ...base, state: 'abandoned', abandonedIn: 'voicemail', endedAt: START + 5_000 });
  assert.is(never.outcome, 'unanswered');
});

test('issue 16: a hang-up during the intro or the menu is abandoned; in the queue, ringing or the offer unanswered', () => {
  const end = { endedAt: START + 5_000 };
  for (const where of ['intro', 'menu'] as const)
    assert.is(callRecordOf({ ...base, state: 'abandoned', abandonedIn: where, ...end }).outcome, 'abandoned', where);
  for (const where of ['waiting', 'ringing', 'offer'] as const)
    assert.is(
      callRecordOf({ ...base, state: 'abandoned', abandonedIn: where, queuedAt: START + 1_000, ...end }).outcome,
      'unanswered',
      where,
    );
  // The overflow offer straight after the intro (no queue yet) is past the intro too.
  assert.is(callRecordOf({ ...base, state: 'abandoned', abandonedIn: 'offer', ...end }).outcome, 'unanswered');
});

test('the other endings keep their outcomes', () => {
  const end = { endedAt: START + 90_000 };
  assert.is(callRecordOf({ ...base, state: 'closed', ...end }).outcome, 'closed');
  assert.is(
    callRecordOf({ ...base, state: 'callback-requested', queuedAt: START, ...end }).outcome,
    'callback-requested',
  );
  assert.is(
    callRecordOf({ ...base, state: 'ended', queuedAt: START, answeredAt: START + 5_000, agentUserId: 'anna', ...end })
      .outcome,
    'answered',
  );
});

test.run();
