import type { Logger } from 'pino';
import type { MediaSession } from '../../media/media-session.js';
import type { CallStep } from './call-step.js';

/**
 * Plays prompt files one after the other (a prompt in each of the plan's languages in turn), the
 * whole list `rounds` times, and reports when the last one has finished. rtpengine tells each file's
 * length in its reply, so each file's end is a timer of that length. A file whose length rtpengine
 * does not tell is skipped at once (logged).
 */
export class PlayPromptsStep implements CallStep {
  private timer: NodeJS.Timeout | undefined;
  /** Ends the current file's wait early (stop). */
  private cutShort: (() => void) | undefined;
  private stopped = false;

  constructor(
    readonly name: string,
    private readonly media: MediaSession,
    private readonly files: readonly string[],
    private readonly rounds: number,
    private readonly log: Logger,
    private readonly onFinished: () => void,
  ) {}

  async start(): Promise<void> {
    for (let round = 0; round < this.rounds; round++) {
      for (const file of this.files) {
        const { durationMs } = await this.media.playToPatient(file, 1);
        if (this.stopped) return;
        if (durationMs === undefined) {
          this.log.warn({ file }, 'rtpengine did not tell the prompt length; going on');
          continue;
        }
        await new Promise<void>((resolve) => {
          this.cutShort = resolve;
          this.timer = setTimeout(resolve, durationMs);
        });
        if (this.stopped) return;
      }
    }
    this.onFinished();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.cutShort?.();
  }
}
