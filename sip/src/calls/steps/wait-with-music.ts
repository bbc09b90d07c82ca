import type { Logger } from 'pino';
import type { MediaSession } from '../../media/media-session.js';
import type { CallStep } from './call-step.js';

/**
 * rtpengine repeats the file this many times. It has no "forever"; with a 30 s loop this is over
 * three days, longer than anyone waits.
 */
export const HOLD_MUSIC_REPEATS = 10_000;

/** The patient waits in the queue hearing the hold music on a loop. */
export class WaitWithMusicStep implements CallStep {
  readonly name = 'wait-with-music';

  constructor(
    private readonly media: MediaSession,
    private readonly file: string,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.media.playToPatient(this.file, HOLD_MUSIC_REPEATS);
    this.log.debug('hold music playing');
  }

  stop(): void {
    // Nothing scheduled: the music stops when the next step plays something else or the call's
    // media session is deleted.
  }
}
