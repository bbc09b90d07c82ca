import type { Logger } from 'pino';
import type { RtpEngine } from './rtpengine.js';

/** How often rtpengine is asked when it started. A restart is noticed within this plus one probe. */
export const RTPENGINE_WATCH_MS = 500;
/** How often while it does not answer: a restart takes it a few tens of ms, and each one is silence. */
const UNREACHABLE_WATCH_MS = 100;
/** How long one probe waits for its answer. */
const PROBE_TIMEOUT_MS = 250;
/**
 * rtpengine tells its uptime in whole seconds, so two answers of one process give start times up to
 * a second apart (plus the probes' travel): a start this much later is another process.
 */
const SAME_START_TOLERANCE_MS = 1_500;

/**
 * What the watch knows of rtpengine:
 *
 *   unseen ──answers──> up(started) ──no answer──> unreachable(started)
 *                        ^    │                          │
 *                        │    └─ answers, started later ─┤ (a restart: onRestarted)
 *                        └──── answers, same start ──────┘ (it was only out of reach)
 *
 * A probe that gets an answer without an uptime (an error, another program on the port) counts as
 * no answer: nothing is restarted on its word.
 */
type WatchState = { name: 'unseen' } | { name: 'up'; startedAt: number } | { name: 'unreachable'; startedAt: number };

export interface RtpengineWatchOptions {
  rtpengine: RtpEngine;
  /** rtpengine is a new process since the last probe: the calls must get back what it forgot. */
  onRestarted(downMs: number): void;
  log: Logger;
  intervalMs?: number;
}

/**
 * Notices that rtpengine restarted (a crash, an OOM kill, `docker compose restart rtpengine`) by its
 * start time, which its `statistics` tell. A restarted rtpengine gets its calls back from its Redis
 * keyspace (ports, peers, keys), but not what it was playing: so on a restart each call that had
 * hold music or an intro asks for it again, and a call that rtpengine did not get back ends
 * (docs/operations.md, "What a restart does to calls"). One probe at a time.
 */
export class RtpengineWatch {
  private state: WatchState = { name: 'unseen' };
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private probing: Promise<void> = Promise.resolve();
  private lastAnswerAt = Date.now();

  constructor(private readonly options: RtpengineWatchOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.probing;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.probing = this.probe().finally(() =>
        this.schedule(
          this.state.name === 'unreachable'
            ? Math.min(UNREACHABLE_WATCH_MS, this.options.intervalMs ?? UNREACHABLE_WATCH_MS)
            : (this.options.intervalMs ?? RTPENGINE_WATCH_MS),
        ),
      );
    }, delayMs);
  }

  private async probe(): Promise<void> {
    let startedAt: number;
    try {
      startedAt = await this.options.rtpengine.startedAt(PROBE_TIMEOUT_MS);
    } catch (err) {
      if (this.state.name === 'up') {
        this.options.log.warn({ err }, 'rtpengine does not answer');
        this.state = { name: 'unreachable', startedAt: this.state.startedAt };
      }
      return;
    }
    if (this.stopped) return;
    const previous = this.state;
    const now = Date.now();
    const downMs = now - this.lastAnswerAt;
    this.lastAnswerAt = now;
    if (previous.name === 'unseen') {
      this.state = { name: 'up', startedAt };
      return;
    }
    if (startedAt - previous.startedAt > SAME_START_TOLERANCE_MS) {
      this.state = { name: 'up', startedAt };
      this.options.log.warn(
        { downMs, startedAt: new Date(startedAt).toISOString() },
        'rtpengine restarted; restoring what its calls were playing',
      );
      this.options.onRestarted(downMs);
      return;
    }
    if (previous.name === 'unreachable')
      this.options.log.info({ downMs }, 'rtpengine answers again (the same process)');
    // Keep the earliest estimate: the uptime's rounding only ever makes a start look later.
    this.state = { name: 'up', startedAt: Math.min(previous.startedAt, startedAt) };
  }
}

/**
 * After a restart: whether rtpengine got a call back (`media.heldByRtpengine`), or undefined when it
 * could not tell (no answer, an error): the call is then left as it is.
 */
export async function heldAfterRestart(
  media: { heldByRtpengine(): Promise<boolean> },
  log: Logger,
): Promise<boolean | undefined> {
  try {
    return await media.heldByRtpengine();
  } catch (err) {
    log.warn({ err }, 'could not ask rtpengine about the call after its restart');
    return undefined;
  }
}
