import type { Redis } from 'ioredis';
import { PAUSE_MAX_MINUTES, type PauseReason } from '@deskline/protocol';
import { RedisKeys, RedisStreams } from '../keys.js';
import type { AgentPosition } from './agent-table.js';
import {
  ANSWER,
  CLAIM,
  END_DUE_PAUSES,
  END_PAUSE,
  EXTEND,
  FORCE_OFF,
  LEAVE,
  ON_DUTY,
  PAUSE,
  PICK,
  POSITION,
  RELEASE,
} from './agent-scripts.js';

/** A move the agent table (or the script's own check) refused; Redis is as it was. */
export interface Refused {
  outcome: 'refused';
  reason: string;
  from: AgentPosition;
}

export type PickResult =
  | {
      outcome: 'picked';
      to: 'available' | 'paused';
      previousWorkstationId?: string;
      pausedUntil?: number;
      pausedAt?: number;
    }
  /** Already on that workstation: nothing written. */
  | { outcome: 'same' }
  | { outcome: 'held'; holder: string }
  | Refused;

export type PauseResult =
  { outcome: 'paused'; pausedAt: number; pausedUntil: number } | { outcome: 'too-long' } | Refused;

export type ClaimOutcome =
  /** The agent is now `ringing` for this call, out of agents:idle; the call is out of calls:waiting. */
  | 'claimed'
  /** The agent is not `available` on that workstation any more (taken, paused, logged out, moved). */
  | 'agent-unavailable'
  /** The workstation has no sip-registration key: nothing would ring. */
  | 'not-registered'
  /** The call is not in calls:waiting (not recorded as waiting yet, or gone). */
  | 'call-not-waiting';

type Reply = [string, ...string[]];

const refused = ([, reason, from]: Reply): Refused => ({
  outcome: 'refused',
  reason: reason ?? '',
  from: from as AgentPosition,
});
const optionalNumber = (value: string | undefined): number | undefined => (value ? Number(value) : undefined);

/**
 * The agent record (`agent:<userId>` with agents:idle and agents:pause-ends): every write to an agent
 * goes through one of these methods, each one script checked against AGENT_TABLE (agent-table.ts).
 * Signaling picks and leaves workstations and pauses; the sip app claims, answers and releases; both
 * end due pauses. Each change is a team event.
 */
export class AgentRecord {
  constructor(private readonly redis: Redis) {}

  /** Where the agent is in the table. */
  async position(userId: string): Promise<AgentPosition> {
    return (await this.redis.eval(POSITION, 1, RedisKeys.agent(userId))) as AgentPosition;
  }

  async pick(userId: string, workstationId: string, now = Date.now()): Promise<PickResult> {
    const reply = (await this.redis.eval(
      PICK,
      4,
      RedisKeys.agent(userId),
      RedisKeys.workstationHolder(workstationId),
      RedisKeys.idleAgents,
      RedisStreams.teamEvents,
      userId,
      workstationId,
      String(now),
    )) as Reply;
    const [outcome, to, previous, pausedUntil, pausedAt] = reply;
    if (outcome === 'same') return { outcome };
    if (outcome === 'held') return { outcome, holder: to ?? '' };
    if (outcome !== 'picked') return refused(reply);
    const result: PickResult = { outcome, to: to as 'available' | 'paused' };
    if (previous) result.previousWorkstationId = previous;
    if (to === 'paused' && pausedUntil) {
      result.pausedUntil = Number(pausedUntil);
      const start = optionalNumber(pausedAt);
      if (start !== undefined) result.pausedAt = start;
    }
    return result;
  }

  /** Off their workstation from wherever they are; returns the workstation they left, if any. */
  async leave(userId: string): Promise<{ workstationId?: string }> {
    const [, workstationId] = (await this.redis.eval(
      LEAVE,
      4,
      RedisKeys.agent(userId),
      RedisKeys.idleAgents,
      RedisKeys.pauseEnds,
      RedisStreams.teamEvents,
      userId,
    )) as Reply;
    return workstationId ? { workstationId } : {};
  }

  /**
   * A manager takes the user off their workstation: refused during a call (or when not on one); the
   * hash keeps `byName` and `now` for the user's panel. Returns the workstation they were taken off.
   */
  async forceOff(
    userId: string,
    byName: string,
    now = Date.now(),
  ): Promise<{ outcome: 'forced-off'; workstationId: string } | Refused> {
    const reply = (await this.redis.eval(
      FORCE_OFF,
      4,
      RedisKeys.agent(userId),
      RedisKeys.idleAgents,
      RedisKeys.pauseEnds,
      RedisStreams.teamEvents,
      userId,
      byName,
      String(now),
    )) as Reply;
    return reply[0] === 'forced-off' ? { outcome: 'forced-off', workstationId: reply[1] ?? '' } : refused(reply);
  }

  /** Starts a pause of `durationMs` from now, or replaces the end of a running one. */
  pause(userId: string, durationMs: number, maxMs: number, now = Date.now()): Promise<PauseResult> {
    return this.runPause(PAUSE, userId, durationMs, maxMs, now);
  }

  /** Moves the end of the running pause `durationMs` later. */
  extend(userId: string, durationMs: number, maxMs: number, now = Date.now()): Promise<PauseResult> {
    return this.runPause(EXTEND, userId, durationMs, maxMs, now);
  }

  /** Ends the user's pause now ("I'm back"). */
  async endPause(userId: string, now = Date.now()): Promise<{ outcome: 'ended'; to: AgentPosition } | Refused> {
    const reply = (await this.redis.eval(END_PAUSE, 3, ...this.pauseKeys(), String(now), userId)) as Reply;
    return reply[0] === 'ended' ? { outcome: 'ended', to: reply[1] as AgentPosition } : refused(reply);
  }

  /** Ends every pause that is due; returns whose pause ended. */
  async endDuePauses(now = Date.now()): Promise<string[]> {
    return (await this.redis.eval(END_DUE_PAUSES, 3, ...this.pauseKeys(), String(now))) as string[];
  }

  /** Forgets the last pause's span (kept for the missed-calls list); not a move, the position stays. */
  async dismissMissedCalls(userId: string): Promise<void> {
    await this.redis.hdel(RedisKeys.agent(userId), 'lastPausedAt', 'lastPauseEndedAt');
  }

  /**
   * The agent rings for `callId` (available -> ringing), the call leaves the queue. With `memberIds`
   * (the call's queue's, non-empty), only a member is claimed.
   */
  async claim(
    agent: { userId: string; workstationId: string; sipUser: string },
    callId: string,
    memberIds: readonly string[] = [],
  ): Promise<{ outcome: ClaimOutcome; reason?: string }> {
    const [outcome, reason] = (await this.redis.eval(
      CLAIM,
      5,
      RedisKeys.agent(agent.userId),
      RedisKeys.idleAgents,
      RedisKeys.waitingCalls,
      RedisKeys.sipRegistration(agent.sipUser),
      RedisStreams.teamEvents,
      agent.userId,
      agent.workstationId,
      callId,
      ...memberIds,
    )) as [ClaimOutcome, string?];
    return reason === undefined ? { outcome } : { outcome, reason };
  }

  /** Whether one of `memberIds` (none: anyone) is on a workstation and not paused. One script, one round trip. */
  async anyoneOnDuty(memberIds: readonly string[] = []): Promise<boolean> {
    return (await this.redis.eval(ON_DUTY, 2, RedisKeys.users, RedisKeys.idleAgents, ...memberIds)) === 1;
  }

  /** ringing -> on-call; a paused agent talks and stays paused. */
  async answered(userId: string, callId: string): Promise<{ outcome: 'on-call' | 'paused' } | Refused> {
    const reply = (await this.redis.eval(
      ANSWER,
      2,
      RedisKeys.agent(userId),
      RedisStreams.teamEvents,
      callId,
      userId,
    )) as Reply;
    return reply[0] === 'on-call' || reply[0] === 'paused' ? { outcome: reply[0] } : refused(reply);
  }

  /**
   * The call no longer needs the agent: available again, or still paused without the call, or paused
   * by the distribution settings (`pauseReason`): a wrap-up after a call, or an auto-pause after the
   * agent's `missed` ring (one that timed out unanswered) made too many in a row.
   */
  async release(
    userId: string,
    callId: string,
    now = Date.now(),
    options: { missed?: boolean } = {},
  ): Promise<{ outcome: 'available' } | { outcome: 'paused'; pauseReason?: PauseReason } | Refused> {
    const reply = (await this.redis.eval(
      RELEASE,
      5,
      RedisKeys.agent(userId),
      RedisKeys.idleAgents,
      RedisStreams.teamEvents,
      RedisKeys.pauseEnds,
      RedisKeys.distribution,
      userId,
      callId,
      String(now),
      options.missed ? '1' : '0',
      String(PAUSE_MAX_MINUTES * 60_000),
    )) as Reply;
    if (reply[0] === 'available') return { outcome: 'available' };
    if (reply[0] !== 'paused') return refused(reply);
    return reply[1] ? { outcome: 'paused', pauseReason: reply[1] as PauseReason } : { outcome: 'paused' };
  }

  private async runPause(
    script: string,
    userId: string,
    durationMs: number,
    maxMs: number,
    now: number,
  ): Promise<PauseResult> {
    const reply = (await this.redis.eval(
      script,
      4,
      RedisKeys.agent(userId),
      RedisKeys.idleAgents,
      RedisKeys.pauseEnds,
      RedisStreams.teamEvents,
      userId,
      String(now),
      String(Math.round(durationMs)),
      String(maxMs),
    )) as Reply;
    if (reply[0] === 'too-long') return { outcome: 'too-long' };
    if (reply[0] !== 'paused') return refused(reply);
    return { outcome: 'paused', pausedAt: Number(reply[1]), pausedUntil: Number(reply[2]) };
  }

  private pauseKeys(): [string, string, string] {
    return [RedisKeys.pauseEnds, RedisKeys.idleAgents, RedisStreams.teamEvents];
  }
}
