/**
 * The chaos run's workstations (tests/helpers/chaos.ts), behind one interface: a Node WebRTC agent
 * (webrtc-agent.ts: ICE and DTLS-SRTP through an rtpengine of its own, SIP over a WebSocket that
 * reconnects as JsSIP does) or a Chromium page running JsSIP (tests/helpers/browser-phone.ts), which
 * reconnects, registers again and answers re-INVITEs by itself. Each measures the longest gap between
 * the RTP packets it receives in a call: the Node agent at its media endpoint, Chromium from its
 * peer connection's inbound-rtp packetsReceived, read every 50 ms.
 */
import type { BrowserContext } from 'playwright-core';
import { BrowserPhone } from './browser-phone.js';
import { browserSipUser } from '@deskline/store';
import type { IncomingRing, SipEdge } from './agent-phone.js';
import type { PatientPhone } from './patient-phone.js';
import type { ReconnectingSipWsEndpoint } from './sip-ws.js';
import type { WebRtcAgent, WebRtcCall } from './webrtc-agent.js';

/** The longest gap between packets a phone received, from `from` until stopped. */
export class SilenceMeter {
  maxGapMs = 0;
  /** When the longest gap began, ms since the run's start. */
  maxGapFromMs = 0;
  packets = 0;
  private lastAt: number;
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly phone: PatientPhone,
    private readonly runStart: number,
    from = Date.now(),
  ) {
    this.lastAt = from;
    phone.forget();
    this.timer = setInterval(() => this.take(), 250);
  }

  /** Ends the measurement at `at`: a silence still going on then counts up to it. */
  stop(at = Date.now()): void {
    if (this.stopped) return;
    this.take(at);
    this.gap(at);
    this.stopped = true;
    clearInterval(this.timer);
  }

  private take(until = Infinity): void {
    if (this.stopped) return;
    for (const packet of this.phone.received) {
      if (packet.at > until) break;
      this.gap(packet.at);
      this.lastAt = packet.at;
      this.packets += 1;
    }
    this.phone.forget();
  }

  private gap(at: number): void {
    if (at - this.lastAt > this.maxGapMs) {
      this.maxGapMs = at - this.lastAt;
      this.maxGapFromMs = this.lastAt - this.runStart;
    }
  }
}

/** A call an agent answered. */
export interface AgentCall {
  /** When the other side's BYE reached the agent (epoch ms); undefined if none came in time. */
  readonly ended: Promise<number | undefined>;
  /** The agent hangs up; resolves with the status of the answer to its BYE, or 'sent' where the agent cannot tell. */
  hangUp(): Promise<string>;
  /** Stops measuring at `at` (default now): the longest gap since the answer, and when it began (ms since the run's start). */
  silence(at?: number): Promise<{ maxGapMs: number; fromMs: number }>;
  /** re-INVITEs the agent answered, and what went wrong with any. */
  readonly reinvites: number;
  readonly problems: string[];
  close(): void;
}

export interface AgentRing {
  /** The caller's number, as the workstation shows it. */
  number: string;
  /** Picks up; `untilEnd` says how long a wait for the other side's BYE may last. */
  answer(untilEnd: () => number): Promise<AgentCall>;
}

export interface ChaosAgent {
  readonly kind: 'node' | 'chromium';
  /** The next call that rings this workstation. */
  nextRing(timeoutMs: number): Promise<AgentRing>;
  /** Times its connection to Kamailio dropped and came back. */
  reconnects(): Promise<number>;
  /** REGISTERs after its first that failed. */
  registerFailures(): Promise<string[]>;
  close(): Promise<void>;
}

const callerNumber = (ring: IncomingRing): string => /<?sips?:([^@;>]+)@/.exec(ring.from)?.[1] ?? '';

export class NodeAgent implements ChaosAgent {
  readonly kind = 'node';

  constructor(
    private readonly agent: WebRtcAgent,
    private readonly runStart: number,
  ) {}

  async nextRing(timeoutMs: number): Promise<AgentRing> {
    const ring = await this.agent.phone.nextInvite(timeoutMs);
    return { number: callerNumber(ring) || ring.from, answer: (untilEnd) => this.answer(ring, untilEnd) };
  }

  private async answer(ring: IncomingRing, untilEnd: () => number): Promise<AgentCall> {
    const answered = await this.agent.answer(ring, 10_000);
    const meter = new SilenceMeter(answered.media, this.runStart);
    let over = false;
    const problems: string[] = [];
    let reinvites = 0;
    // As a browser does: every re-INVITE (rtpengine's new ICE and DTLS after its restart) answered.
    void (async () => {
      while (!over) {
        try {
          await this.agent.answerReinvite(answered, 2_000);
          reinvites += 1;
        } catch (err) {
          if (!/timed out after 2000 ms waiting for a re-INVITE/.test(String(err)))
            problems.push(`a re-INVITE to the agent failed: ${String(err).slice(0, 100)}`);
        }
      }
    })();
    return {
      ended: ring.waitForBye(untilEnd()).then(
        () => Date.now(),
        () => undefined,
      ),
      hangUp: async () => {
        // JsSIP cannot send while its WebSocket is down (Kamailio restarting): the BYE is lost.
        if ((this.agent.phone.endpoint as Partial<ReconnectingSipWsEndpoint>).connected === false)
          return 'not sent: its WebSocket was down (Kamailio restarting)';
        return ring.hangUp(5000).then(
          (m) => String(m.status),
          (err: unknown) => `no answer (${String(err).slice(0, 60)})`,
        );
      },
      silence: async (at) => {
        meter.stop(at);
        return { maxGapMs: meter.maxGapMs, fromMs: meter.maxGapFromMs };
      },
      get reinvites() {
        return reinvites;
      },
      problems,
      close: () => {
        over = true;
        meter.stop();
        closeMedia(answered);
      },
    };
  }

  async reconnects(): Promise<number> {
    return (this.agent.phone.endpoint as Partial<ReconnectingSipWsEndpoint>).reconnects ?? 0;
  }

  async registerFailures(): Promise<string[]> {
    return this.agent.phone.registerFailures;
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

function closeMedia(call: WebRtcCall): void {
  call.media.close();
}

/** What the chaos meter keeps in the page, on window.__chaos. */
interface PageMeter {
  stop: boolean;
  /** The longest gap that has ended (packets came again), and when it began (epoch ms). */
  maxGap: number;
  from: number;
  /** When packets last arrived (or the answer). */
  last: number;
}

/** A Chromium page running JsSIP as a workstation: it reconnects, registers again and answers re-INVITEs itself. */
export class ChromiumAgent implements ChaosAgent {
  readonly kind = 'chromium';
  private rings = 0;

  private constructor(
    private readonly phone: BrowserPhone,
    private readonly runStart: number,
  ) {}

  static async start(
    browser: { context: BrowserContext; pageUrl: string },
    edge: SipEdge,
    workstationId: string,
    runStart: number,
  ): Promise<ChromiumAgent> {
    const sipUser = browserSipUser(workstationId);
    const credentials = {
      wsUrl: edge.wsUrl,
      uri: `sip:${sipUser}@${edge.domain}`,
      ...(await edge.browserCredentials(sipUser)),
    };
    return new ChromiumAgent(
      await BrowserPhone.register(browser.context, browser.pageUrl, credentials, 15_000),
      runStart,
    );
  }

  async nextRing(timeoutMs: number): Promise<AgentRing> {
    const incoming = await this.phone.incoming(this.rings, timeoutMs);
    this.rings += 1;
    return { number: incoming.number, answer: (untilEnd) => this.answer(untilEnd) };
  }

  private async answer(untilEnd: () => number): Promise<AgentCall> {
    const page = this.phone.page;
    // This call's end only (the page keeps the ends of earlier ones).
    const endsBefore = await page.evaluate(() => {
      const state = (window as unknown as { __phone: { ended: unknown[]; confirmedAt?: number } }).__phone;
      delete state.confirmedAt;
      return state.ended.length;
    });
    await this.phone.answer(10_000);
    // Packets received, from the peer connection's inbound-rtp statistics every 50 ms.
    await page.evaluate(() => {
      const w = window as unknown as { __phone: { session?: { connection?: RTCPeerConnection } }; __chaos: PageMeter };
      const connection = w.__phone.session?.connection;
      const meter: PageMeter = { stop: false, maxGap: 0, from: Date.now(), last: Date.now() };
      w.__chaos = meter;
      let count = 0;
      const tick = async (): Promise<void> => {
        if (meter.stop || !connection) return;
        let received = 0;
        (await connection.getStats()).forEach((report: { type: string; kind?: string; packetsReceived?: number }) => {
          if (report.type === 'inbound-rtp' && report.kind === 'audio') received = report.packetsReceived ?? 0;
        });
        const now = Date.now();
        if (received > count) {
          count = received;
          if (now - meter.last > meter.maxGap) {
            meter.maxGap = now - meter.last;
            meter.from = meter.last;
          }
          meter.last = now;
        }
        setTimeout(() => void tick(), 50);
      };
      void tick();
    });
    const ended = page
      .waitForFunction(
        (n) =>
          (window as unknown as { __phone: { ended: Array<{ at: number; originator: string }> } }).__phone.ended
            .length > n,
        endsBefore,
        { timeout: untilEnd() },
      )
      .then(() =>
        page.evaluate(
          (n) =>
            (window as unknown as { __phone: { ended: Array<{ at: number; originator: string }> } }).__phone.ended[n],
          endsBefore,
        ),
      )
      .then(
        (end) => (end && end.originator !== 'local' ? end.at : undefined),
        () => undefined,
      );
    return {
      ended,
      hangUp: async () => {
        await this.phone.hangUp();
        return 'sent';
      },
      silence: async (at = Date.now()) => {
        const meter = await page.evaluate(() => {
          const m = (window as unknown as { __chaos: PageMeter }).__chaos;
          m.stop = true;
          return { maxGap: m.maxGap, from: m.from, last: m.last };
        });
        // A silence going on at `at` counts up to it.
        const tail = at - meter.last;
        return tail > meter.maxGap
          ? { maxGapMs: tail, fromMs: meter.last - this.runStart }
          : { maxGapMs: meter.maxGap, fromMs: meter.from - this.runStart };
      },
      reinvites: 0,
      problems: [],
      close: () => undefined,
    };
  }

  async reconnects(): Promise<number> {
    return 0;
  }

  async registerFailures(): Promise<string[]> {
    const failures = await this.phone.page
      .evaluate(
        () => (window as unknown as { __phone: { registrationFailures: number[] } }).__phone.registrationFailures,
      )
      .catch(() => []);
    return failures.map((status) => `Chromium REGISTER failed: ${status || 'no answer'}`);
  }

  async close(): Promise<void> {
    await this.phone.page.close().catch(() => undefined);
  }
}
