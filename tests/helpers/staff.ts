/**
 * Workstations and agents as signaling writes them: its own WorkstationStore and AgentService, on the
 * test Redis. Choosing a workstation writes the agent hash {userId, workstationId, state: available,
 * idleSince}, adds the agent to agents:idle and publishes route:wake, which is what the router reacts to.
 */
import type { Redis } from 'ioredis';
import { type CreatedWorkstation, type WorkstationKind } from '@deskline/protocol';
import { RedisKeys } from '@deskline/store';
import { AgentService } from '@deskline/signaling/services/agent-service';
import { WorkstationStore } from '@deskline/signaling/services/workstation-store';

export interface AgentRecord {
  state?: string;
  workstationId?: string;
  idleSince?: number;
  callId?: string;
  pausedUntil?: number;
  lastPauseEndedAt?: number;
  /** The agent's score in agents:idle, or undefined when not in it. */
  idleScore?: number;
}

export class Staff {
  private readonly workstations: WorkstationStore;
  private readonly agents: AgentService;

  /** `sipDomain`: the realm desk phones' HA1 is made for (the test Kamailio's domain). */
  constructor(
    private readonly redis: Redis,
    sipDomain = 'deskline.local',
  ) {
    this.workstations = new WorkstationStore(redis, { sipDomain });
    this.agents = new AgentService(redis, this.workstations);
  }

  /** A workstation as a manager creates it; a desk phone's SIP user and password are in the result. */
  workstation(name: string, kind: WorkstationKind = 'browser', sipUser?: string): Promise<CreatedWorkstation> {
    return this.workstations.create({ name, kind, sipUser });
  }

  /** The user picks the workstation and is ready for calls. */
  async available(userId: string, workstationId: string): Promise<void> {
    await this.agents.selectWorkstation(userId, workstationId, async (holder) => holder);
  }

  /** The user logs out. */
  leave(userId: string): Promise<void> {
    return this.agents.leaveWorkstation(userId);
  }

  /** The user pauses incoming calls for `ms` (the API takes minutes; signaling's service takes ms). */
  async pause(userId: string, ms: number): Promise<number> {
    const { pausedUntil } = await this.agents.pause(userId, ms);
    if (pausedUntil === undefined) throw new Error(`${userId} could not pause`);
    return pausedUntil;
  }

  /** "I'm back". */
  async resume(userId: string): Promise<void> {
    await this.agents.resume(userId);
  }

  async agent(userId: string): Promise<AgentRecord> {
    const hash = await this.redis.hgetall(RedisKeys.agent(userId));
    const score = await this.redis.zscore(RedisKeys.idleAgents, userId);
    return {
      ...(hash['state'] ? { state: hash['state'] } : {}),
      ...(hash['workstationId'] ? { workstationId: hash['workstationId'] } : {}),
      ...(hash['idleSince'] ? { idleSince: Number(hash['idleSince']) } : {}),
      ...(hash['callId'] ? { callId: hash['callId'] } : {}),
      ...(hash['pausedUntil'] ? { pausedUntil: Number(hash['pausedUntil']) } : {}),
      ...(hash['lastPauseEndedAt'] ? { lastPauseEndedAt: Number(hash['lastPauseEndedAt']) } : {}),
      ...(score !== null ? { idleScore: Number(score) } : {}),
    };
  }
}
