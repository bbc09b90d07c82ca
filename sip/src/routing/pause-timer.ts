import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { END_PAUSES_SCRIPT, RedisKeys, endPausesArgs, pauseTimerDelay } from '@deskline/protocol';

/** A pass that failed (Redis away) is tried again after this long. */
const RETRY_MS = 1_000;

/**
 * Ends pauses on time from the sip app, so that a waiting call rings the moment a pause ends even
 * while signaling is down (signaling runs the same script on its own timer; the script is
 * idempotent). One timer, for the earliest end in `agents:pause-ends`; `arm()` looks again, and the
 * router calls it at start, on every `pause:changed` and after its subscription reconnects.
 */
export class PauseTimer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Bumped by every arm(), so that a slow look at Redis cannot set a timer over a newer one. */
  private generation = 0;

  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
    /** Pauses ended by this timer (their agents are available, and route:wake was published). */
    private readonly onEnded: (userIds: string[]) => void,
  ) {}

  arm(): void {
    if (this.stopped) return;
    const generation = ++this.generation;
    this.redis.zrange(RedisKeys.pauseEnds, 0, 0, 'WITHSCORES').then(
      ([, score]) => {
        if (this.stopped || generation !== this.generation) return;
        clearTimeout(this.timer);
        this.timer = score === undefined ? undefined : setTimeout(() => void this.fire(), pauseTimerDelay(Number(score), Date.now()));
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
      const ended = (await this.redis.eval(END_PAUSES_SCRIPT, ...endPausesArgs(Date.now()))) as string[];
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
    this.log.warn({ err }, `could not look at pause ends; trying again in ${RETRY_MS} ms`);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.arm(), RETRY_MS);
  }
}
