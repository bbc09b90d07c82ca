import { log } from './log.js';

const debug = log('dl:ringtone');

/**
 * One ring: two soft sine notes a fifth apart (D5 then G4), like a door chime, then a pause. Quieter
 * and rounder than a telephone bell, so a waiting room does not jump, yet clear over a busy desk.
 */
const NOTES = [
  { hz: 587.33, at: 0, seconds: 0.45 },
  { hz: 392.0, at: 0.5, seconds: 0.7 },
] as const;
const CYCLE_SECONDS = 3;
const VOLUME = 0.3;
const ATTACK_SECONDS = 0.02;
/** How far ahead rings are put on the audio clock; the scheduler wakes up more often than that. */
const LOOKAHEAD_SECONDS = CYCLE_SECONDS;
const SCHEDULER_MS = 500;
const FADE_OUT_SECONDS = 0.03;

const GESTURES = ['pointerdown', 'keydown'] as const;

/**
 * A call progress tone for an outgoing call: `hz` for `onSeconds`, then silence for `offSeconds`,
 * `repeats` times (or until stopped when absent).
 */
export interface TonePattern {
  hz: number;
  onSeconds: number;
  offSeconds: number;
  repeats?: number;
}

/**
 * Heard while the called phone rings, made here (the sip app relays no early media). European: 425 Hz,
 * 1 s on, 4 s off; a clinic elsewhere changes it here (North America: 440+480 Hz, 2 s on, 4 s off).
 */
export const RINGBACK_TONE: TonePattern = { hz: 425, onSeconds: 1, offSeconds: 4 };
/** The line is busy: 425 Hz, 0.5 s on, 0.5 s off, three times, then silence. */
export const BUSY_TONE: TonePattern = { hz: 425, onSeconds: 0.5, offSeconds: 0.5, repeats: 3 };
/** The call failed otherwise (nobody answered, declined, unreachable): a short congestion tone. */
export const ERROR_TONE: TonePattern = { hz: 425, onSeconds: 0.25, offSeconds: 0.25, repeats: 3 };
export type ToneName = 'ringback' | 'busy' | 'error';
const TONES: Record<ToneName, TonePattern> = { ringback: RINGBACK_TONE, busy: BUSY_TONE, error: ERROR_TONE };
/** Quieter than the ringtone: it plays in the headset, next to the ear. */
const TONE_VOLUME = 0.15;
/** Edges of each beep, so they do not click. */
const TONE_RAMP_SECONDS = 0.005;

/** What an outgoing call needs to hear of its progress (implemented by Ringtone). */
export interface CallProgressTones {
  /** Starts the ringback tone (the called phone rings); does nothing if it already plays. */
  startRingback(): void;
  /** Plays the busy tone once through, replacing any other tone. */
  playBusy(): void;
  /** Plays the short error tone once through, replacing any other tone. */
  playError(): void;
  /** Silences any call progress tone at once. */
  stopTone(): void;
}

interface PlayingTone {
  name: ToneName;
  pattern: TonePattern;
  oscillator: OscillatorNode;
  output: GainNode;
  /** Audio clock time of the next beep not yet scheduled. */
  nextAt: number;
  /** Beeps still to schedule (Infinity until stopped). */
  left: number;
  scheduler: ReturnType<typeof setInterval> | undefined;
  /** A finite tone's end is scheduled. */
  ended?: boolean;
}

/**
 * The ringtone, made with Web Audio (no media file to load or to be blocked). `start()` rings until
 * `stop()`. Browsers keep an AudioContext suspended until the person has interacted with the page
 * (autoplay policy): then nothing throws, the ring is silent, `blocked` is true, and the first click
 * or key press anywhere resumes the sound (so does `unlock()`, e.g. from a "Turn on sound" button).
 *
 * It also plays the call progress tones of outgoing calls (ringback, busy, error; `CallProgressTones`)
 * on the same audio context, so the same unlock lets them be heard.
 *
 * @fires change - `Event`: `playing`, `tone` or `blocked` changed.
 */
export class Ringtone extends EventTarget implements CallProgressTones {
  #context: AudioContext | undefined;
  /**
   * Everything this plays goes through it; `monitor()` listens to it. It is connected to the speakers
   * only while something plays (or fades out).
   */
  #bus: GainNode | undefined;
  #busConnected = false;
  #tone: PlayingTone | undefined;
  /** The current ring's output; disconnecting it silences every note scheduled on it. */
  #output: GainNode | undefined;
  #nextCycleAt = 0;
  #scheduler: ReturnType<typeof setInterval> | undefined;
  #listening = false;

  /** Whether a ring is in progress (audible, or silent because `blocked`). */
  get playing(): boolean {
    return this.#output !== undefined;
  }

  /** True while the browser does not let the page make sound yet; a click or key press fixes it. */
  /** The call progress tone in progress, if any. */
  get tone(): ToneName | undefined {
    return this.#tone?.name;
  }

  get blocked(): boolean {
    return this.#context !== undefined && this.#context.state === 'suspended';
  }

  /**
   * Creates the audio context ahead of the first ring and waits for a gesture to resume it when the
   * browser keeps it suspended; `blocked` tells whether it is.
   */
  prepare(): void {
    this.#ensureContext();
  }

  /** Resumes the audio; call it from a user gesture. */
  unlock(): void {
    const context = this.#ensureContext();
    if (context?.state !== 'suspended') return;
    context.resume().catch((error: unknown) => debug('resume failed', error));
  }

  start(): void {
    if (this.#output !== undefined) return;
    const context = this.#ensureContext();
    const bus = this.#bus;
    if (context === undefined || bus === undefined) return;
    this.stopTone();
    const output = context.createGain();
    output.gain.value = VOLUME;
    output.connect(bus);
    this.#connectBus();
    this.#output = output;
    this.#nextCycleAt = context.currentTime + 0.05;
    this.#schedule();
    this.#scheduler = setInterval(() => this.#schedule(), SCHEDULER_MS);
    debug('ringing', context.state);
    this.#changed();
  }

  stop(): void {
    const output = this.#output;
    if (output === undefined) return;
    this.#output = undefined;
    clearInterval(this.#scheduler);
    this.#scheduler = undefined;
    const context = output.context;
    // A short fade instead of a cut, which would click.
    output.gain.cancelScheduledValues(context.currentTime);
    output.gain.setValueAtTime(output.gain.value, context.currentTime);
    output.gain.linearRampToValueAtTime(0, context.currentTime + FADE_OUT_SECONDS);
    setTimeout(
      () => {
        output.disconnect();
        this.#releaseBus();
      },
      FADE_OUT_SECONDS * 1000 + 20,
    );
    debug('stopped');
    this.#changed();
  }

  startRingback(): void {
    if (this.#tone?.name === 'ringback') return;
    this.#playTone('ringback');
  }

  playBusy(): void {
    this.#playTone('busy');
  }

  playError(): void {
    this.#playTone('error');
  }

  stopTone(): void {
    const tone = this.#tone;
    if (tone === undefined) return;
    this.#tone = undefined;
    clearInterval(tone.scheduler);
    const context = tone.output.context;
    const now = context.currentTime;
    tone.output.gain.cancelScheduledValues(now);
    tone.output.gain.setValueAtTime(tone.output.gain.value, now);
    tone.output.gain.linearRampToValueAtTime(0, now + TONE_RAMP_SECONDS);
    try {
      tone.oscillator.stop(now + TONE_RAMP_SECONDS + 0.01);
    } catch {
      // Already stopped.
    }
    setTimeout(() => {
      tone.output.disconnect();
      this.#releaseBus();
    }, 50);
    debug('tone stopped', tone.name);
    this.#changed();
  }

  /**
   * An analyser that hears everything this plays (ringtone and tones), for level meters and tests;
   * undefined without Web Audio.
   */
  monitor(): AnalyserNode | undefined {
    this.#ensureContext();
    const bus = this.#bus;
    if (bus === undefined) return undefined;
    const analyser = bus.context.createAnalyser();
    bus.connect(analyser);
    return analyser;
  }

  /** Stops and releases the audio device. The ringtone can be used again afterwards. */
  dispose(): void {
    this.stop();
    this.stopTone();
    this.#stopListening();
    const context = this.#context;
    this.#context = undefined;
    this.#bus = undefined;
    this.#busConnected = false;
    if (context !== undefined) {
      context.removeEventListener('statechange', this.#onStateChange);
      context.close().catch(() => undefined);
    }
  }

  #ensureContext(): AudioContext | undefined {
    if (this.#context !== undefined) return this.#context;
    try {
      this.#context = new AudioContext({ latencyHint: 'interactive' });
    } catch (error) {
      debug('no Web Audio', error);
      return undefined;
    }
    this.#bus = this.#context.createGain();
    this.#context.addEventListener('statechange', this.#onStateChange);
    if (this.#context.state === 'suspended') this.#listenForGesture();
    return this.#context;
  }

  #playTone(name: ToneName): void {
    this.stopTone();
    // A call progress tone is for an outgoing call: never together with the incoming ring.
    this.stop();
    const context = this.#ensureContext();
    const bus = this.#bus;
    if (context === undefined || bus === undefined) return;
    const pattern = TONES[name];
    const oscillator = context.createOscillator();
    oscillator.type = 'sine';
    oscillator.frequency.value = pattern.hz;
    const output = context.createGain();
    output.gain.value = 0;
    oscillator.connect(output).connect(bus);
    this.#connectBus();
    const startAt = context.currentTime + 0.01;
    oscillator.start(startAt);
    const tone: PlayingTone = {
      name,
      pattern,
      oscillator,
      output,
      nextAt: startAt,
      left: pattern.repeats ?? Infinity,
      scheduler: undefined,
    };
    this.#tone = tone;
    this.#scheduleTone(tone);
    if (tone.left > 0) tone.scheduler = setInterval(() => this.#scheduleTone(tone), SCHEDULER_MS);
    debug('tone', name, context.state);
    this.#changed();
  }

  /** Puts the beeps of `tone` that start within the lookahead on the audio clock; a finite tone ends by itself. */
  #scheduleTone(tone: PlayingTone): void {
    if (this.#tone !== tone) return;
    const { pattern, output } = tone;
    const context = output.context;
    const gain = output.gain;
    while (tone.left > 0 && tone.nextAt < context.currentTime + LOOKAHEAD_SECONDS) {
      const at = tone.nextAt;
      gain.setValueAtTime(0, at);
      gain.linearRampToValueAtTime(TONE_VOLUME, at + TONE_RAMP_SECONDS);
      gain.setValueAtTime(TONE_VOLUME, at + pattern.onSeconds - TONE_RAMP_SECONDS);
      gain.linearRampToValueAtTime(0, at + pattern.onSeconds);
      tone.nextAt += pattern.onSeconds + pattern.offSeconds;
      tone.left -= 1;
    }
    if (tone.left === 0 && tone.scheduler !== undefined) {
      clearInterval(tone.scheduler);
      tone.scheduler = undefined;
    }
    if (tone.left === 0 && !tone.ended) {
      tone.ended = true;
      // The last beep is over at nextAt - offSeconds; the tone is done then.
      const endAt = tone.nextAt - pattern.offSeconds + 0.02;
      tone.oscillator.stop(endAt);
      tone.oscillator.addEventListener(
        'ended',
        () => {
          if (this.#tone !== tone) return;
          this.#tone = undefined;
          output.disconnect();
          this.#releaseBus();
          debug('tone over', tone.name);
          this.#changed();
        },
        { once: true },
      );
    }
  }

  #connectBus(): void {
    const bus = this.#bus;
    if (bus === undefined || this.#busConnected) return;
    bus.connect(bus.context.destination);
    this.#busConnected = true;
  }

  /** Off the speakers once nothing plays any more. */
  #releaseBus(): void {
    const bus = this.#bus;
    if (bus === undefined || !this.#busConnected || this.#output !== undefined || this.#tone !== undefined) return;
    bus.disconnect(bus.context.destination);
    this.#busConnected = false;
  }

  /** Puts every ring that starts within the lookahead on the audio clock. */
  #schedule(): void {
    const output = this.#output;
    if (output === undefined) return;
    const context = output.context;
    // A suspended context's clock stands still, so nothing piles up while the browser blocks sound.
    while (this.#nextCycleAt < context.currentTime + LOOKAHEAD_SECONDS) {
      for (const note of NOTES) this.#note(context, output, note.hz, this.#nextCycleAt + note.at, note.seconds);
      this.#nextCycleAt += CYCLE_SECONDS;
    }
  }

  #note(context: BaseAudioContext, output: AudioNode, hz: number, at: number, seconds: number): void {
    const oscillator = context.createOscillator();
    oscillator.type = 'sine';
    oscillator.frequency.value = hz;
    const envelope = context.createGain();
    envelope.gain.setValueAtTime(0, at);
    envelope.gain.linearRampToValueAtTime(1, at + ATTACK_SECONDS);
    // A bell-like decay rather than a flat beep.
    envelope.gain.exponentialRampToValueAtTime(0.001, at + seconds);
    oscillator.connect(envelope).connect(output);
    oscillator.start(at);
    oscillator.stop(at + seconds + 0.05);
    oscillator.addEventListener('ended', () => envelope.disconnect(), { once: true });
  }

  #listenForGesture(): void {
    if (this.#listening) return;
    this.#listening = true;
    for (const type of GESTURES) document.addEventListener(type, this.#onGesture, { capture: true, passive: true });
  }

  #stopListening(): void {
    if (!this.#listening) return;
    this.#listening = false;
    for (const type of GESTURES) document.removeEventListener(type, this.#onGesture, { capture: true });
  }

  #onGesture = (): void => {
    this.unlock();
  };

  #onStateChange = (): void => {
    debug('audio', this.#context?.state);
    if (this.#context?.state === 'running') this.#stopListening();
    else if (this.#context?.state === 'suspended') this.#listenForGesture();
    this.#changed();
  };

  #changed(): void {
    this.dispatchEvent(new Event('change'));
  }
}
