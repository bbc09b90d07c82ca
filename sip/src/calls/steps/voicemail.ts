import type { Logger } from 'pino';
import {
  VOICEMAIL_MIN_SOUND_MS,
  VOICEMAIL_SILENCE_END_MS,
  type PromptLanguage,
  type VoicemailMessage,
} from '@deskline/protocol';
import type { VoicemailStore } from '@deskline/store';
import type { MediaSession } from '../../media/media-session.js';
import type { PromptFiles } from '../../media/prompt-files.js';
import { RECORDER_SAMPLE_RATE, RtpRecorder } from '../../voicemail/rtp-recorder.js';
import { newVoicemailId, type VoicemailFiles } from '../../voicemail/voicemail-files.js';
import type { CallStep } from './call-step.js';

/** How often the step looks for the end of a message (silence, maximum length). */
const CHECK_EVERY_MS = 200;

/** What a voicemail needs of the sip app. */
export interface VoicemailDeps {
  files: VoicemailFiles;
  store: VoicemailStore;
  prompts: PromptFiles;
  /** The address rtpengine sends the copy of the patient's audio to (RTPENGINE_NG_HOST's host: rtpengine runs there). */
  recorderHost: string;
}

export interface VoicemailOptions {
  media: MediaSession;
  deps: VoicemailDeps;
  /** The call plan's languages, in turn. */
  languages: readonly PromptLanguage[];
  /** plan.voicemail.maxSeconds. */
  maxSeconds: number;
  call: { id: string; from: string; line: string };
  log: Logger;
  /** The message is over (silence, a key, the maximum length) and the patient is still there: `voicemail-saved`, then BYE. */
  onRecorded(): void;
}

/** Why a message ended. */
export type VoicemailEnd = 'silence' | 'key' | 'max-length' | 'hang-up';

/**
 * The patient leaves a message: the `voicemail-greeting` prompt in each of the plan's languages (it
 * ends with a beep), then the patient's audio, copied by rtpengine to a recorder of this process
 * (docs/architecture.md, "Recordings and voicemail"), until VOICEMAIL_SILENCE_END_MS of silence, a
 * key (`onDigit`: the copy's RFC 4733 events, or the call's own DTMF handling), the plan's maximum
 * length, or the patient's hang-up. `save()` then keeps a message of at least VOICEMAIL_MIN_SOUND_MS
 * of sound as a file and its metadata; anything shorter is no message.
 */
export class VoicemailStep implements CallStep {
  readonly name = 'voicemail';
  private recorder: RtpRecorder | undefined;
  private copyTag: string | undefined;
  private recording = false;
  private stopped = false;
  private ended: VoicemailEnd | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checker: NodeJS.Timeout | undefined;
  private saving: Promise<VoicemailMessage | undefined> | undefined;
  private beganAt = 0;

  constructor(private readonly options: VoicemailOptions) {}

  /** Why the message ended, once it has. */
  get end(): VoicemailEnd | undefined {
    return this.ended;
  }

  async start(): Promise<void> {
    const { media, deps, languages, log, maxSeconds } = this.options;
    const recorder = await RtpRecorder.open(deps.recorderHost, {
      maxMs: maxSeconds * 1000,
      onDigit: (digit) => this.onDigit(digit),
    });
    this.recorder = recorder;
    if (this.stopped) {
      recorder.finish();
      return;
    }
    // The copy starts with the greeting, so that a key pressed during it is heard; the audio before the beep is dropped (begin()).
    const { sdp, tag } = await media.copyPatientTo(recorder.address.host, recorder.address.port);
    this.copyTag = tag;
    recorder.describe(sdp);
    for (const language of languages) {
      if (this.stopped || this.ended) return;
      const { durationMs } = await media.playToPatient(deps.prompts.prompt(language, 'voicemail-greeting'), 1);
      if (durationMs === undefined) {
        log.warn({ language }, 'rtpengine did not tell the greeting length; recording at once');
        break;
      }
      await new Promise<void>((resolve) => (this.timer = setTimeout(resolve, durationMs)));
    }
    if (this.stopped || this.ended) return;
    recorder.begin();
    this.recording = true;
    this.beganAt = Date.now();
    log.info({ maxSeconds }, 'voicemail: recording the message');
    this.checker = setInterval(() => {
      if (recorder.silentForMs >= VOICEMAIL_SILENCE_END_MS) this.over('silence');
      else if (Date.now() - this.beganAt >= maxSeconds * 1000) this.over('max-length');
    }, CHECK_EVERY_MS);
  }

  /** A key: ends the message (during the greeting too: then there is none). */
  onDigit(digit: string): void {
    this.options.log.info({ digit }, 'voicemail: key pressed');
    this.over('key');
  }

  stop(): void {
    this.stopped = true;
    this.over('hang-up', false);
  }

  /**
   * Ends the recording (once) and keeps the message: the file, then its metadata. Resolves with the
   * message, or undefined when there is none (less than VOICEMAIL_MIN_SOUND_MS of sound, or it could not be
   * written: logged). The copy in rtpengine ends here too.
   */
  save(): Promise<VoicemailMessage | undefined> {
    this.saving ??= this.keep();
    return this.saving;
  }

  private over(why: VoicemailEnd, report = true): void {
    clearTimeout(this.timer);
    clearInterval(this.checker);
    if (this.ended) return;
    this.ended = why;
    this.options.log.info({ why, recording: this.recording }, 'voicemail: the message ended');
    if (report && !this.stopped) this.options.onRecorded();
  }

  private async keep(): Promise<VoicemailMessage | undefined> {
    const { media, deps, call, log } = this.options;
    const recorder = this.recorder;
    if (!recorder) return undefined;
    const tag = this.copyTag;
    if (tag) await media.stopCopy(tag).catch(() => undefined);
    const pcm = recorder.finish();
    const soundMs = recorder.soundMs;
    if (!this.recording || soundMs < VOICEMAIL_MIN_SOUND_MS) {
      log.info({ soundMs, packets: recorder.received }, 'voicemail: no message (too little sound)');
      return undefined;
    }
    const id = newVoicemailId();
    const started = performance.now();
    try {
      const size = await deps.files.write(id, pcm);
      const message: VoicemailMessage = {
        id,
        callId: call.id,
        from: call.from,
        line: call.line,
        durationMs: Math.round((pcm.length / RECORDER_SAMPLE_RATE) * 1000),
        createdAt: this.beganAt,
        size,
      };
      await deps.store.save(message);
      log.info(
        {
          voicemailId: id,
          durationMs: message.durationMs,
          soundMs,
          size,
          encodeMs: Math.round(performance.now() - started),
        },
        'voicemail: message saved',
      );
      return message;
    } catch (err) {
      log.error({ err, voicemailId: id }, 'voicemail: could not save the message');
      await deps.files.delete(id).catch(() => undefined);
      return undefined;
    }
  }
}
