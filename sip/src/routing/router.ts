import type { Redis } from 'ioredis';
import { closeRedis } from '@deskline/env-config/redis';
import type { Logger } from 'pino';
import { RedisChannels } from '@deskline/store';
import type { PatientCall, RoutingHooks } from '../calls/patient-call.js';
import type { RingFailure } from '../calls/steps/ring-agent.js';
import type { Agent, AgentStore } from './agent-store.js';
import { PauseTimer, type DistributionStore } from '@deskline/store';
import { nextCandidate, ringOrder } from './ring-order.js';

/**
 * An agent whose workstation refused a ring (busy, declined, gone from Kamailio although its
 * registration key lingers) is skipped by this instance for this long, so that a broken workstation
 * cannot make a call bounce off it in a tight loop. Agents who simply did not answer are not held back.
 */
export const REFUSED_AGENT_PAUSE_MS = 3_000;
/** A routing pass that failed (Redis away) is tried again after this long. */
export const RETRY_MS = 1_000;

export interface RouterOptions {
  /** The shared connection; the router subscribes on a duplicate of it. */
  redis: Redis;
  agents: AgentStore;
  /** This instance's calls that may be rung now, longest waiting first. */
  routableCalls(): PatientCall[];
  /** The distribution settings, read at every pass: the ring strategy and the ring timeout. */
  distribution: Pick<DistributionStore, 'get'>;
  /** RING_TIMEOUT_SECONDS: the ring timeout when the settings name none. */
  defaultRingTimeoutSeconds: number;
  log: Logger;
}

/**
 * Pairs waiting calls with agents (docs/call-path.md, "Routing"). Each pass takes this instance's
 * waiting calls oldest first and gives each the longest-idle agent who can take it, claimed in
 * Redis by one script; only the instance holding a call's SIP dialog can ring it, and the claim
 * keeps instances from ringing one agent twice.
 *
 * Passes run one at a time; wakes that arrive during a pass cause one more pass, not one each.
 */
export class Router implements RoutingHooks {
  private subscriber: Redis | undefined;
  private pending: string | undefined;
  /** Settles when the pass that will take `pending` is over: what `wake()` returns. */
  private nextPass: { done: Promise<void>; settle: () => void } | undefined;
  private running = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /** userId -> until when this instance does not ring them (REFUSED_AGENT_PAUSE_MS). */
  private readonly held = new Map<string, number>();
  private heldTimer: NodeJS.Timeout | undefined;
  /** Settles when no pass is running; `stop()` waits for it. */
  private idle: Promise<void> = Promise.resolve();
  /** Ends due pauses, so that calls ring when a pause is over even while signaling is down. */
  private readonly pauses: PauseTimer;

  constructor(private readonly options: RouterOptions) {
    this.pauses = new PauseTimer(options.redis, options.agents.record, options.log, () => void this.wake('pause-over'));
  }

  /**
   * Listens for route:wake (an agent may have become available), sip:registrations (a workstation
   * registered) and pause:changed (the pause timer looks again), on a connection of its own: a
   * subscribed connection can do nothing else.
   */
  async start(): Promise<void> {
    const { log } = this.options;
    const subscriber = this.options.redis.duplicate({ connectionName: 'sip-router', lazyConnect: true });
    this.subscriber = subscriber;
    subscriber.on('error', (err: Error) =>
      log.warn({ err: err.message }, 'router subscription: Redis connection problem'),
    );
    subscriber.on('message', (channel: string, message: string) => this.onMessage(channel, message));
    // After a reconnect ioredis subscribes again by itself; messages sent meanwhile were lost, so look.
    subscriber.on('ready', () => {
      this.pauses.arm();
      void this.wake('subscribed');
    });
    await subscriber.connect();
    await subscriber.subscribe(RedisChannels.routeWake, RedisChannels.sipRegistrations, RedisChannels.pauseChanged);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.pauses.stop();
    clearTimeout(this.retryTimer);
    clearTimeout(this.heldTimer);
    await this.idle;
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    if (subscriber) await closeRedis(subscriber);
  }

  /** Asks for a routing pass; settles once a pass begun after this call is over, whatever it found. */
  wake(trigger: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.pending = trigger;
    this.nextPass ??= settledLater();
    const { done } = this.nextPass;
    if (!this.running) this.idle = this.drain();
    return done;
  }

  /** A refused ring holds the agent back for a moment (REFUSED_AGENT_PAUSE_MS); no answer does not. */
  ringFailed(agent: Agent, failure: RingFailure): void {
    if (failure.reason !== 'refused') return;
    this.held.set(agent.userId, Date.now() + REFUSED_AGENT_PAUSE_MS);
    this.scheduleHeldWake();
  }

  private onMessage(channel: string, message: string): void {
    if (channel === RedisChannels.routeWake) {
      void this.wake(RedisChannels.routeWake);
      return;
    }
    if (channel === RedisChannels.pauseChanged) {
      this.pauses.arm();
      return;
    }
    if (channel !== RedisChannels.sipRegistrations) return;
    try {
      const event = JSON.parse(message) as { registered?: unknown };
      if (event.registered === true) void this.wake(RedisChannels.sipRegistrations);
    } catch {
      this.options.log.warn({ message }, 'unreadable message on sip:registrations');
    }
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.pending !== undefined && !this.stopped) {
        const trigger = this.pending;
        const pass = this.nextPass;
        this.pending = undefined;
        this.nextPass = undefined;
        try {
          await this.pass(trigger);
        } catch (err) {
          this.options.log.warn({ err, trigger }, `routing failed; trying again in ${RETRY_MS} ms`);
          clearTimeout(this.retryTimer);
          this.retryTimer = setTimeout(() => void this.wake('retry'), RETRY_MS);
        } finally {
          pass?.settle();
        }
      }
    } finally {
      this.running = false;
      // Stopped with a wake still pending: nobody waits for a pass that will not come.
      this.nextPass?.settle();
      this.nextPass = undefined;
    }
  }

  private async pass(trigger: string): Promise<void> {
    const calls = this.options.routableCalls();
    if (calls.length === 0) return;
    const now = Date.now();
    const [available, settings] = await Promise.all([
      this.options.agents.candidates(),
      this.options.distribution.get(),
    ]);
    const candidates = ringOrder(
      available.filter((agent) => (this.held.get(agent.userId) ?? 0) <= now),
      settings,
    );
    const ring = { timeoutMs: (settings.ringTimeoutSeconds ?? this.options.defaultRingTimeoutSeconds) * 1000 };
    // Each call takes only its queue's members (the call plan's): a call whose members are all busy
    // does not hold up the calls behind it that another queue's agents can take.
    for (const call of calls) {
      if (candidates.length === 0) return;
      await this.assign(call, candidates, trigger, ring);
    }
  }

  /**
   * Claims the first candidate who can still take `call` (a member of its queue) and rings them; takes
   * used-up candidates off the list, and leaves those of other queues on it.
   */
  private async assign(
    call: PatientCall,
    candidates: Agent[],
    trigger: string,
    ring: { timeoutMs: number },
  ): Promise<void> {
    const { agents, log } = this.options;
    call.markPostDial('routing');
    const members = call.memberIds;
    const fits = (agent: Agent): boolean => members.length === 0 || members.includes(agent.userId);
    const next = (): number => nextCandidate(candidates, fits, call.missedBy);
    for (let index = next(); index >= 0 && call.routable; index = next()) {
      const agent = candidates[index] as Agent;
      const result = await agents.claim(agent, call.id, members);
      if (result === 'call-not-waiting') {
        log.debug({ callId: call.id }, 'call not in calls:waiting; skipped');
        return;
      }
      candidates.splice(index, 1);
      if (result !== 'claimed') {
        log.debug({ userId: agent.userId, result }, 'agent could not be claimed');
        continue;
      }
      if (call.ring(agent, ring)) {
        log.info(
          { callId: call.id, userId: agent.userId, waitedMs: Date.now() - (call.queuedAt ?? Date.now()), trigger },
          'call assigned to an agent',
        );
        return;
      }
      // The call ended between the claim and now: give the agent back.
      await agents.release(agent.userId, call.id);
      void this.wake('claim-undone');
      return;
    }
  }

  private scheduleHeldWake(): void {
    clearTimeout(this.heldTimer);
    const now = Date.now();
    for (const [userId, until] of this.held) if (until <= now) this.held.delete(userId);
    const next = Math.min(...this.held.values());
    if (!Number.isFinite(next)) return;
    this.heldTimer = setTimeout(() => {
      this.scheduleHeldWake();
      void this.wake('agent-pause-over');
    }, next - now);
  }
}

function settledLater(): { done: Promise<void>; settle: () => void } {
  let settle!: () => void;
  const done = new Promise<void>((resolve) => (settle = resolve));
  return { done, settle };
}
