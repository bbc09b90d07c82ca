/**
 * The browser phone page of the end-to-end tests: one page, served by the test from
 * http://127.0.0.1 (WebRTC needs a real origin, not about:blank), with one bundle (built by esbuild
 * from node_modules and web/build, as the web app bundles it) that two drivers use:
 *
 * - `BrowserPhone`: a minimal JsSIP softphone that registers with Kamailio as a workstation and
 *   answers when told. It is not the web app's softphone, which has tests of its own; it proves the
 *   sip app's side of a browser call.
 * - `SoftphonePage`: the web app's own Softphone (web/src/services/softphone.ts), for tests of the
 *   SIP path that do not need signaling: the credentials are handed in as GET /api/sip/credentials
 *   would answer them, and the ringtone is silent.
 *
 * Both measure the audio they receive with a Web Audio analyser on the remote stream (headless
 * Chromium's inbound-rtp audioLevel reads 0).
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { BrowserContext, Page } from 'playwright-core';
import type { SipCredentials, Workstation } from '@deskline/protocol';

export interface BrowserCredentials {
  wsUrl: string;
  uri: string;
  username: string;
  password: string;
}

export interface IncomingCall {
  /** Epoch ms when JsSIP reported the INVITE. */
  at: number;
  number: string;
  displayName: string;
  /** The X-Deskline-Call-Id header. */
  callId: string | null;
}

export interface EndedCall {
  at: number;
  originator: string;
  cause: string;
}

/** What the page keeps for the test on window.__phone. */
interface PhoneState {
  registered: boolean;
  /** The status of every failed REGISTER (0: no response, e.g. the connection was lost). */
  registrationFailures: number[];
  incoming: IncomingCall[];
  ended: EndedCall[];
  confirmedAt?: number;
  /** Loudest RMS (0…1) of the remote audio since the last read. */
  peak: number;
  /** Every RMS reading (one per 20 ms) while `recording`. */
  readings: number[];
  recording: boolean;
  session?: { answer(options: object): void; terminate(): void; connection?: RTCPeerConnection };
}

type PhoneWindow = Window & { __phone: PhoneState; Deskline: PageBundle };

/** What the page's bundle puts on window.Deskline. */
interface PageBundle {
  JsSIP: any;
  Softphone: new (api: unknown, ringtone: unknown) => SoftphoneState['phone'] & EventTarget;
}

const SOFTPHONE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../web/build/services/softphone.js',
);

/**
 * Meters a remote stream every 20 ms, calling `onLevel` with its RMS (0…1); returns the function that
 * stops it. It runs in the page (the server puts its source there), so it may use only browser globals.
 */
function meterAudio(stream: MediaStream, onLevel: (rms: number) => void): () => void {
  // Chromium delivers a remote WebRTC track to Web Audio only while a media element plays it.
  const element = new Audio();
  element.muted = true;
  element.srcObject = stream;
  void element.play();
  const audio = new AudioContext();
  void audio.resume();
  const analyser = audio.createAnalyser();
  analyser.fftSize = 2048;
  audio.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const meter = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const sample of samples) sum += sample * sample;
    onLevel(Math.sqrt(sum / samples.length));
  }, 20);
  // Chromium stops giving audio to new contexts after about 50 open ones: close each call's.
  return () => {
    clearInterval(meter);
    element.srcObject = null;
    void audio.close();
  };
}

type MeterWindow = Window & { meterAudio: typeof meterAudio };

/** Resolves with the remote audio's RMS level once the peak that the page's `state` keeps exceeds `threshold`. */
async function heardAbove(
  page: Page,
  state: '__phone' | '__softphone',
  threshold: number,
  timeoutMs: number,
): Promise<number> {
  type PeakWindow = Window & Record<typeof state, { peak: number }>;
  await page.evaluate((key) => ((window as unknown as PeakWindow)[key].peak = 0), state);
  const handle = await page.waitForFunction(
    ({ key, t }) => {
      const peak = (window as unknown as PeakWindow)[key].peak;
      return peak > t ? peak : 0;
    },
    { key: state, t: threshold },
    { timeout: timeoutMs },
  );
  return await handle.jsonValue();
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Deskline test phone</title>
<script src="/phone.js"></script>
<script>window.meterAudio = ${meterAudio.toString()};</script></head>
<body><h1>Deskline test phone</h1></body></html>`;

/** Serves the page and its bundle: JsSIP and the web app's Softphone, on window.Deskline. */
export class PhonePageServer {
  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(): Promise<PhonePageServer> {
    const require = createRequire(import.meta.url);
    const bundle = await build({
      stdin: {
        contents: `export { default as JsSIP } from ${JSON.stringify(require.resolve('jssip'))};\nexport { Softphone } from ${JSON.stringify(SOFTPHONE)};`,
        resolveDir: path.dirname(SOFTPHONE),
      },
      bundle: true,
      format: 'iife',
      globalName: 'Deskline',
      platform: 'browser',
      target: 'chrome110',
      write: false,
      logLevel: 'silent',
    });
    const script = bundle.outputFiles[0]?.text ?? '';
    const server = http.createServer((request, response) => {
      if (request.url === '/phone.js') {
        response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      } else if (request.url === '/') {
        response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new PhonePageServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export class BrowserPhone {
  private constructor(readonly page: Page) {}

  /** Opens the page and registers; resolves once Kamailio has accepted the registration. */
  static async register(
    context: BrowserContext,
    pageUrl: string,
    credentials: BrowserCredentials,
    timeoutMs: number,
  ): Promise<BrowserPhone> {
    const phone = await BrowserPhone.start(context, pageUrl, credentials);
    await phone.page.waitForFunction(() => (window as unknown as PhoneWindow).__phone.registered, undefined, {
      timeout: timeoutMs,
    });
    return phone;
  }

  /** Opens the page and starts JsSIP, which registers (or tries to); resolves at once. */
  static async start(context: BrowserContext, pageUrl: string, credentials: BrowserCredentials): Promise<BrowserPhone> {
    const page = await context.newPage();
    await page.goto(pageUrl);
    await page.evaluate((creds) => {
      const w = window as unknown as PhoneWindow;
      const JsSIP = w.Deskline.JsSIP;
      const state: PhoneState = {
        registered: false,
        registrationFailures: [],
        incoming: [],
        ended: [],
        peak: 0,
        readings: [],
        recording: false,
      };
      w.__phone = state;
      const ua = new JsSIP.UA({
        sockets: [new JsSIP.WebSocketInterface(creds.wsUrl)],
        uri: creds.uri,
        authorization_user: creds.username,
        password: creds.password,
        register: true,
        register_expires: 120,
        session_timers: false,
      });
      ua.on('registered', () => (state.registered = true));
      ua.on('unregistered', () => (state.registered = false));
      ua.on('registrationFailed', (event: any) => {
        state.registered = false;
        state.registrationFailures.push(event.response?.status_code ?? 0);
      });
      ua.on('newRTCSession', (event: any) => {
        if (event.originator !== 'remote') return;
        const session = event.session;
        state.session = session;
        state.incoming.push({
          at: Date.now(),
          number: session.remote_identity.uri.user,
          displayName: session.remote_identity.display_name,
          callId: event.request.getHeader('X-Deskline-Call-Id') ?? null,
        });
        session.on('peerconnection', ({ peerconnection }: { peerconnection: RTCPeerConnection }) => {
          peerconnection.addEventListener('track', (trackEvent) => {
            const stream = trackEvent.streams[0] ?? new MediaStream([trackEvent.track]);
            const release = (window as unknown as MeterWindow).meterAudio(stream, (rms) => {
              state.peak = Math.max(state.peak, rms);
              if (state.recording) state.readings.push(rms);
            });
            session.on('ended', release);
            session.on('failed', release);
          });
        });
        session.on('confirmed', () => (state.confirmedAt = Date.now()));
        for (const name of ['ended', 'failed']) {
          session.on(name, (end: { originator: string; cause: string }) =>
            state.ended.push({ at: Date.now(), originator: end.originator, cause: end.cause }),
          );
        }
      });
      ua.start();
    }, credentials);
    return new BrowserPhone(page);
  }

  /** Resolves once a REGISTER of this page failed with `status` (JsSIP re-registers after losing its connection). */
  async registrationFailed(status: number, timeoutMs: number): Promise<void> {
    await this.page.waitForFunction(
      (s) => (window as unknown as PhoneWindow).__phone.registrationFailures.includes(s),
      status,
      { timeout: timeoutMs },
    );
  }

  /** Resolves with the next incoming call (the `index`-th since the page opened). */
  async incoming(index: number, timeoutMs: number): Promise<IncomingCall> {
    await this.page.waitForFunction((i) => (window as unknown as PhoneWindow).__phone.incoming.length > i, index, {
      timeout: timeoutMs,
    });
    return this.page.evaluate((i) => (window as unknown as PhoneWindow).__phone.incoming[i] as IncomingCall, index);
  }

  /** Answers the ringing call, as the web app does (no STUN, balanced bundle: rtpengine drops BUNDLE). */
  async answer(timeoutMs: number): Promise<{ confirmedAt: number; codec: string; setup: string }> {
    await this.page.evaluate(() =>
      (window as unknown as PhoneWindow).__phone.session?.answer({
        mediaConstraints: { audio: true, video: false },
        pcConfig: { iceServers: [], bundlePolicy: 'balanced', rtcpMuxPolicy: 'require' },
      }),
    );
    await this.page.waitForFunction(
      () => (window as unknown as PhoneWindow).__phone.confirmedAt !== undefined,
      undefined,
      { timeout: timeoutMs },
    );
    return this.page.evaluate(() => {
      const state = (window as unknown as PhoneWindow).__phone;
      const sdp = state.session?.connection?.localDescription?.sdp ?? '';
      const payload = /m=audio \d+ \S+ (\d+)/.exec(sdp)?.[1] ?? '';
      const codec = new RegExp(`a=rtpmap:${payload} (\\S+)`).exec(sdp)?.[1] ?? 'unknown';
      const setup = /a=setup:(\w+)/.exec(sdp)?.[1] ?? 'unknown';
      return { confirmedAt: state.confirmedAt ?? 0, codec, setup };
    });
  }

  /** Resolves with the remote audio's RMS level once it exceeds `threshold`. */
  heardAbove(threshold: number, timeoutMs: number): Promise<number> {
    return heardAbove(this.page, '__phone', threshold, timeoutMs);
  }

  /** The remote audio's RMS level over the next `ms`: its mean and its quietest 20 ms reading. */
  async level(ms: number): Promise<{ mean: number; min: number }> {
    const readings = await this.readings(ms);
    return { mean: readings.reduce((sum, r) => sum + r, 0) / readings.length, min: Math.min(...readings) };
  }

  /** The remote audio's RMS level every 20 ms over the next `ms`. */
  async readings(ms: number): Promise<number[]> {
    await this.page.evaluate(() => {
      const state = (window as unknown as PhoneWindow).__phone;
      state.readings = [];
      state.recording = true;
    });
    await this.page.waitForFunction(
      (n) => (window as unknown as PhoneWindow).__phone.readings.length >= n,
      Math.ceil(ms / 20),
      { timeout: ms + 5000 },
    );
    return this.page.evaluate(() => {
      const state = (window as unknown as PhoneWindow).__phone;
      state.recording = false;
      return state.readings;
    });
  }

  async hangUp(): Promise<void> {
    await this.page.evaluate(() => (window as unknown as PhoneWindow).__phone.session?.terminate());
  }

  /** Resolves with how the call ended, once it has. */
  async ended(timeoutMs: number): Promise<EndedCall> {
    await this.page.waitForFunction(() => (window as unknown as PhoneWindow).__phone.ended.length > 0, undefined, {
      timeout: timeoutMs,
    });
    return this.page.evaluate(() => (window as unknown as PhoneWindow).__phone.ended[0] as EndedCall);
  }

  /** Forgets the last call, for the next one on the same page. */
  async reset(): Promise<void> {
    await this.page.evaluate(() => {
      const state = (window as unknown as PhoneWindow).__phone;
      state.ended = [];
      delete state.confirmedAt;
      delete state.session;
    });
  }
}

/** The parts of web/src/services/softphone.ts's PhoneCall and SoftphoneState the tests read. */
export interface PhoneCall {
  id: string;
  direction: 'incoming' | 'outgoing';
  number: string;
  remoteRinging?: boolean;
  state: 'ringing' | 'connecting' | 'in-call' | 'ended';
  startedAt?: number;
  endedAt?: number;
  endReason?: string;
}

interface SoftphoneStatus {
  registration: { status: string };
  call?: PhoneCall;
  remoteStream?: MediaStream;
}

/** What the page keeps for the test on window.__softphone. */
interface SoftphoneState {
  phone: {
    state: SoftphoneStatus;
    use(workstation: Workstation): void;
    call(target: string, options?: { number?: string }): boolean;
    hangUp(): void;
  };
  /** Every call state the phone went through, with when. */
  calls: Array<PhoneCall & { at: number }>;
  /** Loudest RMS (0…1) of the remote audio since the last read. */
  peak: number;
}

type SoftphonePageWindow = Window & { __softphone: SoftphoneState; Deskline: PageBundle };

/** The web app's Softphone registered as a browser workstation. */
export class SoftphonePage {
  private constructor(readonly page: Page) {}

  static async register(
    context: BrowserContext,
    url: string,
    workstation: Workstation,
    credentials: SipCredentials,
    timeoutMs: number,
  ): Promise<SoftphonePage> {
    const page = await context.newPage();
    await page.goto(url);
    await page.evaluate(
      ({ workstation, credentials }) => {
        const w = window as unknown as SoftphonePageWindow;
        // The one ApiClient method the softphone calls: GET /api/sip/credentials.
        const api = { sipCredentials: async () => credentials };
        const ringtone = { start: () => undefined, stop: () => undefined };
        const phone = new w.Deskline.Softphone(api, ringtone);
        const state: SoftphoneState = { phone, calls: [], peak: 0 };
        w.__softphone = state;
        let measured: MediaStream | undefined;
        let stopMeter: (() => void) | undefined;
        phone.addEventListener('change', () => {
          const call = phone.state.call;
          const last = state.calls[state.calls.length - 1];
          if (
            call &&
            (!last || last.state !== call.state || last.remoteRinging !== call.remoteRinging || last.id !== call.id)
          )
            state.calls.push({ ...call, at: Date.now() });
          const stream = phone.state.remoteStream;
          if (stream === measured) return;
          stopMeter?.();
          stopMeter = undefined;
          measured = stream;
          if (stream)
            stopMeter = (window as unknown as MeterWindow).meterAudio(
              stream,
              (rms) => (state.peak = Math.max(state.peak, rms)),
            );
        });
        phone.use(workstation);
      },
      { workstation, credentials },
    );
    await page.waitForFunction(
      () => (window as unknown as SoftphonePageWindow).__softphone.phone.state.registration.status === 'registered',
      undefined,
      { timeout: timeoutMs },
    );
    return new SoftphonePage(page);
  }

  /** softphoneController.call(target, { number }), as the board does after POST /api/tasks/:id/callback. */
  call(target: string, number: string): Promise<boolean> {
    return this.page.evaluate(
      ({ target, number }) => (window as unknown as SoftphonePageWindow).__softphone.phone.call(target, { number }),
      { target, number },
    );
  }

  hangUp(): Promise<void> {
    return this.page.evaluate(() => (window as unknown as SoftphonePageWindow).__softphone.phone.hangUp());
  }

  /** Resolves with the first recorded call state matching `predicate` (from the page's start). */
  async waitForCall(what: string, predicate: string, timeoutMs: number): Promise<PhoneCall & { at: number }> {
    const handle = await this.page
      .waitForFunction(
        (source) => {
          const match = new Function('call', `return (${source});`) as (call: PhoneCall) => boolean;
          return (window as unknown as SoftphonePageWindow).__softphone.calls.find((call) => match(call)) ?? false;
        },
        predicate,
        { timeout: timeoutMs },
      )
      .catch((err: Error) => {
        throw new Error(`softphone: ${what}: ${err.message}`);
      });
    return (await handle.jsonValue()) as PhoneCall & { at: number };
  }

  /** Forgets the calls seen, for the next one. */
  reset(): Promise<void> {
    return this.page.evaluate(() => {
      (window as unknown as SoftphonePageWindow).__softphone.calls = [];
    });
  }

  /** Resolves with the remote audio's RMS level once it exceeds `threshold`. */
  heardAbove(threshold: number, timeoutMs: number): Promise<number> {
    return heardAbove(this.page, '__softphone', threshold, timeoutMs);
  }
}
