import type { Logger } from 'pino';
import type { MediaSession } from '../../media/media-session.js';
import type { CallStep } from './call-step.js';

/**
 * rtpengine repeats the file this many times. It has no "forever"; with a 30 s loop this is over
 * three days, longer than anyone waits.
 */
export const HOLD_MUSIC_REPEATS = 10_000;

/**
 * The longest the music waits for the routing pass it is asked after: a pass held up (Redis slow
 * or away) must not keep the patient in silence.
 */
export const MUSIC_WAITS_FOR_ROUTING_MS = 100;

/**
 * The patient waits in the queue hearing the hold music on a loop. With `after` (a routing pass),
 * the music is asked of rtpengine once it is over, MUSIC_WAITS_FOR_ROUTING_MS at most: rtpengine does
 * one command of a call at a time, and loading the music takes it 5–20 ms that an offer to an agent
 * rung now would wait behind. A step stopped before it asked plays nothing: the step after it does.
 */
export class WaitWithMusicStep implements CallStep {
  readonly name: string = 'wait-with-music';
  /** The music has been asked of rtpengine. */
  asked = false;
  protected stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    protected readonly media: MediaSession,
    protected readonly file: string,
    protected readonly log: Logger,
    private readonly after?: Promise<unknown>,
  ) {}

  async start(): Promise<void> {
    if (this.after) {
      await Promise.race([
        this.after,
        new Promise((resolve) => (this.timer = setTimeout(resolve, MUSIC_WAITS_FOR_ROUTING_MS))),
      ]);
      clearTimeout(this.timer);
      if (this.stopped) return;
    }
    this.asked = true;
    await this.media.playToPatient(this.file, HOLD_MUSIC_REPEATS);
    this.log.debug('hold music playing');
  }

  stop(): void {
    // Once asked, the music stops when the next step plays something else or the call's media
    // session is deleted.
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
