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
 * The ringtone, made with Web Audio (no media file to load or to be blocked). `start()` rings until
 * `stop()`. Browsers keep an AudioContext suspended until the person has interacted with the page
 * (autoplay policy): then nothing throws, the ring is silent, `blocked` is true, and the first click
 * or key press anywhere resumes the sound (so does `unlock()`, e.g. from a "Turn on sound" button).
 *
 * @fires change - `Event`: `playing` or `blocked` changed.
 */
export class Ringtone extends EventTarget {
  #context: AudioContext | undefined;
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
    if (context === undefined) return;
    const output = context.createGain();
    output.gain.value = VOLUME;
    output.connect(context.destination);
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
    setTimeout(() => output.disconnect(), FADE_OUT_SECONDS * 1000 + 20);
    debug('stopped');
    this.#changed();
  }

  /** Stops and releases the audio device. The ringtone can be used again afterwards. */
  dispose(): void {
    this.stop();
    this.#stopListening();
    const context = this.#context;
    this.#context = undefined;
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
    this.#context.addEventListener('statechange', this.#onStateChange);
    if (this.#context.state === 'suspended') this.#listenForGesture();
    return this.#context;
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
