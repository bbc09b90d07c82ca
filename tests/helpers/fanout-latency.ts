/**
 * The push fan-out bench's arithmetic (bench/push-fanout.ts): for each event the producer wrote, the
 * time until the LAST of the sockets had it, and the events some socket never got. Here, not in
 * bench/, so that the unit tests can check it (tests/unit/bench/fanout-latency.test.ts); the bench
 * loads it at run time like the other helpers.
 */
import { percentile } from './capacity-rules.js';

export interface Percentiles {
  p50: number;
  p95: number;
  max: number;
}

export interface FanoutSummary extends Percentiles {
  /** Events that every socket received. */
  n: number;
  /**
   * The same events to their FIRST socket: what the way through Redis and signaling's reader takes
   * before the fan-out; the difference to the last socket is the fan-out itself.
   */
  first: Percentiles;
  /** Events written that at least one socket had not received. */
  missed: number;
}

/**
 * Events are numbered in the order they are written (0, 1, 2 …) and every socket receives them in
 * that order, since one reader fans one stream out; a socket's repeat or an event it got out of order
 * is not counted, so such an event shows as missed rather than as a fast one.
 */
export class FanoutClock {
  private readonly writtenAt: number[] = [];
  private readonly receivedBy: number[] = [];
  private readonly firstAt: number[] = [];
  private readonly lastAt: number[] = [];
  /** Per socket, the number of the last event it got; -1 before the first. */
  private readonly lastSeen: Int32Array;

  constructor(readonly sockets: number) {
    this.lastSeen = new Int32Array(sockets).fill(-1);
  }

  /** The producer is about to write the next event, at `at` ms; returns its number. */
  wrote(at: number): number {
    this.writtenAt.push(at);
    this.receivedBy.push(0);
    this.firstAt.push(Infinity);
    this.lastAt.push(-Infinity);
    return this.writtenAt.length - 1;
  }

  /** Socket `socket` received event `event` at `at` ms. */
  received(socket: number, event: number, at: number): void {
    if (event >= this.writtenAt.length || event <= (this.lastSeen[socket] ?? Infinity)) return;
    this.lastSeen[socket] = event;
    this.receivedBy[event] = (this.receivedBy[event] ?? 0) + 1;
    this.firstAt[event] = Math.min(this.firstAt[event] ?? Infinity, at);
    this.lastAt[event] = Math.max(this.lastAt[event] ?? -Infinity, at);
  }

  /** Whether every socket has every event written so far. */
  complete(): boolean {
    return this.receivedBy.every((count) => count === this.sockets);
  }

  /** From each event's write to its last socket, over the events numbered `from` and later. */
  summary(from = 0): FanoutSummary {
    const toLast: number[] = [];
    const toFirst: number[] = [];
    let missed = 0;
    for (let event = from; event < this.writtenAt.length; event += 1) {
      const written = this.writtenAt[event] as number;
      if (this.receivedBy[event] !== this.sockets) {
        missed += 1;
        continue;
      }
      toLast.push((this.lastAt[event] as number) - written);
      toFirst.push((this.firstAt[event] as number) - written);
    }
    return { n: toLast.length, ...percentiles(toLast), first: percentiles(toFirst), missed };
  }
}

function percentiles(samples: number[]): Percentiles {
  const sorted = samples.sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted.at(-1) ?? NaN };
}
