import type { Logger } from 'pino';
import { PROMPT_POSITIONS, type CallPlan, type CallRecord, type PromptName } from '@deskline/protocol';
import type { MediaSession } from '../../media/media-session.js';
import type { PromptFiles } from '../../media/prompt-files.js';
import { EXPECTED_WAIT_WINDOW_MS, expectedWaitMs, waitPrompt } from './expected-wait.js';
import { HOLD_MUSIC_REPEATS, WaitWithMusicStep } from './wait-with-music.js';

/**
 * The next file (prompt, or the music after the last) is asked this much before the current prompt
 * ends: what rtpengine takes to open the next file (5–20 ms), so that one follows the other without a
 * gap; at most this much of a prompt's end (its trailing silence) is cut.
 */
export const PROMPT_CHAIN_LEAD_MS = 20;

/** What the announcements need besides the call's media: the plan, the prompts, and Redis's view of the queue. */
export interface AnnouncementServices {
  /** The call plan (read when the waiting step starts). */
  plan(): Promise<CallPlan>;
  prompts: PromptFiles;
  /** store/src/waiting-calls.ts */
  waiting: {
    position(callId: string): Promise<number | undefined>;
    answeredSince(since: number): Promise<CallRecord[]>;
  };
}

/** An announcement for a call at `position`: its prompts, in each language in turn. */
export function announcementPrompts(
  plan: Pick<CallPlan, 'languages' | 'announcements' | 'keypad'>,
  position: number,
  waitMs: number | undefined,
): { language: CallPlan['languages'][number]; name: PromptName }[] {
  const names: PromptName[] = [position <= PROMPT_POSITIONS ? `position-${position}` : 'position-many'];
  const wait = plan.announcements.expectedWait && waitMs !== undefined ? waitPrompt(waitMs) : undefined;
  if (wait) names.push(wait);
  if (plan.announcements.offerCallback && plan.keypad.callbackDigit !== null) names.push('callback-offer');
  return plan.languages.flatMap((language) => names.map((name) => ({ language, name })));
}

/**
 * The next time an announcement is due: the first of queuedAt + k × interval (k ≥ 1) that is not
 * before `notBefore` (now, or the end of the previous announcement). The schedule hangs on queuedAt
 * alone, so that it goes on across a failed ring, an rtpengine restart or an adoption.
 */
export function nextAnnouncementAt(queuedAt: number, intervalMs: number, notBefore: number): number {
  const k = Math.max(1, Math.ceil((notBefore - queuedAt) / intervalMs));
  return queuedAt + k * intervalMs;
}

/**
 * The hold music with announcements (docs/call-plan.md, "Announcements while waiting"): every
 * announcements.intervalSeconds after queuing, the music stops and the patient hears their place in
 * the queue (asked of Redis then), the expected wait and the callback offer, in each of the plan's
 * languages; then the music starts again from its beginning (rtpengine 10.5 cannot resume a file
 * where it stopped). The prompts are chained by the length rtpengine tells for each file. A ring stops
 * the step at once: nothing further is asked of rtpengine, and `asked` false tells the call to play
 * the music again behind the ring's offer.
 */
export class WaitWithAnnouncementsStep extends WaitWithMusicStep {
  override readonly name: string = 'wait-with-announcements';
  private announcementTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private readonly plan: Promise<CallPlan | undefined>;

  constructor(
    media: MediaSession,
    file: string,
    log: Logger,
    private readonly services: AnnouncementServices,
    private readonly call: { id: string; queuedAt: number },
    after?: Promise<unknown>,
  ) {
    super(media, file, log, after);
    this.plan = services.plan().catch((err: unknown) => {
      log.warn({ err }, 'could not read the call plan; no announcements');
      return undefined;
    });
  }

  override async start(): Promise<void> {
    await super.start();
    const plan = await this.plan;
    if (this.stopped || !plan || plan.announcements.intervalSeconds <= 0) return;
    this.schedule(plan, Date.now());
  }

  override stop(): void {
    super.stop();
    clearTimeout(this.announcementTimer);
    this.wake?.();
  }

  private schedule(plan: CallPlan, notBefore: number): void {
    if (this.stopped) return;
    const dueAt = nextAnnouncementAt(this.call.queuedAt, plan.announcements.intervalSeconds * 1000, notBefore);
    this.announcementTimer = setTimeout(() => {
      void this.announce(plan, dueAt).then(
        () => this.schedule(plan, Math.max(Date.now(), dueAt + 1)),
        (err: unknown) => {
          if (this.stopped) return;
          this.log.warn({ err }, 'the announcement failed; back to the hold music');
          // The music plays on when the failure came before the first prompt (Redis could not say the place).
          const music = this.asked ? Promise.resolve() : this.resumeMusic();
          music
            .catch((musicErr: unknown) => this.log.warn({ err: musicErr }, 'could not play the hold music again'))
            .finally(() => this.schedule(plan, Math.max(Date.now(), dueAt + 1)));
        },
      );
    }, dueAt - Date.now());
  }

  private async announce(plan: CallPlan, dueAt: number): Promise<void> {
    const position = await this.services.waiting.position(this.call.id);
    // Not in calls:waiting (being claimed for a ring, or gone): no announcement this time.
    if (position === undefined || this.stopped) return;
    const waitMs = plan.announcements.expectedWait
      ? expectedWaitMs(position, await this.services.waiting.answeredSince(Date.now() - EXPECTED_WAIT_WINDOW_MS))
      : undefined;
    const prompts = announcementPrompts(plan, position, waitMs);
    const askedAt = Date.now();
    let first = true;
    for (const { language, name } of prompts) {
      if (this.stopped) return;
      this.asked = false;
      const { durationMs } = await this.media.playToPatient(this.services.prompts.prompt(language, name), 1);
      // Stopped while rtpengine was being asked (a ring, an rtpengine restart whose new step's music
      // queues behind this command, the call's end): what the patient hears now is the next step's,
      // so this announcement is neither logged as playing nor followed by more prompts.
      if (this.stopped) return;
      if (first) {
        first = false;
        // lateMs: from when it was due to rtpengine's answer; askedMs of it: until it was asked (the Redis reads).
        this.log.info(
          {
            position,
            prompts: prompts.map((prompt) => `${prompt.language}/${prompt.name}`),
            dueAt,
            lateMs: Date.now() - dueAt,
            askedMs: askedAt - dueAt,
          },
          'announcement playing',
        );
      }
      if (durationMs === undefined) {
        this.log.warn({ language, name }, 'rtpengine did not tell the prompt length; skipping the rest');
        break;
      }
      await this.sleep(Math.max(0, durationMs - PROMPT_CHAIN_LEAD_MS));
    }
    await this.resumeMusic();
  }

  private async resumeMusic(): Promise<void> {
    if (this.stopped) return;
    await this.media.playToPatient(this.file, HOLD_MUSIC_REPEATS);
    this.asked = true;
  }

  /** Resolves after `ms`, or at once when the step stops. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}
