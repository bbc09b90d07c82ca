import type { Logger } from 'pino';
import type { MediaSession } from '../../media/media-session.js';
import type { CallStep } from './call-step.js';

/**
 * Plays the intro once and reports when it has finished. rtpengine tells the file's length in its
 * reply, so the end is a timer of that length rather than a poll.
 */
export class IntroStep implements CallStep {
  readonly name = 'intro';
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly media: MediaSession,
    private readonly file: string,
    private readonly log: Logger,
    private readonly onFinished: () => void,
  ) {}

  async start(): Promise<void> {
    const { durationMs } = await this.media.playToPatient(this.file, 1);
    if (this.stopped) return;
    if (durationMs === undefined) {
      this.log.warn({ file: this.file }, 'rtpengine did not tell the intro length; queueing the call now');
      this.onFinished();
      return;
    }
    this.log.debug({ durationMs }, 'intro playing');
    this.timer = setTimeout(this.onFinished, durationMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
