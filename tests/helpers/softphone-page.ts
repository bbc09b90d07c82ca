/**
 * The web app's own Softphone (web/src/services/softphone.ts, as built into web/build) on a page of
 * its own, for end-to-end tests of the SIP path that do not need signaling: the credentials are
 * handed in as GET /api/sip/credentials would answer them, and the ringtone is silent. The page
 * measures the audio of `state.remoteStream` with a Web Audio analyser (headless Chromium's
 * inbound-rtp audioLevel reads 0).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { BrowserContext, Page } from 'playwright-core';
import type { SipCredentials, Workstation } from '@deskline/protocol';

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

interface SoftphoneState {
  registration: { status: string };
  call?: PhoneCall;
  remoteStream?: MediaStream;
}

const SOFTPHONE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web/build/services/softphone.js');

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Deskline softphone</title>
<script src="/softphone.js"></script></head>
<body><h1>Deskline softphone</h1></body></html>`;

/** What the page keeps for the test on window.__softphone. */
interface PageState {
  phone: {
    state: SoftphoneState;
    use(workstation: Workstation): void;
    call(target: string, options?: { number?: string }): boolean;
    hangUp(): void;
  };
  /** Every call state the phone went through, with when. */
  calls: Array<PhoneCall & { at: number }>;
  /** Loudest RMS (0…1) of the remote audio since the last read. */
  peak: number;
}

type SoftphoneWindow = Window & { __softphone: PageState; DesklineSoftphone: { Softphone: new (api: unknown, ringtone: unknown) => PageState['phone'] & EventTarget } };

export class SoftphonePageServer {
  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(): Promise<SoftphonePageServer> {
    const bundle = await build({
      entryPoints: [SOFTPHONE],
      bundle: true,
      format: 'iife',
      globalName: 'DesklineSoftphone',
      platform: 'browser',
      target: 'chrome110',
      write: false,
      logLevel: 'silent',
    });
    const script = bundle.outputFiles[0]?.text ?? '';
    const server = http.createServer((request, response) => {
      if (request.url === '/softphone.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      else if (request.url === '/') response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new SoftphonePageServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The web app's Softphone registered as a browser workstation. */
export class SoftphonePage {
  private constructor(readonly page: Page) {}

  static async register(context: BrowserContext, url: string, workstation: Workstation, credentials: SipCredentials, timeoutMs: number): Promise<SoftphonePage> {
    const page = await context.newPage();
    await page.goto(url);
    await page.evaluate(
      ({ workstation, credentials }) => {
        const w = window as unknown as SoftphoneWindow;
        const api = { get: async () => credentials };
        const ringtone = { start: () => undefined, stop: () => undefined };
        const phone = new w.DesklineSoftphone.Softphone(api, ringtone);
        const state: PageState = { phone, calls: [], peak: 0 };
        w.__softphone = state;
        let measured: MediaStream | undefined;
        phone.addEventListener('change', () => {
          const call = phone.state.call;
          const last = state.calls[state.calls.length - 1];
          if (call && (!last || last.state !== call.state || last.remoteRinging !== call.remoteRinging || last.id !== call.id)) state.calls.push({ ...call, at: Date.now() });
          const stream = phone.state.remoteStream;
          if (!stream || stream === measured) return;
          measured = stream;
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
            if (phone.state.remoteStream !== stream) {
              clearInterval(meter);
              void audio.close();
              return;
            }
            analyser.getFloatTimeDomainData(samples);
            let sum = 0;
            for (const sample of samples) sum += sample * sample;
            state.peak = Math.max(state.peak, Math.sqrt(sum / samples.length));
          }, 20);
        });
        phone.use(workstation);
      },
      { workstation, credentials },
    );
    await page.waitForFunction(() => (window as unknown as SoftphoneWindow).__softphone.phone.state.registration.status === 'registered', undefined, { timeout: timeoutMs });
    return new SoftphonePage(page);
  }

  /** softphoneController.call(target, { number }), as the board does after POST /api/tasks/:id/callback. */
  call(target: string, number: string): Promise<boolean> {
    return this.page.evaluate(({ target, number }) => (window as unknown as SoftphoneWindow).__softphone.phone.call(target, { number }), { target, number });
  }

  hangUp(): Promise<void> {
    return this.page.evaluate(() => (window as unknown as SoftphoneWindow).__softphone.phone.hangUp());
  }

  /** Resolves with the first recorded call state matching `predicate` (from the page's start). */
  async waitForCall(what: string, predicate: string, timeoutMs: number): Promise<PhoneCall & { at: number }> {
    const handle = await this.page
      .waitForFunction(
        (source) => {
          const match = new Function('call', `return (${source});`) as (call: PhoneCall) => boolean;
          return (window as unknown as SoftphoneWindow).__softphone.calls.find((call) => match(call)) ?? false;
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
      (window as unknown as SoftphoneWindow).__softphone.calls = [];
    });
  }

  /** Resolves with the remote audio's RMS level once it exceeds `threshold`. */
  async heardAbove(threshold: number, timeoutMs: number): Promise<number> {
    await this.page.evaluate(() => ((window as unknown as SoftphoneWindow).__softphone.peak = 0));
    const handle = await this.page.waitForFunction((t) => {
      const peak = (window as unknown as SoftphoneWindow).__softphone.peak;
      return peak > t ? peak : 0;
    }, threshold, { timeout: timeoutMs });
    return (await handle.jsonValue()) as number;
  }
}
