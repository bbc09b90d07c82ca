import type { Redis } from 'ioredis';
import type { PauseReason } from '@deskline/protocol';
import { AgentRecord, candidateAgents, reachAgent, type Agent, type ClaimOutcome } from '@deskline/store';

export type { Agent };
export type ClaimResult = ClaimOutcome;

/**
 * Agent state as the sip app sees and moves it (docs/call-path.md, "Routing"): who can take a call,
 * and the claim, answer and release, each one script of the agent record (@deskline/store).
 */
export class AgentStore {
  readonly record: AgentRecord;

  constructor(private readonly redis: Redis) {
    this.record = new AgentRecord(redis);
  }

  /** Agents who could take a call now, longest idle first (the claim checks again). */
  candidates(): Promise<Agent[]> {
    return candidateAgents(this.redis);
  }

  /** The agent on a workstation as the router would have found them; for calls adopted from a dead instance. */
  reach(userId: string, workstationId: string): Promise<Agent> {
    return reachAgent(this.redis, userId, workstationId);
  }

  /** `memberIds`: the call's queue's members (the call plan's; [] = anyone), checked by the claim itself. */
  async claim(agent: Agent, callId: string, memberIds: readonly string[] = []): Promise<ClaimResult> {
    return (await this.record.claim(agent, callId, memberIds)).outcome;
  }

  /** Whether anyone who can take a queue with `memberIds` ([] = anyone) is on a workstation and not paused. */
  anyoneOnDuty(memberIds: readonly string[]): Promise<boolean> {
    return this.record.anyoneOnDuty(memberIds);
  }

  /**
   * ringing -> on-call. 'paused' when the agent paused while it rang (they talk, and stay paused);
   * false when the agent's hash no longer names this call.
   */
  async answered(userId: string, callId: string): Promise<boolean | 'paused'> {
    const { outcome } = await this.record.answered(userId, callId);
    return outcome === 'paused' ? 'paused' : outcome === 'on-call';
  }

  /**
   * Back to available; false when the agent stays paused, or had moved on and was left alone; the
   * reason when the distribution settings paused them (wrap-up, or auto-pause after a `missed` ring).
   */
  async release(
    userId: string,
    callId: string,
    now = Date.now(),
    options: { missed?: boolean } = {},
  ): Promise<boolean | { pauseReason: PauseReason }> {
    const released = await this.record.release(userId, callId, now, options);
    if (released.outcome === 'paused' && released.pauseReason) return { pauseReason: released.pauseReason };
    return released.outcome === 'available';
  }
}
