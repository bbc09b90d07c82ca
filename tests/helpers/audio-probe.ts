/**
 * Lets a browser test hear a page: an init script that taps every Web Audio node the page connects to
 * its speakers (AudioContext.destination) with an analyser, and helpers that read what reaches them
 * and what an <audio> element receives. Headless Chromium has no speakers, and WebRTC's inbound-rtp
 * audioLevel reads 0 there (shared architecture notes), so an analyser is the way to measure sound.
 */
import type { BrowserContext, Locator, Page } from 'playwright-core';

interface ProbeWindow {
  __dlTestAudioProbe: {
    /** Nodes connected to a destination right now. */
    sources(): number;
    /** The loudest RMS (0…1) that reached the speakers since the last call. */
    takePeak(): number;
    /** The states of the AudioContexts that have played something. */
    states(): string[];
  };
}

/** Installs the probe in every page of `context`, before any page script runs. */
export async function installAudioProbe(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const sources = new Set<AudioNode>();
    const analysers = new Map<BaseAudioContext, AnalyserNode>();
    let peak = 0;
    const originalConnect = AudioNode.prototype.connect as (this: AudioNode, ...args: unknown[]) => unknown;
    const originalDisconnect: (this: AudioNode, ...args: unknown[]) => unknown = AudioNode.prototype.disconnect;
    AudioNode.prototype.connect = function (this: AudioNode, ...args: unknown[]) {
      const target = args[0];
      if (target instanceof AudioDestinationNode) {
        let analyser = analysers.get(target.context);
        if (!analyser) {
          analyser = target.context.createAnalyser();
          analyser.fftSize = 2048;
          analysers.set(target.context, analyser);
        }
        originalConnect.call(this, analyser);
        sources.add(this);
      }
      return originalConnect.apply(this, args);
    } as typeof AudioNode.prototype.connect;
    AudioNode.prototype.disconnect = function (this: AudioNode, ...args: unknown[]) {
      if (args.length === 0 || args[0] instanceof AudioDestinationNode) sources.delete(this);
      return originalDisconnect.apply(this, args);
    };
    const samples = new Float32Array(2048);
    setInterval(() => {
      for (const analyser of analysers.values()) {
        analyser.getFloatTimeDomainData(samples);
        let sum = 0;
        for (const sample of samples) sum += sample * sample;
        peak = Math.max(peak, Math.sqrt(sum / samples.length));
      }
    }, 20);
    (window as unknown as ProbeWindow).__dlTestAudioProbe = {
      sources: () => sources.size,
      takePeak: () => {
        const value = peak;
        peak = 0;
        return value;
      },
      states: () => [...analysers.keys()].map((context) => context.state),
    };
  });
}

/**
 * Evaluates `expression` in the page through the DevTools protocol *without* a user gesture. Page
 * evaluations in Playwright count as one, and a gesture lets the page make sound: that would defeat
 * tests of what a page that nobody has clicked yet does.
 */
async function evaluateQuietly<T>(page: Page, expression: string): Promise<T> {
  const session = await page.context().newCDPSession(page);
  try {
    const { result, exceptionDetails } = (await session.send('Runtime.evaluate', {
      expression,
      returnByValue: true,
    })) as {
      result: { value: T };
      exceptionDetails?: { text: string };
    };
    if (exceptionDetails) throw new Error(`${expression}: ${exceptionDetails.text}`);
    return result.value;
  } finally {
    await session.detach();
  }
}

/** How many nodes play to the page's speakers now. */
export function speakerSources(page: Page): Promise<number> {
  return evaluateQuietly(page, 'window.__dlTestAudioProbe.sources()');
}

/** The loudest level (RMS, 0…1) at the speakers since the last call. */
export function takeSpeakerPeak(page: Page): Promise<number> {
  return evaluateQuietly(page, 'window.__dlTestAudioProbe.takePeak()');
}

/** The states of the page's AudioContexts that played something ('running', 'suspended'). */
export function audioContextStates(page: Page): Promise<string[]> {
  return evaluateQuietly(page, 'window.__dlTestAudioProbe.states()');
}

/** Whether the page has had a user gesture (click, key press) since it loaded. */
export function hasBeenActivated(page: Page): Promise<boolean> {
  return evaluateQuietly(page, 'navigator.userActivation.hasBeenActive');
}

/**
 * Resolves with the RMS level (0…1) of the audio an <audio> element plays from its srcObject as soon
 * as it exceeds `threshold`; rejects after `timeoutMs`.
 */
export async function waitForElementAudio(audio: Locator, threshold: number, timeoutMs: number): Promise<number> {
  return audio.evaluate(
    async (element, { threshold, timeoutMs }) => {
      const stream = (element as HTMLMediaElement).srcObject;
      if (!(stream instanceof MediaStream)) throw new Error('the audio element has no stream');
      const context = new AudioContext();
      try {
        if (context.state === 'suspended') await context.resume();
        const analyser = context.createAnalyser();
        analyser.fftSize = 2048;
        context.createMediaStreamSource(stream).connect(analyser);
        const samples = new Float32Array(analyser.fftSize);
        const deadline = performance.now() + timeoutMs;
        let loudest = 0;
        while (performance.now() < deadline) {
          analyser.getFloatTimeDomainData(samples);
          let sum = 0;
          for (const sample of samples) sum += sample * sample;
          const level = Math.sqrt(sum / samples.length);
          if (level > threshold) return level;
          loudest = Math.max(loudest, level);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        throw new Error(`no audio above ${threshold} within ${timeoutMs} ms (loudest ${loudest.toFixed(4)})`);
      } finally {
        await context.close();
      }
    },
    { threshold, timeoutMs },
  );
}

/**
 * What an <audio> element plays from its srcObject over the next `ms`: the RMS level (0…1) of the
 * last analyser frame and the frequency (Hz) of the loudest bin of the averaged spectrum, to tell
 * whose tone it is.
 */
export async function measureElementAudio(audio: Locator, ms: number): Promise<{ rms: number; peakHz: number }> {
  return audio.evaluate(async (element, ms) => {
    const stream = (element as HTMLMediaElement).srcObject;
    if (!(stream instanceof MediaStream)) throw new Error('the audio element has no stream');
    const context = new AudioContext();
    try {
      if (context.state === 'suspended') await context.resume();
      const analyser = context.createAnalyser();
      analyser.fftSize = 8192;
      context.createMediaStreamSource(stream).connect(analyser);
      await new Promise((resolve) => setTimeout(resolve, ms));
      const spectrum = new Float32Array(analyser.frequencyBinCount);
      analyser.getFloatFrequencyData(spectrum);
      let loudest = 0;
      for (let bin = 1; bin < spectrum.length; bin++)
        if ((spectrum[bin] ?? -Infinity) > (spectrum[loudest] ?? -Infinity)) loudest = bin;
      const samples = new Float32Array(analyser.fftSize);
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const sample of samples) sum += sample * sample;
      return { rms: Math.sqrt(sum / samples.length), peakHz: (loudest * context.sampleRate) / analyser.fftSize };
    } finally {
      await context.close();
    }
  }, ms);
}
