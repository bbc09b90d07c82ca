import { test } from 'uvu';
import * as assert from 'uvu/assert';
import pino from 'pino';
import { DEFAULT_CALL_PLAN, type CallPlan, type CallRecord } from '@deskline/protocol';
import type { MediaSession } from '@deskline/sip/media/media-session';
import { PromptFiles } from '@deskline/sip/media/prompt-files';
import { expectedWaitMs, waitPrompt } from '@deskline/sip/calls/steps/expected-wait';
import {
  WaitWithAnnouncementsStep,
  announcementPrompts,
  nextAnnouncementAt,
} from '@deskline/sip/calls/steps/wait-with-announcements';

const log = pino({ level: 'silent' });
const MINUTE = 60_000;

function answered(talkMs: number, agentUserId: string, answeredAt = Date.now() - 10 * MINUTE): CallRecord {
  return {
    id: `${agentUserId}-${talkMs}-${answeredAt}`,
    from: '+48',
    line: '100',
    outcome: 'answered',
    startedAt: answeredAt - MINUTE,
    queuedAt: answeredAt - MINUTE,
    answeredAt,
    endedAt: answeredAt + talkMs,
    agentUserId,
  };
}

test('the expected wait: nothing below three answered calls; position × average talk ÷ staff who answered', () => {
  assert.is(expectedWaitMs(1, [answered(2 * MINUTE, 'anna'), answered(2 * MINUTE, 'anna')]), undefined);
  const three = [answered(1 * MINUTE, 'anna'), answered(2 * MINUTE, 'anna'), answered(3 * MINUTE, 'anna')];
  assert.is(expectedWaitMs(1, three), 2 * MINUTE);
  assert.is(expectedWaitMs(3, three), 6 * MINUTE);
  const twoStaff = [answered(4 * MINUTE, 'anna'), answered(4 * MINUTE, 'bob'), answered(4 * MINUTE, 'anna')];
  assert.is(expectedWaitMs(3, twoStaff), 6 * MINUTE);
});

test('the wait prompt is the nearest of PROMPT_WAIT_MINUTES; none above 75 minutes', () => {
  assert.is(waitPrompt(10_000), 'wait-1');
  assert.is(waitPrompt(2.4 * MINUTE), 'wait-2');
  assert.is(waitPrompt(12 * MINUTE), 'wait-10');
  assert.is(waitPrompt(12.5 * MINUTE), 'wait-15');
  assert.is(waitPrompt(70 * MINUTE), 'wait-60');
  assert.is(waitPrompt(80 * MINUTE), undefined);
});

test("an announcement's prompts: position (position-many above 20), wait, callback offer, in each language", () => {
  const plan: CallPlan = {
    ...DEFAULT_CALL_PLAN,
    languages: ['pl', 'en'],
    announcements: { intervalSeconds: 30, expectedWait: true, offerCallback: true },
    keypad: { callbackDigit: '1', voicemailDigit: null },
  };
  assert.equal(
    announcementPrompts(plan, 3, 2 * MINUTE).map((p) => `${p.language}/${p.name}`),
    ['pl/position-3', 'pl/wait-2', 'pl/callback-offer', 'en/position-3', 'en/wait-2', 'en/callback-offer'],
  );
  assert.equal(
    announcementPrompts({ ...plan, languages: ['en'] }, 21, undefined).map((p) => p.name),
    ['position-many', 'callback-offer'],
  );
  const noKey = {
    ...plan,
    languages: ['en'] as CallPlan['languages'],
    keypad: { callbackDigit: null, voicemailDigit: null },
  };
  assert.equal(
    announcementPrompts(noKey, 1, 2 * MINUTE).map((p) => p.name),
    ['position-1', 'wait-2'],
    'no callback offer without a callback key',
  );
  const noWait = { ...noKey, announcements: { ...plan.announcements, expectedWait: false } };
  assert.equal(
    announcementPrompts(noWait, 1, 2 * MINUTE).map((p) => p.name),
    ['position-1'],
  );
});

test('the schedule: interval after queuing, then the next interval from queuing not before the last ended', () => {
  assert.is(nextAnnouncementAt(1_000, 10_000, 1_000), 11_000);
  assert.is(nextAnnouncementAt(1_000, 10_000, 11_000), 11_000);
  assert.is(nextAnnouncementAt(1_000, 10_000, 12_500), 21_000);
  assert.is(nextAnnouncementAt(1_000, 10_000, 21_001), 31_000);
});

/** A media session that logs what was played, each file lasting `durationMs`. */
function recordingMedia(durationMs: number): { media: MediaSession; played: string[] } {
  const played: string[] = [];
  const media = {
    playToPatient: async (file: string) => {
      played.push(file.replace(/^.*\/prompts\//, ''));
      return { durationMs };
    },
  } as unknown as MediaSession;
  return { media, played };
}

function services(plan: CallPlan, position: () => number | undefined) {
  return {
    plan: async () => plan,
    prompts: new PromptFiles('/media'),
    waiting: { position: async () => position(), answeredSince: async () => [] },
  };
}

const tenSeconds: CallPlan = {
  ...DEFAULT_CALL_PLAN,
  announcements: { intervalSeconds: 10, expectedWait: true, offerCallback: false },
};

/** A step of a call that queued so long ago that its first announcement (of `plan`) is due in `dueInMs`; started. */
async function startedStep(
  media: MediaSession,
  plan: CallPlan,
  position: () => number | undefined,
  dueInMs: number,
): Promise<WaitWithAnnouncementsStep> {
  const intervalMs = plan.announcements.intervalSeconds * 1000 || 60_000;
  const step = new WaitWithAnnouncementsStep(media, HOLD, log, services(plan, position), {
    id: 'c1',
    queuedAt: Date.now() - intervalMs + dueInMs,
  });
  await step.start();
  return step;
}

const HOLD = '/media/hold-music.wav';
const pause = (ms: number): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `played` has `count` files (or 5 s, for a loaded machine), then lets 50 ms more pass. */
async function playedCount(files: readonly string[], count: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (files.length < count && Date.now() < deadline) await pause(10);
  await pause(50);
}

test('the step: music, then at the interval the position asked then, then the music again', async () => {
  const { media, played } = recordingMedia(50);
  let position = 2;
  const step = await startedStep(media, tenSeconds, () => position, 100);
  assert.equal(played, [HOLD]);
  position = 1;
  try {
    await playedCount(played, 3);
    assert.equal(played, [HOLD, 'en/position-1.wav', HOLD]);
    assert.is(step.asked, true, 'the music plays again');
  } finally {
    step.stop();
  }
});

test('a ring during the announcement stops it: nothing more is played, and the call is told the music is not playing', async () => {
  const { media, played } = recordingMedia(500);
  const step = await startedStep(media, tenSeconds, () => 1, 50);
  await playedCount(played, 2);
  assert.equal(played, [HOLD, 'en/position-1.wav']);
  step.stop();
  await pause(600);
  assert.equal(played, [HOLD, 'en/position-1.wav']);
  assert.is(step.asked, false);
});

test('not in calls:waiting when due (being claimed): no announcement; interval 0: none ever', async () => {
  const { media, played } = recordingMedia(50);
  const step = await startedStep(media, tenSeconds, () => undefined, 50);
  await pause(300);
  step.stop();
  assert.equal(played, [HOLD]);
  const off = { ...tenSeconds, announcements: { ...tenSeconds.announcements, intervalSeconds: 0 } };
  const quiet = recordingMedia(50);
  const offStep = await startedStep(quiet.media, off, () => 1, 50);
  await pause(300);
  offStep.stop();
  assert.equal(quiet.played, [HOLD]);
});

test('a prompt that cannot be played (missing file): the music again, and the call goes on', async () => {
  const played: string[] = [];
  const media = {
    playToPatient: async (file: string) => {
      if (file.includes('/prompts/')) throw new Error('rtpengine: failed to start media playback');
      played.push(file);
      return { durationMs: 50 };
    },
  } as unknown as MediaSession;
  const step = await startedStep(media, tenSeconds, () => 1, 50);
  try {
    await playedCount(played, 2);
    assert.equal(played, [HOLD, HOLD]);
    assert.is(step.asked, true);
  } finally {
    step.stop();
  }
});

test('stopped while rtpengine is still being asked for a prompt (an rtpengine restart): not logged as playing, and nothing more played', async () => {
  const played: string[] = [];
  let answer: (() => void) | undefined;
  const media = {
    playToPatient: async (file: string) => {
      played.push(file.replace(/^.*\/prompts\//, ''));
      // rtpengine is down: the prompt's command is answered only once it is back.
      if (file.includes('/prompts/')) await new Promise<void>((resolve) => (answer = resolve));
      return { durationMs: 50 };
    },
  } as unknown as MediaSession;
  const lines: string[] = [];
  const capturing = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const plan: CallPlan = { ...tenSeconds, languages: ['en', 'pl'] };
  const step = new WaitWithAnnouncementsStep(
    media,
    HOLD,
    capturing,
    services(plan, () => 1),
    {
      id: 'c1',
      queuedAt: Date.now() - 10_000 + 50,
    },
  );
  await step.start();
  await playedCount(played, 2);
  step.stop();
  answer?.();
  await pause(200);
  assert.equal(played, [HOLD, 'en/position-1.wav'], 'neither the Polish prompt nor the music after it');
  assert.not.ok(
    lines.some((line) => line.includes('announcement playing')),
    'the announcement the patient did not hear is not logged',
  );
});

test.run();
