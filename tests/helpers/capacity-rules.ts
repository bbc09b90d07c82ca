/**
 * The pure parts of the capacity bench (bench/capacity.ts): packet rates over a window, their
 * summary across callers, the stop rule, and the stage plan. Here, not in bench/, so that the unit
 * tests can check them (tests/unit/bench/capacity-rules.test.ts); the bench loads them at run time
 * like the other helpers.
 */

/** G.711 at 20 ms a packet is 50 packets a second; below this a caller hears the music break up. */
export const MIN_PPS = 48;
/** What a G.711 stream at 20 ms a packet carries. */
export const NOMINAL_PPS = 50;

/** Packets per second that arrived in [start, end) (epoch ms); 0 for an empty window. */
export function rateOver(arrivals: readonly { at: number }[], start: number, end: number): number {
  if (end <= start) return 0;
  let count = 0;
  for (const { at } of arrivals) if (at >= start && at < end) count += 1;
  return (count * 1000) / (end - start);
}

/**
 * What a bridged call's path delivered, as packets per second of a 50 pps stream: the packets that
 * arrived at one end over those the other end sent in the same window, times 50. The test's senders
 * are Node timers on a busy machine and may send fewer than 50 a second; this judges the server by
 * what it was given, where the plain rate would blame it for the sender. 0 when nothing was sent.
 */
export function deliveredPps(received: number, sent: number): number {
  return sent > 0 ? (NOMINAL_PPS * Math.min(received, sent)) / sent : 0;
}

export interface RateSummary {
  /** How many endpoints. */
  n: number;
  min: number;
  /** 5th percentile (nearest rank): the 5 % worst-served endpoints are at or below it. */
  p5: number;
  median: number;
  max: number;
  /** Endpoints that received nothing in the window. */
  silent: number;
}

/** Nearest-rank percentile of an ascending list (p in 0…100); NaN for an empty one. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] as number;
}

export function summarize(rates: readonly number[]): RateSummary {
  const sorted = [...rates].sort((a, b) => a - b);
  return {
    n: sorted.length,
    min: sorted.length ? (sorted[0] as number) : NaN,
    p5: percentile(sorted, 5),
    median: percentile(sorted, 50),
    max: sorted.length ? (sorted[sorted.length - 1] as number) : NaN,
    silent: sorted.filter((rate) => rate === 0).length,
  };
}

/** What one stage measured, as far as the stop rule cares. */
export interface StageOutcome {
  /** Callers on hold music. */
  holding: RateSummary;
  /** Bridged patients: the agents' audio reaching them, as `deliveredPps`. */
  atPatients: RateSummary;
  /** The agents' ends of the bridged calls: the patients' audio reaching them, as `deliveredPps`. */
  atAgents: RateSummary;
  /** Calls that were refused, timed out, or that no agent answered. */
  failedCalls: number;
  /** The bench itself: the median rate its Node timers sent at, and its event loop's delay (p99, ms). */
  loadGenerator?: { sendersMedianPps: number; loopP99Ms: number };
}

/**
 * Past these the bench measures itself, not the server: its event loop reads packets so late that a
 * 10 s window miscounts them by more than 1 pps, or its timers send 10 % short.
 */
export const MAX_LOOP_DELAY_MS = 100;
export const MIN_SENDER_PPS = 45;

/**
 * Why the bench stops after this stage, or undefined to go on: a call failed, the bench itself could
 * not keep up, or any caller (on hold, or either end of a bridged call) got fewer than `minPps`
 * packets a second over the window.
 */
export function stopReason(outcome: StageOutcome, minPps = MIN_PPS): string | undefined {
  if (outcome.failedCalls > 0) return `${outcome.failedCalls} call(s) failed`;
  const bench = outcome.loadGenerator;
  if (bench && (bench.loopP99Ms > MAX_LOOP_DELAY_MS || bench.sendersMedianPps < MIN_SENDER_PPS)) {
    return `the load generator is saturated (event loop p99 ${bench.loopP99Ms.toFixed(0)} ms, its senders at ${bench.sendersMedianPps.toFixed(1)} pps): the figures no longer measure the server`;
  }
  const below = (name: string, summary: RateSummary): string | undefined =>
    summary.n > 0 && summary.min < minPps ? `${name} at ${summary.min.toFixed(1)} pps (< ${minPps})` : undefined;
  return (
    below('a caller on hold', outcome.holding) ??
    below('a bridged patient', outcome.atPatients) ??
    below('an agent', outcome.atAgents)
  );
}

/** A stage: this many callers on hold and bridged calls at once. */
export interface Stage {
  hold: number;
  bridged: number;
}

/**
 * Pairs the two lists stage by stage ("10,25,50" and "2,5"); the shorter list repeats its last
 * value. Each must be non-decreasing, since the bench adds calls from one stage to the next and
 * never hangs any up.
 */
export function stagePlan(hold: string, bridged: string): Stage[] {
  const parse = (list: string, name: string): number[] => {
    const values = list
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '')
      .map(Number);
    if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 0))
      throw new Error(`--${name} must be a list of whole numbers, e.g. 10,25,50`);
    if (values.some((v, i) => i > 0 && v < (values[i - 1] as number)))
      throw new Error(`--${name} must not decrease: stages add calls, they never end any`);
    return values;
  };
  const holds = parse(hold, 'hold');
  const bridges = parse(bridged, 'bridged');
  const length = Math.max(holds.length, bridges.length);
  return Array.from({ length }, (_, i) => ({
    hold: holds[Math.min(i, holds.length - 1)] as number,
    bridged: bridges[Math.min(i, bridges.length - 1)] as number,
  }));
}
