import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { dtlsSetup } from '../media/sdp.js';
import { evaluate, type OutboundPolicyStore } from '@deskline/outbound-policy';
import {
  MAX_DURATION_BYE_REASON,
  OUTSIDE_POLICY_REASON_PHRASE,
  type CallbackGrant,
  type CallbackOutcome,
  type CallbackState,
  type CallbackView,
} from '@deskline/protocol';
import type { IncomingInviteRequest } from 'sip.js/lib/core/index.js';
import { CallbackMedia, callbackMediaId } from '../media/callback-media.js';
import type { RtpEngine } from '../media/rtpengine.js';
import { heldAfterRestart } from '../media/rtpengine-watch.js';
import type { DialogServices, TrunkDialer } from '../sip/sip-stack.js';
import { BrowserLeg } from './browser-leg.js';
import { CALLBACK_LOCK_SECONDS, type CallbackStore } from './callback-store.js';
import { CallbackStateMachine, outcomeOfFailure } from './callback-state-machine.js';
import { TrunkLeg } from './trunk-leg.js';
import { packetsFromTag } from '../media/packets.js';

export interface CallbackDeps {
  rtpengine: RtpEngine;
  store: CallbackStore;
  dialer: TrunkDialer;
  dialogs: DialogServices;
  /** host:port of OUTBOUND_TRUNK. */
  trunk: string;
  /** The clinic number the patient sees. */
  callerId: string;
  /** CALLBACK_RING_SECONDS, in ms. */
  ringTimeoutMs: number;
  /** PATIENT_KEEPALIVE_SECONDS, in ms: the answered patient's line is asked as a patient call's is. Without it, no keepalive. */
  keepaliveMs?: number;
  /** The outbound policy, checked again when dialling; it also authorizes each INVITE for Kamailio. */
  policy: OutboundPolicyStore;
  /** CLINIC_COUNTRY: a number without a country code is this country's. */
  country: string;
}

/** Why a callback ended, for the log line. */
export type CallbackEndReason =
  | 'employee-hung-up'
  | 'patient-hung-up'
  | 'patient-vanished'
  | 'browser-vanished'
  | 'cancelled'
  | 'ring-timeout'
  | 'trunk-refused'
  | 'no-ack'
  | 'media-failed'
  | 'media-lost'
  | 'policy-refused'
  | 'max-duration'
  | 'shutdown';

/** What the browser is told when the callback ends before the patient answers. */
const BROWSER_RESPONSE: Record<Exclude<CallbackOutcome, 'answered' | 'cancelled'>, [number, string]> = {
  busy: [486, 'Busy Here'],
  'no-answer': [480, 'No Answer'],
  rejected: [603, 'Decline'],
  failed: [502, 'Callback Failed'],
};

/**
 * One callback, from the browser's INVITE (the grant already taken) to the last cleanup: the
 * browser's leg, the trunk's leg, the rtpengine allocation, the CallbackView in Redis and the task's
 * lock. Every way it can end goes through `end()`, which releases all of them.
 *
 * Lives in this process only: a sip app that dies mid-callback loses it (rtpengine drops the media
 * at its timeout, the lock expires within CALLBACK_LOCK_SECONDS, the view keeps its last state).
 */
export class Callback {
  readonly id: string;
  readonly log: Logger;
  private readonly machine = new CallbackStateMachine();
  private readonly media: CallbackMedia;
  private readonly browser: BrowserLeg;
  private trunk: TrunkLeg | undefined;
  private view: CallbackView;
  private ringTimer: NodeJS.Timeout | undefined;
  private durationTimer: NodeJS.Timeout | undefined;
  /** The policy's maxDurationSeconds when dialling, in ms. */
  private maxDurationMs = 0;
  private lockTimer: NodeJS.Timeout | undefined;
  private writes: Promise<void> = Promise.resolve();
  private ending: Promise<void> | undefined;
  private markEnded!: () => void;
  /** Settles once the callback has ended and everything it held is released. */
  readonly ended = new Promise<void>((resolve) => (this.markEnded = resolve));

  constructor(
    private readonly request: IncomingInviteRequest,
    private readonly grant: CallbackGrant,
    private readonly deps: CallbackDeps,
    parentLog: Logger,
  ) {
    this.id = grant.callbackId;
    this.log = parentLog.child({ callbackId: this.id, taskId: grant.taskId });
    this.view = {
      id: grant.callbackId,
      taskId: grant.taskId,
      number: grant.number,
      userId: grant.userId,
      workstationId: grant.workstationId,
      state: 'dialing',
      startedAt: Date.now(),
    };
    this.media = new CallbackMedia(deps.rtpengine, callbackMediaId(this.id), request.message.fromTag, this.log);
    this.browser = new BrowserLeg(
      request,
      {
        onCancelled: () => void this.end('cancelled', 'cancelled'),
        onHungUp: () => void this.end('employee-hung-up', 'answered'),
        onAckTimeout: () => void this.end('no-ack', 'failed'),
        onVanished: () => void this.end('browser-vanished', 'answered'),
      },
      this.log,
      deps.keepaliveMs === undefined ? undefined : { dialogs: deps.dialogs, intervalMs: deps.keepaliveMs },
    );
  }

  get state(): CallbackState {
    return this.machine.state;
  }

  /**
   * Records `dialing`, checks the number against the outbound policy again (signaling did when it
   * granted the callback; the policy may have changed since, and a grant may not come from signaling),
   * offers the browser's SDP to rtpengine, authorizes the INVITE for Kamailio and sends it to the trunk.
   */
  async dial(): Promise<void> {
    this.publish();
    this.lockTimer = setInterval(() => this.keepLock(), (CALLBACK_LOCK_SECONDS * 1000) / 3);
    const policy = await this.deps.policy.get();
    const verdict = evaluate(policy, this.grant.number, this.deps.country);
    if (!verdict.allowed) {
      this.log.warn({ refusal: verdict.refusal, reason: verdict.message }, 'the outbound policy refuses the number');
      await this.end('policy-refused', 'failed', [403, OUTSIDE_POLICY_REASON_PHRASE]);
      return;
    }
    this.maxDurationMs = policy.maxDurationSeconds * 1000;
    let sdp: string;
    try {
      sdp = await this.media.offerToTrunk(this.request.message.body);
    } catch (err) {
      if (this.ending) return;
      this.log.error({ err }, "rtpengine refused the browser's offer");
      await this.end('media-failed', 'failed', [503, 'Media Unavailable']);
      return;
    }
    if (this.ending) return;
    // Kamailio relays an INVITE to the trunk only under an authorization naming its Call-ID and number.
    const callId = `cb-${randomUUID()}`;
    await this.deps.policy.authorizeCall(callId, verdict.e164);
    if (this.ending) return;
    const trunk = new TrunkLeg(
      this.deps.dialer,
      this.deps.dialogs,
      { number: verdict.e164, callId, trunk: this.deps.trunk, callerId: this.deps.callerId, sdp },
      {
        onRinging: () => this.onRinging(),
        onAnswered: (answer, tag) => void this.onAnswered(answer, tag),
        onFailed: (statusCode, reasonPhrase) => this.onRefused(statusCode, reasonPhrase),
        onHungUp: () => void this.end('patient-hung-up', 'answered'),
        // Answered, so the outcome is `answered` (the task goes on to wrap-up as for any answered call).
        onVanished: () => void this.end('patient-vanished', 'answered'),
      },
      this.log,
      this.deps.keepaliveMs === undefined
        ? undefined
        : {
            intervalMs: this.deps.keepaliveMs,
            packetsFromPatient: (tag) => packetsFromTag(this.deps.rtpengine, this.media.callId, tag),
          },
    );
    this.trunk = trunk;
    this.ringTimer = setTimeout(() => {
      this.log.info({ seconds: this.deps.ringTimeoutMs / 1000 }, 'the patient did not answer in time; cancelling');
      void this.end('ring-timeout', 'no-answer');
    }, this.deps.ringTimeoutMs);
    trunk.start();
    this.log.info(
      { number: verdict.e164, type: verdict.type, trunk: this.deps.trunk, callerId: this.deps.callerId },
      'calling the patient back',
    );
  }

  /**
   * rtpengine restarted (RtpengineWatch): it got the callback's media back from its Redis keyspace,
   * and the two talk on (nothing plays in a callback), the browser with rtpengine's new ICE and DTLS
   * from a re-INVITE. One that rtpengine did not get back is silent for good: it ends, answered (the
   * task goes on to wrap-up) or failed if the patient's phone was still ringing.
   */
  async afterRtpengineRestart(): Promise<void> {
    if (this.ending) return;
    const held = await heldAfterRestart(this.media, this.log);
    if (held === undefined || this.ending) return;
    if (held) {
      await this.reofferToBrowser();
      return;
    }
    this.log.error(
      'rtpengine restarted without this callback (its Redis keyspace did not have it); hanging up rather than leave the line silent',
    );
    const answered = this.machine.state === 'answered';
    await this.end('media-lost', answered ? 'answered' : 'failed', answered ? undefined : [503, 'Media Unavailable']);
  }

  /**
   * An answered callback after an rtpengine restart: a re-INVITE gives the browser rtpengine's new
   * ICE credentials and DTLS certificate (PatientCall.reofferToAgent), its answer goes back to
   * rtpengine. The audio flows meanwhile.
   */
  private async reofferToBrowser(): Promise<void> {
    try {
      const offer = await this.media.reofferToBrowser();
      if (offer === undefined || this.ending) return;
      const answer = await this.browser.reoffer(offer);
      if (this.ending) return;
      await this.media.answerFromBrowser(answer);
      this.log.info(
        { offered: dtlsSetup(offer), answered: dtlsSetup(answer) },
        "the employee's browser took rtpengine's new ICE and DTLS after the restart",
      );
    } catch (err) {
      if (!this.ending) this.log.warn({ err }, "could not renegotiate the browser's media after the rtpengine restart");
    }
  }

  /**
   * Ends the callback with `outcome`: the trunk's INVITE is CANCELled or its dialog BYEd, the browser
   * gets its final error response (`response`, or the outcome's) or a BYE, rtpengine is released, the
   * view recorded `ended` (which releases the task's lock), and the Redis writes awaited. Idempotent.
   */
  end(reason: CallbackEndReason, outcome: CallbackOutcome, response?: [number, string]): Promise<void> {
    this.ending ??= this.finish(reason, outcome, response);
    return this.ending;
  }

  private async finish(
    reason: CallbackEndReason,
    outcome: CallbackOutcome,
    response?: [number, string],
  ): Promise<void> {
    clearTimeout(this.ringTimer);
    clearTimeout(this.durationTimer);
    clearInterval(this.lockTimer);
    const [statusCode, reasonPhrase] =
      response ??
      (outcome === 'answered' || outcome === 'cancelled' ? [487, 'Request Terminated'] : BROWSER_RESPONSE[outcome]);
    // Both sides are told why a callback that reached the policy's longest duration ended (RFC 3326).
    const byeHeaders = reason === 'max-duration' ? [`Reason: ${MAX_DURATION_BYE_REASON}`] : [];
    await Promise.all([this.trunk?.hangUp(byeHeaders), this.browser.hangUp(statusCode, reasonPhrase, byeHeaders)]);
    this.moveTo('ended', { outcome, endedAt: Date.now() });
    await Promise.all([this.media.destroy(), this.writes]);
    this.log.info({ reason, outcome, seconds: (Date.now() - this.view.startedAt) / 1000 }, 'callback ended');
    this.markEnded();
  }

  private onRinging(): void {
    if (this.ending || this.machine.state !== 'dialing') return;
    this.browser.ringing();
    this.moveTo('ringing');
  }

  private onRefused(statusCode: number, reasonPhrase: string): void {
    if (this.ending) return;
    const outcome = outcomeOfFailure(statusCode, this.machine.state === 'ringing');
    this.log.info({ statusCode, reasonPhrase, outcome }, 'the trunk refused the callback');
    void this.end(
      'trunk-refused',
      outcome,
      outcome === 'failed' ? failedResponse(statusCode, reasonPhrase) : undefined,
    );
  }

  private async onAnswered(trunkSdp: string, tag: string): Promise<void> {
    clearTimeout(this.ringTimer);
    if (this.ending) return;
    let sdp: string;
    try {
      sdp = await this.media.answerFromTrunk(tag, trunkSdp);
    } catch (err) {
      if (this.ending) return;
      this.log.error({ err }, "rtpengine refused the patient's answer");
      await this.end('media-failed', 'failed', [503, 'Media Unavailable']);
      return;
    }
    if (this.ending) return;
    if (!this.browser.accept(sdp)) {
      await this.end('cancelled', 'cancelled');
      return;
    }
    this.moveTo('answered', { answeredAt: Date.now() });
    this.log.info('the patient answered the callback');
    // The policy's longest callback: both sides get a BYE, the outcome stays `answered`.
    this.durationTimer = setTimeout(() => {
      this.log.info(
        { seconds: this.maxDurationMs / 1000 },
        'the callback reached the longest the outbound policy allows; hanging up',
      );
      void this.end('max-duration', 'answered');
    }, this.maxDurationMs);
  }

  /** Keeps the task locked while the callback lasts (the step took the lock for it). */
  private keepLock(): void {
    this.deps.store.holdLock(this.grant.taskId, this.id).then(
      (held) => {
        if (!held && !this.ending) this.log.warn('another callback holds the task now');
      },
      (err: unknown) => this.log.warn({ err }, "could not extend the task's callback lock"),
    );
  }

  private moveTo(state: CallbackState, fields: Partial<CallbackView> = {}): void {
    this.machine.moveTo(state);
    this.view = { ...this.view, ...fields, state };
    this.log.info({ state, ...(fields.outcome ? { outcome: fields.outcome } : {}) }, 'callback state changed');
    this.publish();
  }

  /** Queues a write of the current view; writes of one callback reach Redis in order. */
  private publish(): void {
    const snapshot = { ...this.view };
    this.writes = this.writes
      .then(() => this.deps.store.record(snapshot))
      .catch((err: unknown) =>
        this.log.error({ err, state: snapshot.state }, 'could not record the callback in Redis'),
      );
  }
}

/**
 * What the browser is told when the trunk failed the call: the trunk's own status where it means the
 * same to the browser (404 for a number that does not exist, 503 …), never a challenge or a redirect,
 * which the browser would act on.
 */
function failedResponse(statusCode: number, reasonPhrase: string): [number, string] {
  if (statusCode < 400 || statusCode === 401 || statusCode === 407 || statusCode > 699) return [502, 'Callback Failed'];
  return [statusCode, reasonPhrase || 'Callback Failed'];
}
