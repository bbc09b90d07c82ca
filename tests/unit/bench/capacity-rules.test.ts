/**
 * The capacity bench's arithmetic (tests/helpers/capacity-rules.ts): a wrong packet rate or a stop
 * rule that never fires would put a capacity in bench/README.md that patients would not get.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  deliveredPps,
  MIN_PPS,
  percentile,
  rateOver,
  stagePlan,
  stopReason,
  summarize,
  type StageOutcome,
} from '../../helpers/capacity-rules.js';

/** Arrivals every `gapMs` from `from` (inclusive) to `to` (exclusive). */
const every = (gapMs: number, from: number, to: number): { at: number }[] => {
  const out: { at: number }[] = [];
  for (let at = from; at < to; at += gapMs) out.push({ at });
  return out;
};

test('a caller getting a packet every 20 ms is at 50 pps; packets outside the window do not count', () => {
  const arrivals = [...every(20, 0, 1000), ...every(20, 1000, 11_000), ...every(20, 11_000, 12_000)];
  assert.is(rateOver(arrivals, 1000, 11_000), 50);
  assert.is(rateOver(every(25, 1000, 11_000), 1000, 11_000), 40);
  assert.is(rateOver([], 0, 10_000), 0);
  assert.is(rateOver(arrivals, 5000, 5000), 0, 'an empty window is 0, not NaN or Infinity');
});

test('a gap of half a second in the music takes a 10 s window below 48 pps', () => {
  const withGap = [...every(20, 0, 4000), ...every(20, 4500, 10_000)];
  assert.ok(rateOver(withGap, 0, 10_000) < MIN_PPS);
});

test('a bridged end is judged by what the other end sent: a slow sender is not the server losing packets', () => {
  assert.is(deliveredPps(470, 470), 50, 'all 470 of a late sender delivered');
  assert.is(deliveredPps(470, 500), 47, '30 of 500 lost on the way');
  assert.is(deliveredPps(501, 500), 50, 'one packet more in the window (its edge) is not a rate above 50');
  assert.is(deliveredPps(0, 0), 0, 'a sender that sent nothing delivers nothing');
  assert.ok(deliveredPps(479, 500) < MIN_PPS);
});

test('the summary shows the worst callers: min, 5th percentile (nearest rank), median, silent ones', () => {
  const rates = [50, 49.9, 0, ...Array.from({ length: 97 }, () => 50)];
  const s = summarize(rates);
  assert.is(s.n, 100);
  assert.is(s.min, 0);
  assert.is(s.p5, 50, 'with 100 callers p5 is the 5th worst; only 2 are below 50');
  assert.is(s.median, 50);
  assert.is(s.silent, 1);
  assert.is(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20], 5), 1);
  assert.is(percentile([10, 20, 30], 50), 20);
  assert.ok(Number.isNaN(summarize([]).min));
});

const fine = (n: number) => summarize(Array.from({ length: n }, () => 50));
const outcome = (over: Partial<StageOutcome> = {}): StageOutcome => ({
  holding: fine(100),
  atPatients: fine(10),
  atAgents: fine(10),
  failedCalls: 0,
  ...over,
});

test('the bench goes on while every caller gets 48 pps or more', () => {
  assert.is(stopReason(outcome()), undefined);
  assert.is(stopReason(outcome({ holding: summarize([48, 50, 50]) })), undefined, '48 itself is enough');
  assert.is(
    stopReason(outcome({ atPatients: summarize([]), atAgents: summarize([]) })),
    undefined,
    'a stage without bridged calls',
  );
});

test('one caller on hold below 48 pps stops it, even when the median is fine', () => {
  const reason = stopReason(outcome({ holding: summarize([47.9, ...Array.from({ length: 199 }, () => 50)]) }));
  assert.match(reason ?? '', /caller on hold at 47\.9 pps/);
});

test('either end of a bridged call below 48 pps stops it', () => {
  assert.match(stopReason(outcome({ atPatients: summarize([50, 30]) })) ?? '', /bridged patient at 30\.0/);
  assert.match(stopReason(outcome({ atAgents: summarize([0]) })) ?? '', /agent at 0\.0/);
});

test('a failed call stops it, whatever the packet rates', () => {
  assert.match(stopReason(outcome({ failedCalls: 1 })) ?? '', /1 call\(s\) failed/);
});

test('a saturated bench stops it: its late reads and short sends would be counted against the server', () => {
  const busy = (loopP99Ms: number, sendersMedianPps: number) =>
    stopReason(outcome({ loadGenerator: { loopP99Ms, sendersMedianPps } }));
  assert.is(busy(90, 48), undefined);
  assert.match(busy(240, 48) ?? '', /load generator is saturated/);
  assert.match(busy(20, 38.7) ?? '', /senders at 38\.7 pps/);
  assert.match(
    stopReason(outcome({ failedCalls: 2, loadGenerator: { loopP99Ms: 500, sendersMedianPps: 10 } })) ?? '',
    /2 call\(s\) failed/,
    'a failed call is reported first',
  );
});

test('stages pair the two lists; the shorter repeats its last value; lists that shrink or are not numbers are refused', () => {
  assert.equal(stagePlan('10,25,50', '2,5'), [
    { hold: 10, bridged: 2 },
    { hold: 25, bridged: 5 },
    { hold: 50, bridged: 5 },
  ]);
  assert.equal(stagePlan('0', '2, 5'), [
    { hold: 0, bridged: 2 },
    { hold: 0, bridged: 5 },
  ]);
  assert.throws(() => stagePlan('10,5', '1'), /must not decrease/);
  assert.throws(() => stagePlan('10,x', '1'), /whole numbers/);
  assert.throws(() => stagePlan('', '1'), /whole numbers/);
  assert.throws(() => stagePlan('1.5', '1'), /whole numbers/);
});

test.run();
