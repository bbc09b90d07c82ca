import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  DEFAULT_CALL_PLAN,
  openingAt,
  type CallPlan,
  type CallState,
  type CallView,
  type FixedPromptName,
  type Opening,
  type OverflowTarget,
  type Queue,
} from '@deskline/protocol';
import type { IncomingInviteRequest, Session } from 'sip.js/lib/core/index.js';
import { MediaSession } from '../media/media-session.js';
import type { PromptFiles } from '../media/prompt-files.js';
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
import { PlayPromptsStep } from './steps/play-prompts.js';
import { RingAgentStep, type PreparedRing, type RingFailure } from './steps/ring-agent.js';
import { TalkStep } from './steps/talk.js';
import { VoicemailStep, type VoicemailDeps } from './steps/voicemail.js';
import type { CallerNames } from './caller-names.js';
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
  holdMusicFile: string;
  skipIntro: boolean;
  /** PATIENT_KEEPALIVE_SECONDS, in ms. */
  keepaliveMs: number;
  /** The queue of adopted calls' first keepalives (one per process). */
  adoptionProbes: AdoptionProbes;
  /** The call plan, read for each new call (CallPlanStore). */
  plans: { get(): Promise<CallPlan> };
  prompts: PromptFiles;
  /** CLINIC_TIME_ZONE: the plan's hours are in it. */
  timeZone: string;
  /** Voicemail: the recorder's address, the files, the metadata store, the prompts. */
  voicemail: VoicemailDeps;
  /** Announcements while waiting (the call plan's); without them, the hold music alone. */
  announcements?: AnnouncementServices;
  /** The clinic's contacts: the caller's name, shown by the workstations it rings. */
  contacts?: CallerNames;
}

/** The menu and the callback offer play this many times before the call goes on without a key. */
export const PROMPT_ROUNDS = 2;

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
  | 'shutdown'
  /** The closed prompt was played (outside the hours, or an overflow to it). */
  | 'closed'
  /** The patient asked for a callback and heard the confirmation. */
  | 'callback-requested'
  /** The patient left a voicemail message (or tried), and it was kept. */
  | 'voicemail-done';

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
  /** The agents who let this call ring out: the router tries the others first (ring-order.ts). */
  readonly missedBy = new Set<string>();
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
  /** The agent leg's offer, asked of rtpengine ahead of the ring (`prepareRing`). */
  private preparedRing: PreparedRing | undefined;
  /**
   * rtpengine restarted while a workstation rang: the ring's offer carries the old process's ICE
   * credentials and DTLS certificate, so the answer is followed at once by a new offer (`reofferToAgent`).
   */
  private ringOfferStale = false;
  /** The re-INVITE with rtpengine's new offer under way, so that two reasons for one send it once. */
  private reoffering: Promise<void> | undefined;
  /** The call plan, read once per call: at the INVITE (alongside rtpengine's offer) or at the adoption. */
  private plan: CallPlan = DEFAULT_CALL_PLAN;
  private planRead: Promise<CallPlan> | undefined;
  /** The plan's queue the call waits in, once chosen (menu, or the first queue). */
  private queue: Queue | undefined;
  /** The maximum wait (plan.maxWaitSeconds), counted from queuedAt; stopped while an agent rings. */
  private maxWaitTimer: NodeJS.Timeout | undefined;
  /** Builds the prompt step the call is in again (menu, offer, closed, confirmation): after an rtpengine restart. */
  private promptAgain: (() => CallStep) | undefined;
  /** The queue has been chosen (a key in the menu, or none): later keys and the menu's end change nothing. */
  private queueChosen = false;
  private ending: Promise<void> | undefined;
  private markEnded!: () => void;
  /** The caller's name in the clinic's contacts, once looked up (lookUpCallerName). */
  private callerName: string | undefined;
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

  /** The members of the call's queue, who alone may take it ([] = anyone). */
  get memberIds(): readonly string[] {
    return this.queue?.memberIds ?? [];
  }

  /** The patient's From tag: rtpengine reports their keypresses under it. */
  get patientTag(): string {
    return this.media.patientTag;
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
    // The name is looked up during the intro, so that the ring never waits for it.
    this.lookUpCallerName();
    // The plan is read alongside rtpengine's offer: it adds nothing to the post-dial delay.
    this.planRead = this.deps.plans.get().catch((err: unknown) => {
      this.log.error({ err }, 'could not read the call plan; the call goes on with the default plan');
      return DEFAULT_CALL_PLAN;
    });
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
      // A late offer's SDP comes with the ACK: its ring is prepared then (onAck).
      if (!lateOffer) this.prepareRingFor(this.planRead);
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
   * The call plan's states, the simplest way on (docs/call-plan.md): a call in its menu waits in the
   * first queue (as with no key); one hearing the callback offer or the closed prompt hears the
   * closed prompt (again) and is hung up on; one that asked for a callback is hung up on.
   */
  async resume(sip: CallSipState): Promise<void> {
    this.lookUpCallerName();
    const state = this.machine.state;
    this.log.info({ state, queuedAt: this.view.queuedAt }, 'adopted a call whose sip app instance is gone');
    this.plan = await this.deps.plans.get().catch((err: unknown) => {
      this.log.error({ err }, 'could not read the call plan; the call goes on with the default plan');
      return DEFAULT_CALL_PLAN;
    });
    this.queue = this.plan.queues.find((queue) => queue.id === this.view.queueId) ?? this.plan.queues[0];
    if (state === 'intro' || state === 'menu') {
      this.enterWaiting();
      return;
    }
    if (state === 'offer' || state === 'closed') {
      this.closeCall(false);
      return;
    }
    if (state === 'callback-requested') {
      void this.end('callback-requested', { bye: true });
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
    if (state === 'voicemail') {
      // The recording was the dead process's: what it had is lost; the caller is not left in silence.
      this.log.warn('adopted a call that was leaving a voicemail message; the message is lost, hanging up');
      await this.end('failed', { bye: true });
    }
  }

  /** Looks the caller up in the contacts; a ring before the answer, or a failed lookup, shows the number alone. */
  private lookUpCallerName(): void {
    this.deps.contacts
      ?.nameOf(this.view.from)
      .then((name) => {
        this.callerName = name;
      })
      .catch((err: unknown) =>
        this.log.warn({ err }, 'could not look the caller up in the contacts; rings show the number'),
      );
  }

  /**
   * Rings an agent the router has claimed in Redis (agent `ringing`, call out of calls:waiting).
   * False when the call is no longer waiting; the claim is then the router's to undo.
   */
  ring(agent: Agent, options: { timeoutMs: number }): boolean {
    if (!this.routable) return false;
    this.timings?.mark('claimed');
    const musicNotAsked = this.step instanceof WaitWithMusicStep && !this.step.asked;
    const prepared = this.preparedRing?.kind === agent.kind ? this.preparedRing : undefined;
    if (prepared) this.preparedRing = undefined;
    this.ringOfferStale = false;
    clearTimeout(this.maxWaitTimer);
    this.agent = agent;
    this.queued = false;
    this.moveTo('ringing', { agentUserId: agent.userId, workstationId: agent.workstationId });
    this.runStep(
      new RingAgentStep({
        ...(prepared ? { prepared } : {}),
        media: this.media,
        dialer: this.deps.dialer,
        agent,
        callId: this.id,
        callerNumber: this.view.from,
        ...(this.callerName !== undefined ? { callerName: this.callerName } : {}),
        timeoutMs: options.timeoutMs,
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
    // An offer prepared before the restart is forgotten: the next ring makes its own.
    this.preparedRing = undefined;
    // A ring under way was offered by the old process: its answer gets the new one (onAgentAnswered).
    if (this.machine.state === 'ringing') this.ringOfferStale = true;
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
    if (state === 'waiting') {
      this.runStep(this.waitStep());
    } else if (state === 'ringing') {
      await this.playHoldMusic();
    } else if (state === 'bridged') {
      await this.reofferToAgent();
    } else if (this.promptAgain) {
      // intro, menu, offer, closed, callback-requested: the prompt (in each language) from the start.
      this.runStep(this.promptAgain());
    }
  }

  /**
   * A bridged call with a browser after an rtpengine restart: a re-INVITE with rtpengine's new offer
   * (new ICE credentials and DTLS certificate), its answer back to rtpengine. The audio flows on
   * meanwhile. A browser that refuses it (logged) stops sending some 10 s later: the patient then
   * hears nothing from the agent, who can still hang up. A browser that answered a ring offered
   * before the restart gets it as soon as it answers: until then neither side hears the other.
   * One at a time: a second reason while one is under way waits for it.
   */
  private reofferToAgent(): Promise<void> {
    this.reoffering ??= this.sendReofferToAgent().finally(() => (this.reoffering = undefined));
    return this.reoffering;
  }

  private async sendReofferToAgent(): Promise<void> {
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
    // Over in Redis already (its task is on the board): no instance would adopt it, so it is hung up now.
    if (this.machine.state === 'callback-requested') return this.end('callback-requested', { bye: true });
    // A message being left is kept as it is, and the call ends: no other instance could go on recording it.
    if (this.machine.state === 'voicemail') return this.end('shutdown', { bye: true });
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
    } else if (state === 'intro' || state === 'menu' || (step instanceof WaitWithMusicStep && !step.asked)) {
      // A call that has not had its music yet (in its intro or menu, or waiting for its first routing pass).
      if (state === 'intro' || state === 'menu') this.moveTo('waiting', { queuedAt: Date.now() });
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
      .playToPatient(this.musicFile, HOLD_MUSIC_REPEATS)
      .catch((err: unknown) => this.log.warn({ err }, 'could not play the hold music'));
  }

  private async finish(reason: EndReason, byePatient: boolean, byeHeaders?: string[]): Promise<void> {
    clearTimeout(this.maxWaitTimer);
    this.step?.stop();
    clearTimeout(this.maxWaitTimer);
    await Promise.all([byePatient ? this.leg?.hangUp(byeHeaders) : this.leg?.close(), this.agentLeg?.hangUp()]);
    // What the patient said before hanging up is kept (VoicemailStep.save), before the media goes.
    const message = this.step instanceof VoicemailStep ? await this.step.save() : undefined;
    // A patient who had our 200 reached the clinic, ACK or not: a BYE that overtook the ACK, an ACK
    // lost on the way (no-ack), a late offer's ACK with no usable answer, a stop before the ACK. The
    // call is recorded as the ACK would have recorded it (intro), then abandoned below, so that the
    // patient gets their callback task.
    if (!this.published && this.leg) this.publish();
    const state = this.machine.state;
    if (this.published && state === 'closed' && this.view.endedAt === undefined) {
      // Closed is final once the call is over, whoever hung up: not a missed call.
      this.view = { ...this.view, endedAt: Date.now() };
      this.publish();
    } else if (this.published && !this.machine.isFinal && state !== 'closed') {
      if (state === 'bridged') this.moveTo('ended', { endedAt: Date.now() });
      else if (state === 'voicemail' && message)
        this.moveTo('message-left', { endedAt: Date.now(), voicemailId: message.id });
      else this.moveTo('abandoned', { endedAt: Date.now(), abandonedIn: state });
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
    this.prepareRingFor(this.planRead);
    // Read since the INVITE: settled long before the ACK.
    const planRead = this.planRead ?? Promise.resolve(DEFAULT_CALL_PLAN);
    void planRead.then((plan) => this.arrive(plan));
  }

  /**
   * The patient is on the line (ACK): outside the hours, the closed prompt (no intro); else the intro
   * prompt in each of the plan's languages in turn (a manager's upload, else the built-in one; the
   * default plan's English when no plan is stored), then the menu or the queue (docs/call-plan.md,
   * "What a caller hears").
   */
  private arrive(plan: CallPlan): void {
    if (this.ending) return;
    this.plan = plan;
    let opening: Opening = { open: true };
    try {
      opening = openingAt(plan, this.deps.timeZone, new Date());
    } catch (err) {
      this.log.error({ err }, 'could not tell whether the clinic is open; the call is taken as in the hours');
    }
    if (!opening.open) {
      this.log.info({ closure: opening.closure?.reason ?? null }, 'call outside the opening hours');
      this.closeCall(true);
      return;
    }
    if (this.deps.skipIntro) {
      this.afterIntro();
      return;
    }
    this.playPrompt('intro', 1, () => this.afterIntro());
  }

  /** With more than one queue that has a key, the menu; else the first queue. */
  private afterIntro(): void {
    if (this.ending) return;
    const choices = this.plan.queues.filter((queue) => queue.digit !== null);
    if (choices.length < 2) {
      void this.joinQueue(this.plan.queues[0]);
      return;
    }
    this.moveTo('menu');
    this.playPrompt('menu', PROMPT_ROUNDS, () => {
      this.log.info('no key in the menu: the first queue');
      void this.joinQueue(this.plan.queues[0]);
    });
  }

  /**
   * The call's queue is chosen: with plan.nobodyAvailable set and nobody who can take the queue on
   * duty (on a workstation, not paused), the overflow at once; else the queue.
   */
  private async joinQueue(queue: Queue | undefined): Promise<void> {
    if (this.ending || this.queueChosen) return;
    this.queueChosen = true;
    this.queue = queue;
    // The board files the call under its queue from now on, also when it overflows at once.
    this.view = { ...this.view, ...this.queueIdField() };
    const target = this.plan.nobodyAvailable;
    if (target !== null) {
      let onDuty = true;
      try {
        onDuty = await this.deps.agents.anyoneOnDuty(queue?.memberIds ?? []);
      } catch (err) {
        this.log.warn({ err }, 'could not tell whether anyone can take the call; it waits');
      }
      if (this.ending) return;
      if (!onDuty) {
        this.log.info({ queueId: queue?.id, target }, 'nobody can take the queue now: the overflow');
        this.overflow(target);
        return;
      }
    }
    this.enterWaiting();
  }

  /** The call's queue for its view: named only when the plan has more than one. */
  private queueIdField(): Pick<CallView, 'queueId'> {
    return this.plan.queues.length > 1 && this.queue ? { queueId: this.queue.id } : {};
  }

  private enterWaiting(): void {
    if (this.ending) return;
    this.step?.stop();
    this.queue ??= this.plan.queues[0];
    // Right behind the intro's write when there is no intro (SKIP_INTRO): one round trip less to the queue.
    this.moveTo('waiting', { queuedAt: Date.now(), ...this.queueIdField() }, undefined, true);
    this.waitInQueue('call-waiting');
    this.armMaxWait();
  }

  /**
   * The patient leaves a message (VoicemailStep): out of the queue, the greeting, the recording. Once
   * it is over with the patient still there, the message is kept, `voicemail-saved` plays, and the
   * clinic hangs up; a hang-up keeps what was said (`finish`). Ends `message-left` with the message's
   * id, or `abandoned` in voicemail when there was no message (less than 1 s of sound).
   */
  private startVoicemail(): void {
    if (this.ending) return;
    clearTimeout(this.maxWaitTimer);
    this.queued = false;
    this.moveTo('voicemail');
    const step: VoicemailStep = new VoicemailStep({
      media: this.media,
      deps: this.deps.voicemail,
      languages: this.plan.languages,
      maxSeconds: this.plan.voicemail.maxSeconds,
      call: { id: this.id, from: this.view.from, line: this.view.line },
      log: this.log,
      onRecorded: () => void this.afterMessage(step),
    });
    this.runStep(step);
  }

  /** The message is over and the patient is on the line: `voicemail-saved` (when one was kept), then BYE. */
  private async afterMessage(step: VoicemailStep): Promise<void> {
    const message = await step.save();
    if (this.ending) return;
    if (message) {
      for (const language of this.plan.languages) {
        if (this.ending) return;
        try {
          const file = this.deps.voicemail.prompts.prompt(language, 'voicemail-saved');
          const { durationMs } = await this.media.playToPatient(file, 1);
          await new Promise((resolve) => setTimeout(resolve, durationMs ?? 0));
        } catch (err) {
          if (!this.ending) this.log.warn({ err, language }, 'could not play voicemail-saved');
        }
      }
    }
    await this.end('voicemail-done', { bye: true });
  }

  /**
   * Once the write that puts the call in calls:waiting has been handed to the Redis connection, a wake
   * for the router: the router's reads and its claim go on the same connection, so Redis runs them
   * after that write, and the routing pass need not wait for the write's answer. The hold music is
   * asked of rtpengine once that wake's routing pass is over (WaitWithMusicStep): an agent free now is
   * offered the call before rtpengine spends its 5–20 ms loading the music, and `ring()` plays it then.
   */
  private waitInQueue(trigger: string): void {
    const routed = this.lastSent.then(() => {
      if (this.ending || this.machine.state !== 'waiting') return;
      this.queued = true;
      this.timings?.mark('queued');
      // Still waiting after the pass: the prepared branch goes before the music (a ringing call keeps
      // it: deleting a branch stops rtpengine's music).
      return this.deps.routing
        .wake(trigger)
        .then(() => (this.machine.state === 'waiting' ? this.dropPreparedRing() : undefined));
    });
    this.runStep(this.waitStep(routed));
    this.promptAgain = undefined;
    this.armMaxWait();
  }

  /**
   * A key the patient pressed (KeypressListener): in the menu, a queue's key picks it; while waiting,
   * plan.keypad.callbackDigit asks for a callback and voicemailDigit leaves a message; in the callback
   * offer, the callback key. Any other key, or a key in another state, is ignored.
   */
  onKey(key: string): void {
    if (this.ending) return;
    const state = this.machine.state;
    const { keypad } = this.plan;
    this.log.info({ key, state }, 'the patient pressed a key');
    // A key ends a message (the recorder also hears keys in the copied audio; the first one counts).
    if (state === 'voicemail' && this.step instanceof VoicemailStep) {
      this.step.onDigit(key);
      return;
    }
    if (state === 'menu') {
      const queue = this.plan.queues.find((candidate) => candidate.digit === key);
      if (queue && !this.queueChosen) {
        this.step?.stop();
        void this.joinQueue(queue);
      }
      return;
    }
    if ((state === 'waiting' || state === 'offer') && key === keypad.callbackDigit) {
      this.requestCallback();
      return;
    }
    if (state === 'waiting' && key === keypad.voicemailDigit) this.startVoicemail();
  }

  /**
   * Out of the queue to `target` (plan.nobodyAvailable, or plan.overflow after the maximum wait):
   * the callback offer, the closed message, or voicemail. The one place the overflow is decided.
   */
  private overflow(target: OverflowTarget): void {
    if (this.ending) return;
    clearTimeout(this.maxWaitTimer);
    this.queued = false;
    if (target === 'voicemail') {
      this.startVoicemail();
      return;
    }
    if (target === 'callback-offer' && this.plan.keypad.callbackDigit !== null) {
      this.moveTo('offer');
      this.playPrompt('callback-offer', PROMPT_ROUNDS, () => this.closeCall(false));
      return;
    }
    if (target === 'callback-offer') this.log.warn('a callback offer needs keypad.callbackDigit; the closed message');
    this.closeCall(false);
  }

  /**
   * The closed prompt, then the clinic hangs up (or, outside the hours with closedAction voicemail, a
   * message). Final `closed` once over, whoever hangs up.
   */
  private closeCall(afterHours: boolean): void {
    if (this.ending) return;
    clearTimeout(this.maxWaitTimer);
    this.queued = false;
    if (this.machine.state !== 'closed') this.moveTo('closed', afterHours ? { afterHours: true } : {});
    this.playPrompt('closed', 1, () => {
      if (afterHours && this.plan.closedAction === 'voicemail') this.startVoicemail();
      else void this.end('closed', { bye: true });
    });
  }

  /** The callback key: final at once (the task keeps the caller's queuedAt), then the confirmation and BYE. */
  private requestCallback(): void {
    clearTimeout(this.maxWaitTimer);
    this.queued = false;
    this.moveTo('callback-requested', { endedAt: Date.now() });
    this.playPrompt('callback-confirmed', 1, () => void this.end('callback-requested', { bye: true }));
  }

  /** A prompt in each of the plan's languages in turn, `rounds` times, then `onFinished`. */
  private playPrompt(name: FixedPromptName, rounds: number, onFinished: () => void): void {
    const files = this.deps.prompts.promptInEach(this.plan.languages, name);
    const build = (): CallStep => new PlayPromptsStep(name, this.media, files, rounds, this.log, onFinished);
    this.promptAgain = build;
    this.runStep(build());
  }

  /**
   * plan.maxWaitSeconds after queuedAt, the overflow (plan.overflow). Armed whenever the call waits
   * (again): a ring stops it, a failed ring arms it for what is left, at once when nothing is.
   */
  private armMaxWait(): void {
    clearTimeout(this.maxWaitTimer);
    const maxMs = this.plan.maxWaitSeconds * 1000;
    if (maxMs <= 0 || this.view.queuedAt === undefined) return;
    const leftMs = Math.max(0, this.view.queuedAt + maxMs - Date.now());
    this.maxWaitTimer = setTimeout(() => {
      if (this.ending || this.machine.state !== 'waiting') return;
      this.log.info({ maxWaitSeconds: this.plan.maxWaitSeconds }, 'the maximum wait is over: the overflow');
      this.overflow(this.plan.overflow);
    }, leftMs);
  }

  /**
   * Asks rtpengine for the agent leg's offer ahead of the first ring, for a browser (most workstations
   * are): its WebRTC offer takes 1–2 ms, which then runs while the patient's ACK comes and the call is
   * queued and an agent claimed, instead of after (bench/README.md, "Post-dial delay"). `ring()` takes
   * it for a browser; a desk phone's ring makes its own. Only for a plan without keys (no menu,
   * callback or voicemail key): while rtpengine has a second branch for the patient's audio it reports
   * none of their keys (RFC 4733 events), even once that branch is deleted. Whatever the first routing
   * pass leaves unused is deleted before the hold music starts (`dropPreparedRing`), so that a waiting
   * call holds no second branch and its ports. A failed one is forgotten.
   */
  private prepareRingFor(planRead: Promise<CallPlan> | undefined): void {
    if (!planRead || this.preparedRing || this.ending) return;
    void planRead.then(
      (plan) => {
        const { keypad, queues } = plan;
        if (keypad.callbackDigit !== null || keypad.voicemailDigit !== null || queues.some((q) => q.digit !== null))
          return;
        if (this.preparedRing || this.ending || this.machine.isFinal) return;
        const tag = `agent-${randomUUID()}`;
        const sdp = this.media.offerToAgent(tag, 'browser');
        const prepared: PreparedRing = { tag, kind: 'browser', sdp };
        this.preparedRing = prepared;
        sdp.catch((err: unknown) => {
          if (this.preparedRing === prepared) this.preparedRing = undefined;
          if (!this.ending)
            this.log.debug({ err, tag }, "rtpengine could not prepare the agent's offer; the ring will ask");
        });
      },
      () => undefined,
    );
  }

  /** The prepared offer the routing pass did not use: its branch is deleted before the music is asked. */
  private dropPreparedRing(): Promise<void> | undefined {
    const prepared = this.preparedRing;
    if (!prepared) return undefined;
    this.preparedRing = undefined;
    return this.media.dropAgent(prepared.tag).catch((err: unknown) => {
      if (!this.ending) this.log.debug({ err, tag: prepared.tag }, 'could not delete the unused prepared branch');
    });
  }

  /** The hold music, with the plan's announcements when the call has them (WaitWithAnnouncementsStep). */
  private waitStep(after?: Promise<unknown>): WaitWithMusicStep {
    const services = this.deps.announcements;
    const queuedAt = this.view.queuedAt;
    if (!services || queuedAt === undefined) return new WaitWithMusicStep(this.media, this.musicFile, this.log, after);
    const call = { id: this.id, queuedAt };
    return new WaitWithAnnouncementsStep(this.media, this.musicFile, this.log, services, call, after);
  }

  /** The hold music of the call's queue (a manager's upload, or the built-in loop). */
  private get musicFile(): string {
    return this.queue ? this.deps.prompts.music(this.queue.musicId) : this.deps.holdMusicFile;
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
    if (this.ringOfferStale) {
      this.ringOfferStale = false;
      this.log.info('answered a ring offered before the rtpengine restart: renegotiating its media');
      void this.reofferToAgent();
    }
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
    const missed = failure.reason === 'no-answer';
    if (missed) this.missedBy.add(agent.userId);
    this.deps.routing.ringFailed(agent, failure);
    this.waitInQueue('ring-failed');
    await this.releaseAgent({ missed });
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

  /** `missed`: the agent let the call ring out (counts towards the auto-pause). */
  private async releaseAgent(options: { missed?: boolean } = {}): Promise<void> {
    const agent = this.agent;
    if (!agent) return;
    this.agent = undefined;
    try {
      const released = await this.deps.agents.release(agent.userId, this.id, Date.now(), options);
      if (released !== true && released !== false)
        this.log.info(
          { userId: agent.userId, pauseReason: released.pauseReason },
          'the agent is paused by the distribution settings',
        );
      else if (!released)
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
