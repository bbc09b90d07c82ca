import type { Logger } from 'pino';
import type { RtpEngine } from '../media/rtpengine.js';
import type { CallbackStore } from './callback-store.js';
import { callbackMediaId } from '../media/callback-media.js';

/** How often each sip app looks for callbacks a dead instance left. */
export const ORPHAN_SWEEP_MS = 30_000;
/** Only callbacks started this recently are looked at: a callback lasts minutes, not a day. */
const LOOK_BACK_MS = 24 * 60 * 60 * 1000;

/**
 * Callbacks are not adopted after a crash (unlike patients' calls): their legs die with the process.
 * So that the task does not stay "calling back" for ever, every instance ends, at start and every
 * ORPHAN_SWEEP_MS, the callbacks whose lock has expired without their being ended (`failed`, with an
 * event), and deletes their rtpengine sessions. A crashed callback is recorded ended within
 * CALLBACK_LOCK_SECONDS plus ORPHAN_SWEEP_MS (90 s).
 */
export class OrphanedCallbacks {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: CallbackStore,
    private readonly rtpengine: RtpEngine,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.sweep();
    this.timer = setInterval(() => this.sweep(), ORPHAN_SWEEP_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Looks now (an instance is gone); after a sweep under way. */
  sweep(): void {
    this.running = this.running.then(async () => {
      try {
        const ended = await this.store.endOrphans(LOOK_BACK_MS);
        for (const id of ended) {
          this.log.warn({ callbackId: id }, 'ended a callback whose sip app instance is gone');
          await this.rtpengine.deleteCall(callbackMediaId(id)).catch(() => undefined);
        }
      } catch (err) {
        this.log.warn({ err }, 'could not look for callbacks of instances that are gone');
      }
    });
  }
}
