/**
 * The push fan-out bench's arithmetic (tests/helpers/fanout-latency.ts): a latency taken from the
 * first socket instead of the last, or an event some socket never got counted as fast, would put a
 * figure in bench/README.md that the last panel in the clinic would not see.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FanoutClock } from '../../helpers/fanout-latency.js';

test("an event's latency is from its write to the last socket that got it, not the first", () => {
  const clock = new FanoutClock(3);
  const event = clock.wrote(1000);
  clock.received(0, event, 1002);
  clock.received(2, event, 1040);
  clock.received(1, event, 1005);
  assert.equal(clock.summary(), { n: 1, p50: 40, p95: 40, max: 40, first: { p50: 2, p95: 2, max: 2 }, missed: 0 });
});

test('an event that one socket never got is missed, not counted with the others', () => {
  const clock = new FanoutClock(2);
  const first = clock.wrote(0);
  const second = clock.wrote(100);
  clock.received(0, first, 5);
  clock.received(1, first, 7);
  clock.received(0, second, 101);
  assert.not.ok(clock.complete());
  assert.equal(clock.summary(), { n: 1, p50: 7, p95: 7, max: 7, first: { p50: 5, p95: 5, max: 5 }, missed: 1 });
  clock.received(1, second, 300);
  assert.ok(clock.complete());
  assert.equal(clock.summary(), { n: 2, p50: 7, p95: 200, max: 200, first: { p50: 1, p95: 5, max: 5 }, missed: 0 });
});

test("a socket's repeat of an event, or an event it got after a later one, does not make it complete", () => {
  const clock = new FanoutClock(2);
  const first = clock.wrote(0);
  const second = clock.wrote(10);
  clock.received(0, first, 1);
  clock.received(0, first, 2);
  clock.received(0, second, 12);
  clock.received(1, second, 13);
  clock.received(1, first, 14);
  assert.equal(clock.summary(), { n: 1, p50: 3, p95: 3, max: 3, first: { p50: 2, p95: 2, max: 2 }, missed: 1 });
});

test('an event the bench did not write (before it started counting) is ignored', () => {
  const clock = new FanoutClock(1);
  clock.received(0, 0, 5);
  const event = clock.wrote(10);
  clock.received(0, event, 12);
  assert.equal(clock.summary(), { n: 1, p50: 2, p95: 2, max: 2, first: { p50: 2, p95: 2, max: 2 }, missed: 0 });
});

test('the warm-up is left out; percentiles are nearest rank over the rest', () => {
  const clock = new FanoutClock(1);
  for (let i = 0; i < 120; i += 1) {
    const event = clock.wrote(i * 100);
    // The first 20 (the warm-up) are slow; then latencies 1..100 ms in some order.
    const latency = i < 20 ? 1000 : ((i * 37) % 100) + 1;
    clock.received(0, event, i * 100 + latency);
  }
  assert.equal(clock.summary(20), {
    n: 100,
    p50: 50,
    p95: 95,
    max: 100,
    first: { p50: 50, p95: 95, max: 100 },
    missed: 0,
  });
  assert.is(clock.summary().max, 1000);
  assert.equal(new FanoutClock(5).summary(), {
    n: 0,
    p50: NaN,
    p95: NaN,
    max: NaN,
    first: { p50: NaN, p95: NaN, max: NaN },
    missed: 0,
  });
});

test.run();
