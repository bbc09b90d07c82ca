import type { Logger } from 'pino';

/** How often rtpengine is asked how many packets the patient has sent. */
export const RTP_CHECK_MS = 5_000;

export interface RtpSilenceWatchOptions {
  /** The RTP packets rtpengine has received from the patient so far, or undefined when it cannot tell. */
  packetsFromPatient(): Promise<number | undefined>;
  /** The patient was sending RTP and has stopped. */
  onSilent(): void;
  /** The patient's RTP grew since the last check: they are there. */
  onFlowing?(): void;
  log: Logger;
  intervalMs?: number;
}

/**
 * Notices a patient whose RTP stops: a phone that sent media and goes quiet has often lost its line,
 * long before the next keepalive is due. It proves nothing by itself (a phone may stop sending
 * during silence, or while holding), so it only makes the keepalive ask at once. It speaks up once
 * per silence: after the packets grew again, the next stop counts anew. A patient who never sent
 * anything (some trunks, the tests' sipp) is left to the keepalive.
 */
export class RtpSilenceWatch {
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private last: number | undefined;
  /** The packets grew since the last time the watch spoke up. */
  private flowing = false;

  constructor(private readonly options: RtpSilenceWatchOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.check(), this.options.intervalMs ?? RTP_CHECK_MS);
  }

  private async check(): Promise<void> {
    let packets: number | undefined;
    try {
      packets = await this.options.packetsFromPatient();
    } catch (err) {
      this.options.log.debug({ err }, 'rtpengine could not tell the patient RTP');
    }
    if (this.stopped) return;
    if (packets !== undefined && this.last !== undefined) {
      if (packets > this.last) {
        this.flowing = true;
        this.options.onFlowing?.();
      } else if (this.flowing) {
        this.flowing = false;
        this.options.log.info({ packets }, "the patient's RTP stopped; asking their phone at once");
        this.options.onSilent();
      }
    }
    this.last = packets;
    this.schedule();
  }
}
