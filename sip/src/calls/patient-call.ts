import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CallState, CallView } from '@deskline/protocol';
import type { IncomingInviteRequest, Session } from 'sip.js/lib/core/index.js';
import { MediaSession } from '../media/media-session.js';
import type { RtpEngine } from '../media/rtpengine.js';
import type { Agent, AgentStore } from '../routing/agent-store.js';
import type { Dialer } from '../sip/sip-stack.js';
import type { AgentLeg } from './agent-leg.js';
import { sendBye } from './bye.js';
import type { CallStore } from './call-store.js';
import { CallStateMachine } from './call-state-machine.js';
import type { CallStep } from './steps/call-step.js';
import { IntroStep } from './steps/intro.js';
import { RingAgentStep, type RingFailure } from './steps/ring-agent.js';
import { TalkStep } from './steps/talk.js';
import { WaitWithMusicStep } from './steps/wait-with-music.js';

/** What a call tells the router. */
export interface RoutingHooks {
  /** Something changed that may let the router pair a call with an agent (`trigger` is for the log). */
  wake(trigger: string): void;
  /** A ring ended without an answer. */
  ringFailed(agent: Agent, failure: RingFailure): void;
}

export interface PatientCallDeps {
  rtpengine: RtpEngine;
  store: CallStore;
  agents: AgentStore;
  dialer: Dialer;
  routing: RoutingHooks;
  introFile: string;
  holdMusicFile: string;
  skipIntro: boolean;
  ringTimeoutMs: number;
}

/** Why a call ended, for the log line. */
export type EndReason =
  | 'cancelled'
  | 'patient-hung-up'
  | 'agent-hung-up'
  | 'no-ack'
  | 'media-failed'
  | 'failed'
  | 'shutdown';

/**
 * One patient's call, from the INVITE to the last cleanup. It owns the patient's SIP session, the
 * agent's leg once answered, the rtpengine allocation, the call's record in Redis and the agent it
 * has claimed; every way the call can end goes through `end()`, which releases all of them.
 *
 * The call is published to Redis once the patient's ACK confirms it (state intro); a call cancelled
 * or refused before that leaves no trace there.
 */
export class PatientCall {
  readonly id = randomUUID();
  readonly log: Logger;
  private readonly machine = new CallStateMachine('intro');
  private readonly media: MediaSession;
  private view: CallView;
  private session: Session | undefined;
  private step: CallStep | undefined;
  /** The agent claimed for this call (ringing or on the call), until released in Redis. */
  private agent: Agent | undefined;
  private agentLeg: AgentLeg | undefined;
  /** The waiting state has reached Redis (calls:waiting), so a claim can find the call there. */
  private queued = false;
  private published = false;
  private cancelled = false;
  private writes: Promise<void> = Promise.resolve();
  private ending: Promise<void> | undefined;
  private markEnded!: () => void;
  /** Settles once the call has ended and everything it held is released. */
  readonly ended = new Promise<void>((resolve) => (this.markEnded = resolve));

  constructor(
    private readonly request: IncomingInviteRequest,
    line: string,
    private readonly deps: PatientCallDeps,
    parentLog: Logger,
  ) {
    const message = request.message;
    this.log = parentLog.child({ callId: this.id });
    this.media = new MediaSession(deps.rtpengine, this.id, message.fromTag, this.log);
    this.view = {
      id: this.id,
      from: message.from.uri.user ?? message.from.uri.toString(),
      line,
      state: this.machine.state,
      startedAt: Date.now(),
    };
    request.delegate = { onCancel: () => this.onCancel() };
  }

  get state(): CallState {
    return this.machine.state;
  }

  /** When the call joined the queue; a ring that fails keeps it. */
  get queuedAt(): number | undefined {
    return this.view.queuedAt;
  }

  /** Waiting in Redis as well as here: the router may claim an agent for it. */
  get routable(): boolean {
    return this.queued && this.machine.state === 'waiting' && !this.ending;
  }

  /** Sets up media in rtpengine and answers 200 with its SDP; the intro starts on the ACK. */
  async answer(): Promise<void> {
    let sdp: string;
    try {
      sdp = await this.media.answerForQueue(this.request.message.body);
    } catch (err) {
      if (this.cancelled) return;
      this.log.error({ err }, 'rtpengine could not set up media; refusing the call with 503');
      this.respond(503, 'Media Unavailable');
      await this.end('media-failed');
      return;
    }
    if (this.cancelled) return;
    try {
      const { session } = this.request.accept({
        statusCode: 200,
        body: { contentDisposition: 'session', contentType: 'application/sdp', content: sdp },
      });
      this.session = session;
    } catch (err) {
      this.log.error({ err }, 'could not answer the INVITE');
      await this.end('failed');
      return;
    }
    this.session.delegate = {
      onAck: () => this.onAck(),
      onAckTimeout: () => {
        this.log.warn('no ACK for our 200 OK');
        void this.end('no-ack', { bye: true });
      },
      onBye: (bye) => {
        bye.accept();
        void this.end('patient-hung-up');
      },
    };
    this.log.info({ line: this.view.line, from: this.view.from }, 'answered the patient');
  }

  /**
   * Rings an agent the router has claimed in Redis (agent `ringing`, call out of calls:waiting).
   * False when the call is no longer waiting; the claim is then the router's to undo.
   */
  ring(agent: Agent): boolean {
    if (!this.routable) return false;
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
      }),
    );
    return true;
  }

  /**
   * Ends the call: stops the current step (a ringing agent gets CANCEL), sends BYE to the agent of a
   * bridged call and to the patient when asked (and the dialog allows it), records the final state,
   * releases rtpengine and the agent, and waits for the Redis writes. Idempotent.
   */
  end(reason: EndReason, options: { bye?: boolean } = {}): Promise<void> {
    this.ending ??= this.finish(reason, options.bye ?? false);
    return this.ending;
  }

  private async finish(reason: EndReason, byePatient: boolean): Promise<void> {
    this.step?.stop();
    await Promise.all([byePatient && this.session ? sendBye(this.session, this.log) : undefined, this.agentLeg?.hangUp()]);
    if (this.published && !this.machine.isFinal) {
      this.moveTo(this.machine.state === 'bridged' ? 'ended' : 'abandoned', { endedAt: Date.now() });
    }
    await Promise.all([this.media.destroy(), this.writes]);
    await this.releaseAgent();
    this.log.info({ reason, state: this.machine.state, seconds: (Date.now() - this.view.startedAt) / 1000 }, 'call ended');
    this.markEnded();
  }

  private onCancel(): void {
    if (this.ending) return;
    this.cancelled = true;
    this.respond(487, 'Request Terminated');
    void this.end('cancelled');
  }

  private onAck(): void {
    if (this.ending) return;
    this.publish();
    if (this.deps.skipIntro) {
      this.enterWaiting();
      return;
    }
    this.runStep(new IntroStep(this.media, this.deps.introFile, this.log, () => this.enterWaiting()));
  }

  private enterWaiting(): void {
    if (this.ending) return;
    this.moveTo('waiting', { queuedAt: Date.now() });
    this.waitInQueue('call-waiting');
  }

  /** Hold music, and once Redis has the call in calls:waiting, a wake for the router. */
  private waitInQueue(trigger: string): void {
    this.runStep(new WaitWithMusicStep(this.media, this.deps.holdMusicFile, this.log));
    void this.writes.then(() => {
      if (this.ending || this.machine.state !== 'waiting') return;
      this.queued = true;
      this.deps.routing.wake(trigger);
    });
  }

  private onAgentAnswered(agent: Agent, leg: AgentLeg): void {
    if (this.ending) {
      void leg.hangUp();
      return;
    }
    this.agentLeg = leg;
    this.moveTo('bridged', { answeredAt: Date.now() });
    this.deps.agents.answered(agent.userId, this.id).then(
      (onCall) => {
        if (onCall === 'paused') this.log.info({ userId: agent.userId }, 'the agent paused while it rang: on the call, and still paused');
        else if (!onCall) this.log.warn({ userId: agent.userId }, 'the agent answered but their state names another call or none');
      },
      (err: unknown) => this.log.error({ err, userId: agent.userId }, 'could not record the agent on the call'),
    );
    this.runStep(new TalkStep(this.media, leg, this.log, () => void this.end('agent-hung-up', { bye: true })));
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
    const { agentUserId: _agentUserId, workstationId: _workstationId, ...waiting } = this.view;
    this.view = waiting;
    this.moveTo('waiting');
    this.deps.routing.ringFailed(agent, failure);
    this.waitInQueue('ring-failed');
    await this.releaseAgent();
  }

  private async releaseAgent(): Promise<void> {
    const agent = this.agent;
    if (!agent) return;
    this.agent = undefined;
    try {
      const released = await this.deps.agents.release(agent.userId, this.id);
      if (!released) this.log.info({ userId: agent.userId }, 'the agent had moved on (logged out, paused, switched): left as is');
    } catch (err) {
      this.log.error({ err, userId: agent.userId }, 'could not make the agent available again');
    }
    this.deps.routing.wake('agent-released');
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

  private moveTo(state: CallState, fields: Partial<CallView> = {}): void {
    this.machine.moveTo(state);
    this.view = { ...this.view, ...fields, state };
    this.log.info({ state }, 'call state changed');
    this.publish();
  }

  /** Queues a write of the current view; writes of one call reach Redis in order. */
  private publish(): void {
    this.published = true;
    const snapshot = { ...this.view };
    this.writes = this.writes
      .then(() => this.deps.store.record(snapshot))
      .catch((err: unknown) => this.log.error({ err, state: snapshot.state }, 'could not record the call in Redis'));
  }

  private respond(statusCode: number, reasonPhrase: string): void {
    try {
      this.request.reject({ statusCode, reasonPhrase });
    } catch (err) {
      this.log.warn({ err, statusCode }, 'could not send the final response');
    }
  }
}
