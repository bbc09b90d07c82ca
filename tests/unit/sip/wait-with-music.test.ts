import { test } from 'uvu';
import * as assert from 'uvu/assert';
import pino from 'pino';
import type { MediaSession } from '@deskline/sip/media/media-session';
import { MUSIC_WAITS_FOR_ROUTING_MS, WaitWithMusicStep } from '@deskline/sip/calls/steps/wait-with-music';

const log = pino({ level: 'silent' });

/** A media session that records when the music was asked for (ms after `since`). */
function recordingMedia(since: number): { media: MediaSession; asked: number[] } {
  const asked: number[] = [];
  const media = {
    playToPatient: async () => {
      asked.push(performance.now() - since);
      return { durationMs: undefined };
    },
  } as unknown as MediaSession;
  return { media, asked };
}

/** A step waiting for a routing pass that ends when `routed()` is called; started. */
function waitingForPass() {
  let routed!: () => void;
  const pass = new Promise<void>((resolve) => (routed = resolve));
  const { media, asked } = recordingMedia(performance.now());
  const step = new WaitWithMusicStep(media, 'hold-music.wav', log, pass);
  return { step, asked, routed, started: step.start() };
}

test('the music is asked for once the routing pass is over, not before', async () => {
  const { step, asked, routed, started } = waitingForPass();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(asked, [], 'nothing while the pass runs');
  assert.is(step.asked, false);
  routed();
  await started;
  assert.is(asked.length, 1);
  assert.is(step.asked, true);
});

test('a routing pass that never ends holds the music back MUSIC_WAITS_FOR_ROUTING_MS at most', async () => {
  const { media, asked } = recordingMedia(performance.now());
  await new WaitWithMusicStep(media, 'hold-music.wav', log, new Promise(() => undefined)).start();
  assert.is(asked.length, 1);
  assert.ok(
    (asked[0] ?? 0) >= MUSIC_WAITS_FOR_ROUTING_MS - 2 && (asked[0] ?? 0) < MUSIC_WAITS_FOR_ROUTING_MS + 500,
    `asked after ${asked[0]} ms`,
  );
});

test('stopped before the pass is over (the call was rung, or ended): the step asks for nothing', async () => {
  const { step, asked, routed, started } = waitingForPass();
  step.stop();
  routed();
  await started;
  assert.equal(asked, []);
  assert.is(step.asked, false);
});

test('without a pass to wait for (rtpengine restarted under a waiting call): at once', async () => {
  const { media, asked } = recordingMedia(performance.now());
  await new WaitWithMusicStep(media, 'hold-music.wav', log).start();
  assert.is(asked.length, 1);
});

test.run();
