import { randomUUID } from 'node:crypto';
import { QUEUE_CALL_ID_HEADER } from '@deskline/protocol';
import type { Logger } from 'pino';
import type { WorkstationKind } from '@deskline/protocol';
import type { MediaSession } from '../../media/media-session.js';
import type { Agent } from '../../routing/agent-store.js';
import type { Dialer } from '../../sip/sip-stack.js';
import { AgentLeg } from '../agent-leg.js';
import type { RingSnapshot } from '../call-sip-state.js';
import type { CallStep } from './call-step.js';
import type { PostDialTimings } from '../post-dial-timings.js';

/** Why a ring ended without a connected agent. */
export type RingFailure =
  /** Nobody answered within RING_TIMEOUT_SECONDS; the INVITE was CANCELled. */
  | { reason: 'no-answer' }
  /** A final error response (declined, busy, not registered) or a transport error. */
  | { reason: 'refused'; statusCode: number; reasonPhrase: string };

/** An agent leg's offer asked of rtpengine before the ring (PatientCall.prepareRing), with its branch's tag. */
export interface PreparedRing {
  tag: string;
  kind: WorkstationKind;
  sdp: Promise<string>;
}

export interface RingAgentOptions {
  /** The offer made ahead for this kind of workstation, if any: the ring uses its branch. */
  prepared?: PreparedRing;
  media: MediaSession;
  dialer: Dialer;
  agent: Agent;
  /** Our call id, for the X-Deskline-Call-Id header. */
  callId: string;
  /** The patient's number, shown by the workstation. */
  callerNumber: string;
  /** The patient's name from the clinic's contacts, shown instead of the number's display name. */
  callerName?: string;
  timeoutMs: number;
  log: Logger;
  /** The agent answered and media is connected (hold music still playing). The leg is the caller's now. */
  onAnswered(leg: AgentLeg): void;
  /** The ring is over without an agent; the agent's rtpengine branch (`tag`) is still there. */
  onFailed(failure: RingFailure, tag: string): void;
  /** The INVITE is on its way: what another process would need to CANCEL it. */
  onInviteSent(ring: RingSnapshot): void;
  /** The call's first ring notes when rtpengine's offer came (PostDialTimings). */
  timings?: PostDialTimings;
}

/**
 * Rings one agent's workstation while the patient keeps hearing the hold music: an rtpengine branch
 * of its own (to-tag agent-<uuid>; WebRTC towards a browser, plain RTP towards a desk phone), an
 * INVITE through Kamailio, and a timer that CANCELs it after RING_TIMEOUT_SECONDS.
 */
export class RingAgentStep implements CallStep {
  readonly name = 'ring-agent';
  readonly tag: string;
  private leg: AgentLeg | undefined;
  private timer: NodeJS.Timeout | undefined;
  private over = false;

  constructor(private readonly options: RingAgentOptions) {
    this.tag = options.prepared?.tag ?? `agent-${randomUUID()}`;
  }

  async start(): Promise<void> {
    const { media, dialer, agent, callId, callerNumber, callerName, timeoutMs, log } = this.options;
    const prepared = this.options.prepared;
    // A prepared offer that failed is asked again, for the same branch.
    const sdp = prepared
      ? await prepared.sdp.catch(() => media.offerToAgent(this.tag, agent.kind))
      : await media.offerToAgent(this.tag, agent.kind);
    this.options.timings?.mark('agent-offer');
    if (this.over) return;
    const leg = new AgentLeg(
      dialer,
      {
        user: agent.sipUser,
        callerNumber,
        ...(callerName !== undefined ? { callerName } : {}),
        sdp,
        extraHeaders: [`${QUEUE_CALL_ID_HEADER}: ${callId}`],
      },
      {
        onAnswered: (answer) => void this.answered(leg, answer),
        onFailed: (statusCode, reasonPhrase) => this.fail({ reason: 'refused', statusCode, reasonPhrase }),
      },
      log,
    );
    this.leg = leg;
    this.timer = setTimeout(() => {
      leg.cancel();
      this.fail({ reason: 'no-answer' });
    }, timeoutMs);
    leg.start();
    const sent = leg.sentInvite;
    if (sent) this.options.onInviteSent({ tag: this.tag, ...sent });
    log.info({ userId: agent.userId, sipUser: agent.sipUser, kind: agent.kind, tag: this.tag }, 'ringing the agent');
  }

  /** The call is over or moves on: a leg still ringing is CANCELled, one answered but not handed over gets BYE. */
  stop(): void {
    this.over = true;
    clearTimeout(this.timer);
    void this.leg?.hangUp();
  }

  /**
   * After `stop()`: resolves once the workstation has answered the CANCEL (or a 200 that crossed it
   * has been ACKed and hung up), or after `timeoutMs`.
   */
  async settled(timeoutMs: number): Promise<void> {
    const leg = this.leg;
    if (!leg) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([leg.settled, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  private async answered(leg: AgentLeg, sdp: string): Promise<void> {
    clearTimeout(this.timer);
    if (this.over) return;
    try {
      await this.options.media.answerFromAgent(this.tag, sdp);
    } catch (err) {
      if (this.over) return;
      this.options.log.error({ err }, "rtpengine refused the workstation's answer; hanging up that leg");
      void leg.hangUp();
      this.fail({ reason: 'refused', statusCode: 488, reasonPhrase: 'Media Not Connected' });
      return;
    }
    if (this.over) return;
    this.over = true;
    // The leg is the call's now; stop() must not hang it up.
    this.leg = undefined;
    this.options.onAnswered(leg);
  }

  private fail(failure: RingFailure): void {
    if (this.over) return;
    this.over = true;
    clearTimeout(this.timer);
    this.options.onFailed(failure, this.tag);
  }
}
