import type { Logger } from 'pino';
import { PLAIN_RTP, WEBRTC, flagsFor } from './flags.js';
import { isUnknownCall, type RtpEngine } from './rtpengine.js';
import { stripWebRtcOnlyLines } from './sdp.js';

/** rtpengine's call id for a callback. */
export function callbackMediaId(callbackId: string): string {
  return `callback-${callbackId}`;
}

/**
 * One callback's allocation in rtpengine: the browser's WebRTC offer (from-tag = the browser's leg)
 * goes to the trunk as plain RTP, and the patient's answer comes back to the browser as WebRTC, the
 * way ARCHITECTURE.md measured it for a browser that offers ("late offer" there). Whoever creates it
 * calls `destroy()` on every way the callback can end.
 */
export class CallbackMedia {
  private allocated = false;
  private destroyed = false;
  /** The patient's side once answered: the trunk leg's tag and SDP. */
  private trunk: { tag: string; sdp: string } | undefined;
  private inFlight: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly engine: RtpEngine,
    /** rtpengine's call id. */
    readonly callId: string,
    /** The browser's SIP From tag. */
    readonly browserTag: string,
    private readonly log: Logger,
  ) {}

  /** The browser's offer; returns the plain RTP offer for the trunk (WebRTC-only lines stripped). */
  offerToTrunk(browserSdp: string): Promise<string> {
    return this.run(async () => {
      this.allocated = true;
      const offer = await this.engine.offer({
        callId: this.callId,
        fromTag: this.browserTag,
        sdp: browserSdp,
        flags: flagsFor(PLAIN_RTP, 'browser'),
      });
      return stripWebRtcOnlyLines(offer);
    });
  }

  /** The patient's answer (to-tag = the trunk's leg); returns the WebRTC answer for the browser. */
  answerFromTrunk(trunkTag: string, trunkSdp: string): Promise<string> {
    return this.run(async () => {
      const answer = await this.engine.answer({
        callId: this.callId,
        fromTag: this.browserTag,
        toTag: trunkTag,
        sdp: trunkSdp,
        flags: flagsFor(WEBRTC, 'trunk'),
      });
      this.trunk = { tag: trunkTag, sdp: trunkSdp };
      return answer;
    });
  }

  /**
   * After an rtpengine restart, a new offer for the browser from the patient's side, for a
   * re-INVITE: the callback read back from rtpengine's keyspace forwards media, but with ICE
   * credentials and a DTLS certificate of the new process (MediaSession.reofferToAgent). Undefined
   * before the patient answered.
   */
  reofferToBrowser(): Promise<string | undefined> {
    return this.run(async () => {
      const trunk = this.trunk;
      if (!trunk) return undefined;
      return this.engine.offer({
        callId: this.callId,
        fromTag: trunk.tag,
        toTag: this.browserTag,
        sdp: trunk.sdp,
        flags: flagsFor(WEBRTC, 'trunk'),
      });
    });
  }

  /** The browser's answer to that re-INVITE. */
  answerFromBrowser(browserSdp: string): Promise<void> {
    return this.run(async () => {
      const trunk = this.trunk;
      if (!trunk) return;
      await this.engine.answer({
        callId: this.callId,
        fromTag: trunk.tag,
        toTag: this.browserTag,
        sdp: browserSdp,
        flags: flagsFor(PLAIN_RTP, 'browser'),
      });
    });
  }

  /** Whether rtpengine holds this callback (after its restart: whether it got it back from its Redis keyspace). */
  async heldByRtpengine(): Promise<boolean> {
    if (this.destroyed || !this.allocated) return true;
    return this.engine.holds(this.callId);
  }

  /** Deletes the call in rtpengine. Safe to call more than once and on any path; never throws. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.inFlight.catch(() => undefined);
    if (!this.allocated) return;
    try {
      await this.engine.delete({ callId: this.callId, fromTag: this.browserTag });
    } catch (err) {
      if (isUnknownCall(err)) return;
      this.log.warn({ err }, 'could not delete the rtpengine session');
    }
  }

  private run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.destroyed) return Promise.reject(new Error('the media session is closed'));
    const result = this.inFlight.catch(() => undefined).then(operation);
    this.inFlight = result;
    return result;
  }
}
