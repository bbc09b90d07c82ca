import type { Redis } from 'ioredis';
import { RedisKeys } from '../keys.js';
import type { AgentRecord } from './agent-record.js';

/** A look at Redis that failed (Redis away) is tried again after this long. */
const RETRY_MS = 1_000;

/** setTimeout holds at most 2^31-1 ms (24.8 days); a longer wait is cut there and simply looked at again. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** The part of a pino logger the timer uses. */
export interface PauseTimerLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/**
 * Ends pauses on time (docs/presence-and-pause.md), even with every browser closed and in either
 * service alone: signaling and the sip app each run one. One timer, for the earliest end in
 * `agents:pause-ends`; `arm()` looks again, and its owner calls it at start, on every `pause:changed`
 * and after its subscription reconnects. Ending due pauses is idempotent, so both services firing at
 * once is harmless.
 */
export class PauseTimer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Bumped by every arm(), so that a slow look at Redis cannot set a timer over a newer one. */
  private generation = 0;

  constructor(
    private readonly redis: Redis,
    private readonly agents: AgentRecord,
    private readonly log: PauseTimerLog,
    /** Pauses ended by this timer (their agents are available, and route:wake was published). */
    private readonly onEnded: (userIds: string[]) => void = () => {},
  ) {}

  arm(): void {
    if (this.stopped) return;
    const generation = ++this.generation;
    this.redis.zrange(RedisKeys.pauseEnds, 0, 0, 'WITHSCORES').then(
      ([, score]) => {
        if (this.stopped || generation !== this.generation) return;
        clearTimeout(this.timer);
        this.timer =
          score === undefined
            ? undefined
            : setTimeout(() => void this.fire(), Math.min(Math.max(0, Number(score) - Date.now()), MAX_DELAY_MS));
      },
      (err: unknown) => this.retry(err, generation),
    );
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async fire(): Promise<void> {
    const generation = this.generation;
    try {
      const ended = await this.agents.endDuePauses();
      if (ended.length > 0) {
        this.log.info({ userIds: ended }, 'pause over: available again');
        this.onEnded(ended);
      }
      this.arm();
    } catch (err) {
      this.retry(err, generation);
    }
  }

  private retry(err: unknown, generation: number): void {
    if (this.stopped || generation !== this.generation) return;
    this.log.warn(
      { err: (err as Error).message },
      `pause timer: cannot look at pause ends; trying again in ${RETRY_MS} ms`,
    );
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.arm(), RETRY_MS);
  }
}
