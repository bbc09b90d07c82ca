import { test } from 'uvu';
import * as assert from 'uvu/assert';
import pino from 'pino';
import { NgError } from '@deskline/sip/media/ng-client';
import type { RtpEngine } from '@deskline/sip/media/rtpengine';
import { RtpengineWatch } from '@deskline/sip/media/rtpengine-watch';

/**
 * Runs a watch over `answers`, one per probe: a start time (ms ago), or an error. Resolves with how
 * many restarts it reported once every answer has been used.
 */
async function restartsSeen(answers: ReadonlyArray<number | Error>): Promise<number> {
  let next = 0;
  let restarts = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const rtpengine = {
    startedAt: async () => {
      const answer = answers[next++];
      // Asked once more than there are answers: the last one has been taken in.
      if (next > answers.length) done();
      if (answer === undefined) throw new NgError('statistics', 'no more answers');
      if (answer instanceof Error) throw answer;
      return Date.now() - answer;
    },
  } as unknown as RtpEngine;
  const watch = new RtpengineWatch({
    rtpengine,
    onRestarted: () => (restarts += 1),
    log: pino({ level: 'silent' }),
    intervalMs: 1,
  });
  watch.start();
  await finished;
  await watch.stop();
  return restarts;
}

const silence = new NgError('statistics', 'no reply', true);

test('the same process, its uptime read in whole seconds: no restart', async () => {
  assert.is(await restartsSeen([60_000, 60_900, 60_000, 60_999]), 0);
});

test('out of reach and back, the same process: no restart', async () => {
  assert.is(await restartsSeen([60_000, silence, silence, 60_500]), 0);
});

test('a later start, with or without a gap in between: one restart each', async () => {
  assert.is(await restartsSeen([60_000, 0, 100, 900]), 1);
  assert.is(await restartsSeen([120_000, silence, 60_000, 60_500, silence, 0]), 2);
});

test('errors and unreadable answers (another program on the port) are no answer, and no restart', async () => {
  const errors = [
    new NgError('statistics', 'Unknown call-id'),
    new NgError('statistics', 'unreadable reply: malformed integer'),
    new NgError('statistics', 'the reply tells no uptime'),
  ];
  assert.is(await restartsSeen([60_000, ...errors, ...errors, 60_000]), 0);
});

test('the first answer only sets where the watch starts from', async () => {
  assert.is(await restartsSeen([0, 500]), 0);
});

test.run();
