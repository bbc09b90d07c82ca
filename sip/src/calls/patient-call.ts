import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CallState, CallView } from '@deskline/protocol';
import type { IncomingInviteRequest, Session } from 'sip.js/lib/core/index.js';
import { MediaSession } from '../media/media-session.js';
import type { RtpEngine } from '../media/rtpengine.js';
import { heldAfterRestart } from '../media/rtpengine-watch.js';
import type { Agent, AgentStore } from '../routing/agent-store.js';
import type { Dialer, DialogServices } from '../sip/sip-stack.js';
import type { AdoptionProbes } from './adoption-probes.js';
import { AgentLeg, type AgentGone } from './agent-leg.js';
import type { CallSipChange, CallSipState, RingSnapshot } from './call-sip-state.js';
import type { CallStore } from './call-store.js';
import { CallStateMachine } from './call-state-machine.js';
import { PatientLeg } from './patient-leg.js';
import { PostDialTimings, type PostDialStep } from './post-dial-timings.js';
import type { CallStep } from './steps/call-step.js';
import { IntroStep } from './steps/intro.js';
import { RingAgentStep, type RingFailure } from './steps/ring-agent.js';
import { TalkStep } from './steps/talk.js';
import { WaitWithAnnouncementsStep, type AnnouncementServices } from './steps/wait-with-announcements.js';
import { HOLD_MUSIC_REPEATS, WaitWithMusicStep } from './steps/wait-with-music.js';

/** How long a stop waits for a ringing workstation to answer the CANCEL before the process goes. */
const RING_CANCEL_WAIT_MS = 2_000;

/** What a call tells the router. */
export interface RoutingHooks {
  /**
   * Something changed that may let the router pair a call with an agent (`trigger` is for the log).
   * Settles once a routing pass begun after it is over, whatever it found.
   */
  wake(trigger: string): Promise<void>;
  /** A ring ended without an answer. */
  ringFailed(agent: Agent, failure: RingFailure): void;
}

/** What an adopted call needs of the SIP stack beyond its dialogs: CANCEL a ring the dead process left. */
export interface StaleRings {
  cancelStaleInvite(ring: RingSnapshot): void;
}

export interface PatientCallDeps {
  rtpengine: RtpEngine;
  store: CallStore;
  agents: AgentStore;
  dialer: Dialer;
  dialogs: DialogServices & StaleRings;
  routing: RoutingHooks;
  introFile: string;
  holdMusicFile: string;
  skipIntro: boolean;
  ringTimeoutMs: number;
  /** PATIENT_KEEPALIVE_SECONDS, in ms. */
  keepaliveMs: number;
  /** The queue of adopted calls' first keepalives (one per process). */
  adoptionProbes: AdoptionProbes;
  /** Announcements while waiting (the call plan's); without them, the hold music alone. */
  announcements?: AnnouncementServices;
}

/** Why a call ended, for the log line. */
export type EndReason =
  | 'cancelled'
  | 'patient-hung-up'
  | 'patient-vanished'
  | 'agent-hung-up'
  | 'agent-vanished'
  | 'no-ack'
  | 'no-usable-answer'
  | 'media-failed'
  | 'media-lost'
  | 'failed'
  | 'shutdown';

/** A call another process left, as its Redis records have it: the view, and the SIP state to go on with. */
export interface AdoptedCall {
  view: CallView;
  sip: Required<Pick<CallSipState, 'patient' | 'media'>> & CallSipState;
}

/**
 * One patient's call, from the INVITE (or its adoption after a restart) to the last cleanup. It owns
 * the patient's leg, the agent's leg once answered, the rtpengine allocation, the call's record in
 * Redis and the agent it has claimed; every way the call can end goes through `end()`, which
 * releases all of them.
 *
 * The call is published to Redis once the patient's ACK confirms it (state intro), together with
 * what another process would need to carry on with it (`call-sip:<id>`), or once their BYE does when
 * it overtook the ACK (then abandoned at once); a call cancelled or refused before that leaves no
 * trace there.
 */
export class PatientCall {
  readonly id: string;
  readonly log: Logger;
  private readonly machine: CallStateMachine;
  private readonly media: MediaSession;
  private view: CallView;
  /** The INVITE, until it is answered; adopted calls have none. */
  private readonly request: IncomingInviteRequest | undefined;
  private leg: PatientLeg | undefined;
  private step: CallStep | undefined;
  /** The agent claimed for this call (ringing or on the call), until released in Redis. */
  private agent: Agent | undefined;
  private agentLeg: AgentLeg | undefined;
  /** The waiting state has reached Redis (calls:waiting), so a claim can find the call there. */
  private queued = false;
  private published = false;
  private cancelled = false;
  private writes: Promise<void> = Promise.resolve();
  /** Settles once the latest write has been handed to the Redis connection (not yet answered). */
  private lastSent: Promise<void> = Promise.resolve();
  /** A new call's way to its first ring, at debug level; adopted calls have none. */
  private timings: PostDialTimings | undefined;
  private ending: Promise<void> | undefined;
  private markEnded!: () => void;
  /** Settles once the call has ended and everything it held is released. */
  readonly ended = new Promise<void>((resolve) => (this.markEnded = resolve));

  private constructor(
    init: { id: string; view: CallView; media: (log: Logger) => MediaSession; request?: IncomingInviteRequest },
    private readonly deps: PatientCallDeps,
    parentLog: Logger,
  ) {
    this.id = init.id;
    this.view = init.view;
    this.log = parentLog.child({ callId: this.id });
    this.machine = new CallStateMachine(init.view.state);
    this.media = init.media(this.log);
    this.request = init.request;
  }

  /** A new call: the INVITE the chain admitted. `answer()` takes it on. */
  static fromInvite(
    request: IncomingInviteRequest,
    line: string,
    deps: PatientCallDeps,
    log: Logger,
    receivedAt = performance.now(),
  ): PatientCall {
    const id = randomUUID();
    const message = request.message;
    const call = new PatientCall(
      {
        id,
        view: {
          id,
          from: message.from.uri.user ?? message.from.uri.toString(),
          line,
          state: 'intro',
          startedAt: Date.now(),
        },
        media: (callLog) => new MediaSession(deps.rtpengine, id, message.fromTag, callLog),
        request,
      },
      deps,
      log,
    );
    request.delegate = { onCancel: () => call.onCancel() };
    call.timings = new PostDialTimings(call.log, receivedAt);
    call.timings.mark('admitted');
    return call;
  }

  /**
   * A call whose process died, taken over (the caller has made this instance its owner in Redis):
   * its patient's dialog is rebuilt in this process's SIP stack and its rtpengine session, which
   * outlived that process, is used as it is. `resume()` takes it on.
   */
  static adopt(adopted: AdoptedCall, deps: PatientCallDeps, log: Logger): PatientCall {
    const { view, sip } = adopted;
    const call = new PatientCall(
      { id: view.id, view, media: (callLog) => MediaSession.restore(deps.rtpengine, view.id, sip.media, callLog) },
      deps,
      log,
    );
    call.published = true;
    call.leg = call.patientLeg(deps.dialogs.restoreDialog(sip.patient), true);
    return call;
  }

  /** For the router's steps of the post-dial delay (PostDialTimings). */
  markPostDial(step: PostDialStep): void {
    this.timings?.mark(step);
  }

  get state(): CallState {
    return this.machine.state;
  }

  /** When the call joined the queue; a ring that fails keeps it. */
  get queuedAt(): number | undefined {
    return this.view.queuedAt;
  }

  /**
   * Waiting in Redis as well as here, with a patient who is provably there (PatientLeg.alive): the
   * router may claim an agent for it.
   */
  get routable(): boolean {
    return this.queued && this.machine.state === 'waiting' && !this.ending && (this.leg?.alive ?? false);
  }

  /** Sets up media in rtpengine and answers 200 with its SDP; the intro starts on the ACK. */
  async answer(): Promise<void> {
    const request = this.request;
    if (!request) throw new Error('an adopted call has no INVITE to answer');
    // The chain let through an INVITE with an SDP offer that carries audio, or one without a body.
    const lateOffer = request.message.body.trim() === '';
    let sdp: string;
    try {
      sdp = lateOffer ? await this.media.offerForPatient() : await this.media.answerForQueue(request.message.body);
    } catch (err) {
      if (this.cancelled) return;
      this.log.error({ err }, 'rtpengine could not set up media; refusing the call with 503');
      this.respond(503, 'Media Unavailable');
      await this.end('media-failed');
      return;
    }
    if (this.cancelled) return;
    this.timings?.mark('media-answered');
    try {
      const { session } = request.accept({
        statusCode: 200,
        body: { contentDisposition: 'session', contentType: 'application/sdp', content: sdp },
      });
      this.leg = this.patientLeg(session, false, lateOffer);
      this.timings?.mark('ok-sent');
    } catch (err) {
      this.log.error({ err }, 'could not answer the INVITE');
      await this.end('failed');
      return;
    }
    this.log.info({ line: this.view.line, from: this.view.from, lateOffer }, 'answered the patient');
  }

  /**
   * Carries on with an adopted call where its process left it, as far as this process can:
   *   - intro, waiting: the hold music again, and back in the queue with the call's original queuedAt
   *     (a call still in its intro joins it now);
   *   - ringing: the ring is CANCELled, the agent made available, and the call waits again as above;
   *   - bridged: the agent's dialog is rebuilt too, and the two talk on; either one's BYE ends the call.
   * Whatever the state, the patient's leg (and a bridged call's agent leg) is asked at once with an
   * in-dialog OPTIONS (AdoptionProbes): a hang-up lost while no sip app was connected ends the call
   * within a second or two of the adoption, as the keepalive would (patient- or agent-vanished).
   * A bridged call whose agent dialog was not written down is ended, with a BYE to the patient.
   */
  async resume(sip: CallSipState): Promise<void> {
    const state = this.machine.state;
    this.log.info({ state, queuedAt: this.view.queuedAt }, 'adopted a call whose sip app instance is gone');
    if (state === 'intro') {
      this.enterWaiting();
      return;
    }
    if (state === 'waiting') {
      // Written again, so that calls:waiting has it even if the dead process had claimed an agent
      // for it (which takes it out) without living to record the ring.
      this.publish();
      this.waitInQueue('adopted');
      return;
    }
    if (state === 'ringing') {
      await this.abandonStaleRing(sip.ring);
      return;
    }
    if (state === 'bridged') {
      await this.resumeTalk(sip);
      return;
    }
  }

  /**
   * Rings an agent the router has claimed in Redis (agent `ringing`, call out of calls:waiting).
   * False when the call is no longer waiting; the claim is then the router's to undo.
   */
  ring(agent: Agent): boolean {
    if (!this.routable) return false;
    this.timings?.mark('claimed');
    const musicNotAsked = this.step instanceof WaitWithMusicStep && !this.step.asked;
    this.agent = agent;
    this.queued = false;
    this.moveTo('ringing', { agentUserId: agent.userId, workstationId: agent.workstationId });
    this.runStep(
      new RingAgentStep({
        media: this.media,
        dialer: this.deps.dialer,
        agent,
        callId: this.id,
        callerNumber: this.view.from,
        timeoutMs: this.deps.ringTimeoutMs,
        log: this.log,
        onAnswered: (leg) => this.onAgentAnswered(agent, leg),
        onFailed: (failure, tag) => void this.onRingFailed(agent, failure, tag),
        onInviteSent: (ring) => {
          this.saveSip({ set: { ring } });
          this.timings?.mark('invite-sent');
          this.timings?.report();
        },
        ...(this.timings ? { timings: this.timings } : {}),
      }),
    );
    // The ring's offer is rtpengine's first: the music after it, so the patient hears it while it rings.
    if (musicNotAsked) void this.playHoldMusic();
    return true;
  }

  /**
   * rtpengine restarted (RtpengineWatch). It got its calls back from its Redis keyspace, forwarding
   * included, but not what it was playing: a call in its intro hears the intro again from the start,
   * a waiting or ringing patient the hold music; a bridged call needs nothing. A call that rtpengine
   * did not get back (no keyspace, or Redis could not be written) has no media any more: it is ended
   * with a BYE rather than left in silence.
   */
  async afterRtpengineRestart(): Promise<void> {
    // Before the answer, the offer or answer to rtpengine fails by itself and the call is refused.
    if (this.ending || !this.leg) return;
    const held = await heldAfterRestart(this.media, this.log);
    if (held === undefined || this.ending) return;
    if (!held) {
      this.log.error(
        'rtpengine restarted without this call (its Redis keyspace did not have it); hanging up rather than leave the line silent',
      );
      await this.end('media-lost', { bye: true });
      return;
    }
    const state = this.machine.state;
    this.log.info({ state }, 'rtpengine restarted with the call; restoring what the patient hears');
    if (state === 'intro' && this.step instanceof IntroStep) {
      this.runStep(new IntroStep(this.media, this.deps.introFile, this.log, () => this.enterWaiting()));
    } else if (state === 'waiting') {
      this.runStep(this.waitStep());
    } else if (state === 'ringing') {
      await this.playHoldMusic();
    } else if (state === 'bridged') {
      await this.reofferToAgent();
    }
  }

  /**
   * A bridged call with a browser after an rtpengine restart: a re-INVITE with rtpengine's new offer
   * (new ICE credentials and DTLS certificate), its answer back to rtpengine. The audio flows on
   * meanwhile. A browser that refuses it (logged) stops sending some 10 s later: the patient then
   * hears nothing from the agent, who can still hang up.
   */
  private async reofferToAgent(): Promise<void> {
    const leg = this.agentLeg;
    const tag = this.media.agentTag;
    if (!leg || !tag) return;
    try {
      const offer = await this.media.reofferToAgent();
      if (offer === undefined || this.ending) return;
      const answer = await leg.reoffer(offer);
      if (this.ending) return;
      await this.media.answerFromAgent(tag, answer);
      const agentDialog = leg.snapshot();
      if (agentDialog) this.saveSip({ set: { agent: agentDialog, media: this.media.snapshot() } });
      this.log.info("the agent's browser took rtpengine's new ICE and DTLS after the restart");
    } catch (err) {
      if (!this.ending) this.log.warn({ err }, "could not renegotiate the agent's media after the rtpengine restart");
    }
  }

  /**
   * Ends the call: stops the current step (a ringing agent gets CANCEL), sends BYE to the agent of a
   * bridged call and to the patient when asked (and the dialog allows it), records the final state,
   * releases rtpengine and the agent, and waits for the Redis writes. Idempotent.
   */
  end(reason: EndReason, options: { bye?: boolean; byeHeaders?: string[] } = {}): Promise<void> {
    this.ending ??= this.finish(reason, options.bye ?? false, options.byeHeaders);
    return this.ending;
  }

  /**
   * The process stops and the call goes on in rtpengine for the next instance to adopt, as after a
   * crash, but handed over tidily: the patient gets no BYE and the media is left running; a ring is
   * CANCELled (no ghost ring), its agent made available and the call waits again with its place and
   * the hold music; a call in its intro joins the queue now; the dialogs as they are now (CSeqs, the
   * agent's) are written down. A call not yet in Redis (before the patient's ACK) cannot be adopted
   * and is ended as by `end()`. Idempotent with `end()`.
   */
  leave(): Promise<void> {
    if (!this.published) return this.end('shutdown', { bye: true });
    this.ending ??= this.handOver();
    return this.ending;
  }

  private async handOver(): Promise<void> {
    const step = this.step;
    step?.stop();
    this.leg?.detach();
    this.agentLeg?.detach();
    const state = this.machine.state;
    if (state === 'ringing') {
      if (step instanceof RingAgentStep) {
        await step.settled(RING_CANCEL_WAIT_MS);
        await this.media
          .dropAgent(step.tag)
          .catch((err: unknown) =>
            this.log.warn({ err, tag: step.tag }, "could not delete the ring's rtpengine branch"),
          );
      }
      this.backToWaiting();
      await this.playHoldMusic();
      await this.releaseAgent();
    } else if (state === 'intro' || (step instanceof WaitWithMusicStep && !step.asked)) {
      // A call that has not had its music yet (in its intro, or waiting for its first routing pass).
      if (state === 'intro') this.moveTo('waiting', { queuedAt: Date.now() });
      await this.playHoldMusic();
    }
    const agentDialog = this.agentLeg?.snapshot();
    const sip: CallSipChange = { set: { ...this.sipState(), ...(agentDialog ? { agent: agentDialog } : {}) } };
    this.writes = this.writes
      .then(() => this.deps.store.saveSip(this.id, sip))
      .catch((err: unknown) => this.log.error({ err }, "could not write the call's SIP state to Redis"));
    await this.writes;
    this.leg?.handedOver();
    this.agentLeg?.handedOver();
    this.log.info({ state: this.machine.state }, 'left the call for the next sip app instance');
    this.markEnded();
  }

  /** The hold music from the start; a failure leaves it to the instance that adopts the call. */
  private async playHoldMusic(): Promise<void> {
    await this.media
      .playToPatient(this.deps.holdMusicFile, HOLD_MUSIC_REPEATS)
      .catch((err: unknown) => this.log.warn({ err }, 'could not play the hold music'));
  }

  private async finish(reason: EndReason, byePatient: boolean, byeHeaders?: string[]): Promise<void> {
    this.step?.stop();
    await Promise.all([byePatient ? this.leg?.hangUp(byeHeaders) : this.leg?.close(), this.agentLeg?.hangUp()]);
    // A patient who had our 200 reached the clinic, ACK or not: a BYE that overtook the ACK, an ACK
    // lost on the way (no-ack), a late offer's ACK with no usable answer, a stop before the ACK. The
    // call is recorded as the ACK would have recorded it (intro), then abandoned below, so that the
    // patient gets their callback task.
    if (!this.published && this.leg) this.publish();
    if (this.published && !this.machine.isFinal) {
      this.moveTo(this.machine.state === 'bridged' ? 'ended' : 'abandoned', { endedAt: Date.now() });
    }
    await Promise.all([this.media.destroy(), this.writes]);
    await this.releaseAgent();
    this.log.info(
      { reason, state: this.machine.state, seconds: (Date.now() - this.view.startedAt) / 1000 },
      'call ended',
    );
    this.markEnded();
  }

  /** `confirmed`: an adopted dialog, whose patient is asked at once (in turn with the other adopted calls). */
  private patientLeg(session: Session, confirmed: boolean, lateOffer = false): PatientLeg {
    return new PatientLeg(
      session,
      {
        dialogs: this.deps.dialogs,
        media: this.media,
        keepaliveMs: this.deps.keepaliveMs,
        log: this.log,
        confirmed,
        lateOffer,
        ...(confirmed ? { adoptionProbes: this.deps.adoptionProbes } : {}),
      },
      {
        onConfirmed: () => this.onAck(),
        onAckTimeout: () => void this.end('no-ack', { bye: true }),
        // RFC 3326: the patient's side (a PBX, a carrier) learns why the call it set up ended at once.
        onNoAnswer: (why) =>
          void this.end('no-usable-answer', { bye: true, byeHeaders: [`Reason: SIP;cause=488;text="${why}"`] }),
        onHungUp: () => this.onHungUp(),
        onVanished: () => void this.end('patient-vanished'),
        onChanged: () => this.saveSip({ set: this.sipState() }),
        onAliveAgain: () => {
          if (this.routable) void this.deps.routing.wake('patient-alive-again');
        },
      },
    );
  }

  private onCancel(): void {
    if (this.ending) return;
    this.cancelled = true;
    this.respond(487, 'Request Terminated');
    void this.end('cancelled');
  }

  /**
   * The patient hung up. A BYE that overtook their ACK (PatientLeg) still proves they had our 200:
   * `finish` records the call as their ACK would have (intro), and it ends as a hang-up during the
   * intro does, abandoned, so that the patient gets their callback task.
   */
  private onHungUp(): void {
    if (this.ending) return;
    void this.end('patient-hung-up');
  }

  private onAck(): void {
    if (this.ending) return;
    this.timings?.mark('ack');
    this.publish({ set: this.sipState() });
    if (this.deps.skipIntro) {
      this.enterWaiting();
      return;
    }
    this.runStep(new IntroStep(this.media, this.deps.introFile, this.log, () => this.enterWaiting()));
  }

  private enterWaiting(): void {
    if (this.ending) return;
    // Right behind the intro's write when there is no intro (SKIP_INTRO): one round trip less to the queue.
    this.moveTo('waiting', { queuedAt: Date.now() }, undefined, true);
    this.waitInQueue('call-waiting');
  }

  /**
   * Once Redis has the call in calls:waiting, a wake for the router; and the hold music, asked of
   * rtpengine once that wake's routing pass is over (WaitWithMusicStep): an agent free now is offered
   * the call before rtpengine spends its 5–20 ms loading the music, and `ring()` plays it then.
   */
  private waitInQueue(trigger: string): void {
    const routed = this.writes.then(() => {
      if (this.ending || this.machine.state !== 'waiting') return;
      this.queued = true;
      this.timings?.mark('queued');
      return this.deps.routing.wake(trigger);
    });
    this.runStep(this.waitStep(routed));
  }

  /** The hold music, with the plan's announcements when the call has them (WaitWithAnnouncementsStep). */
  private waitStep(after?: Promise<unknown>): WaitWithMusicStep {
    const services = this.deps.announcements;
    const queuedAt = this.view.queuedAt;
    if (!services || queuedAt === undefined)
      return new WaitWithMusicStep(this.media, this.deps.holdMusicFile, this.log, after);
    const call = { id: this.id, queuedAt };
    return new WaitWithAnnouncementsStep(this.media, this.deps.holdMusicFile, this.log, services, call, after);
  }

  private onAgentAnswered(agent: Agent, leg: AgentLeg): void {
    if (this.ending) {
      void leg.hangUp();
      return;
    }
    this.agentLeg = leg;
    const agentDialog = leg.snapshot();
    this.moveTo(
      'bridged',
      { answeredAt: Date.now() },
      { set: { ...this.sipState(), ...(agentDialog ? { agent: agentDialog } : {}) }, remove: ['ring'] },
    );
    this.deps.agents.answered(agent.userId, this.id).then(
      (onCall) => {
        if (onCall === 'paused')
          this.log.info({ userId: agent.userId }, 'the agent paused while it rang: on the call, and still paused');
        else if (!onCall)
          this.log.warn({ userId: agent.userId }, 'the agent answered but their state names another call or none');
      },
      (err: unknown) => this.log.error({ err, userId: agent.userId }, 'could not record the agent on the call'),
    );
    this.keepAgentAlive(agent, leg);
    this.runStep(new TalkStep(this.media, leg, this.log, (gone) => this.onAgentGone(gone)));
  }

  /**
   * The agent's workstation is asked as a patient's phone is (PATIENT_KEEPALIVE_SECONDS). A browser
   * behind a closed WebSocket gets Kamailio's 500 or 477, which count as gone too; a desk phone's 500
   * would be a real answer, so only GONE_STATUSES (404, 408, 481) and a transport error count there.
   * An adopted leg is asked at once (`adopted`): the agent may have hung up while no sip app was
   * connected, their BYE lost (Kamailio's 503), and the patient would sit with nobody until the interval.
   */
  private keepAgentAlive(agent: Agent, leg: AgentLeg, adopted = false): void {
    leg.keepAlive({
      dialogs: this.deps.dialogs,
      intervalMs: this.deps.keepaliveMs,
      ...(adopted ? { adoptionProbes: this.deps.adoptionProbes } : {}),
      ...(agent.kind === 'sip-phone' ? {} : { alsoVanishedOn: [477, 500] }),
      onProbed: () => {
        const agentDialog = leg.snapshot();
        if (agentDialog) this.saveSip({ set: { agent: agentDialog } });
      },
    });
  }

  /** The agent hung up, or their workstation vanished: the patient gets a BYE and the call ends. */
  private onAgentGone(gone: AgentGone): void {
    void this.end(gone === 'vanished' ? 'agent-vanished' : 'agent-hung-up', { bye: true });
  }

  /**
   * Back to the queue with the original queuedAt: the agent's branch goes (which stops the music in
   * rtpengine 10.5, so the music starts again), the agent goes back to available, and the router runs.
   */
  private async onRingFailed(agent: Agent, failure: RingFailure, tag: string): Promise<void> {
    if (this.ending) return;
    this.log.info({ userId: agent.userId, ...failure }, 'the agent did not answer; back to the queue');
    this.media.dropAgent(tag).catch((err: unknown) => {
      if (!this.ending) this.log.warn({ err, tag }, "could not delete the agent's rtpengine branch");
    });
    this.backToWaiting();
    this.deps.routing.ringFailed(agent, failure);
    this.waitInQueue('ring-failed');
    await this.releaseAgent();
  }

  /**
   * An adopted call that was ringing: the workstation's INVITE is CANCELled (it would ring on until
   * Kamailio's 60 s and then be busy for the next call), its rtpengine branch deleted, the agent made
   * available again, and the call waits in the queue as before the ring.
   */
  private async abandonStaleRing(ring: RingSnapshot | undefined): Promise<void> {
    const { agentUserId, workstationId } = this.view;
    if (agentUserId && workstationId) this.agent = await this.deps.agents.reach(agentUserId, workstationId);
    if (ring) {
      this.deps.dialogs.cancelStaleInvite(ring);
      await this.media
        .dropAgent(ring.tag)
        .catch((err: unknown) =>
          this.log.warn({ err, tag: ring.tag }, "could not delete the stale ring's rtpengine branch"),
        );
    } else {
      this.log.warn("the ring's INVITE was not written down; the workstation rings on until Kamailio gives up (60 s)");
    }
    this.backToWaiting();
    this.waitInQueue('adopted');
    await this.releaseAgent();
  }

  /** An adopted bridged call: the agent's dialog is rebuilt and the talk goes on. */
  private async resumeTalk(sip: CallSipState): Promise<void> {
    const { agentUserId, workstationId } = this.view;
    if (!sip.agent || !agentUserId || !workstationId) {
      this.log.warn("the agent's dialog was not written down; ending the call");
      void this.end('failed', { bye: true });
      return;
    }
    this.agent = await this.deps.agents.reach(agentUserId, workstationId);
    const leg = AgentLeg.adopt(this.deps.dialogs.restoreDialog(sip.agent), this.log);
    this.agentLeg = leg;
    this.keepAgentAlive(this.agent, leg, true);
    this.runStep(new TalkStep(this.media, leg, this.log, (gone) => this.onAgentGone(gone), false));
  }

  /** ringing -> waiting: the agent's fields and the ring's INVITE go. */
  private backToWaiting(): void {
    const { agentUserId: _agentUserId, workstationId: _workstationId, ...waiting } = this.view;
    this.view = waiting;
    this.moveTo('waiting', {}, { remove: ['ring'] });
  }

  private async releaseAgent(): Promise<void> {
    const agent = this.agent;
    if (!agent) return;
    this.agent = undefined;
    try {
      const released = await this.deps.agents.release(agent.userId, this.id);
      if (!released)
        this.log.info({ userId: agent.userId }, 'the agent had moved on (logged out, paused, switched): left as is');
    } catch (err) {
      this.log.error({ err, userId: agent.userId }, 'could not make the agent available again');
    }
    void this.deps.routing.wake('agent-released');
  }

  private runStep(step: CallStep): void {
    this.step?.stop();
    this.step = step;
    step.start().catch((err: unknown) => {
      if (this.ending || this.step !== step) return;
      this.log.error({ err, step: step.name }, 'call step failed; hanging up');
      void this.end('media-failed', { bye: true });
    });
  }

  /** `pipelined`: see `queueWrite`. */
  private moveTo(state: CallState, fields: Partial<CallView> = {}, sip?: CallSipChange, pipelined = false): void {
    this.machine.moveTo(state);
    this.view = { ...this.view, ...fields, state };
    this.log.info({ state }, 'call state changed');
    this.publish(sip, pipelined);
  }

  /** What another process needs of the patient's side: the dialog and the media. */
  private sipState(): CallSipState {
    return { ...(this.leg ? { patient: this.leg.snapshot() } : {}), media: this.media.snapshot() };
  }

  /** Queues a write of the current view (and a SIP state change); writes of one call reach Redis in order. */
  private publish(sip?: CallSipChange, pipelined = false): void {
    this.published = true;
    const snapshot = { ...this.view };
    this.queueWrite(
      () => this.deps.store.record(snapshot, sip),
      (err) => this.log.error({ err, state: snapshot.state }, 'could not record the call in Redis'),
      pipelined,
    );
  }

  /** Queues a change of the SIP state alone, for a call in Redis that is not ending. */
  private saveSip(change: CallSipChange): void {
    if (!this.published || this.ending) return;
    this.queueWrite(
      () => (this.ending ? Promise.resolve() : this.deps.store.saveSip(this.id, change)),
      (err) => this.log.error({ err }, "could not write the call's SIP state to Redis"),
    );
  }

  /**
   * A write goes out once the one before it has been answered; a `pipelined` one as soon as the one
   * before it has been sent, which the one connection to Redis keeps in order. `writes` settles once
   * every write so far has been answered.
   */
  private queueWrite(send: () => Promise<void>, onError: (err: unknown) => void, pipelined = false): void {
    const after = pipelined ? this.lastSent : this.writes;
    let markSent!: () => void;
    this.lastSent = new Promise((resolve) => (markSent = resolve));
    const done = after
      .then(() => {
        try {
          return send();
        } finally {
          markSent();
        }
      })
      .catch(onError);
    this.writes = pipelined ? Promise.all([this.writes, done]).then(() => undefined) : done;
  }

  private respond(statusCode: number, reasonPhrase: string): void {
    try {
      this.request?.reject({ statusCode, reasonPhrase });
    } catch (err) {
      this.log.warn({ err, statusCode }, 'could not send the final response');
    }
  }
}
