import type { Redis } from 'ioredis';
import { RedisChannels, RedisKeys, type AgentState, type AgentStatus, type Workstation } from '@deskline/protocol';
import { ClientError } from '../errors.js';
import type { WorkstationStore } from './workstation-store.js';

/**
 * Claims `workstation-holder:<ws>` for a user unless someone else holds it. One script, so two users
 * can never both win one workstation.
 */
const CLAIM = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return holder end
redis.call('SET', KEYS[1], ARGV[1])
return false`;

/** Releases a workstation only if this user still holds it. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

/**
 * Who works where: a user on a workstation is an agent the router may ring. Signaling owns this part
 * of the agent's state (logged in, workstation, paused); the sip app moves agents between available,
 * ringing and on a call. Every change wakes the router.
 */
export class AgentService {
  constructor(
    private readonly redis: Redis,
    private readonly workstations: WorkstationStore,
  ) {}

  async status(userId: string): Promise<AgentStatus> {
    const [state, workstationId] = await this.redis.hmget(RedisKeys.agent(userId), 'state', 'workstationId');
    const workstation = workstationId ? await this.workstations.get(workstationId) : undefined;
    if (!workstation) return { state: 'offline' };
    return { state: (state as AgentState | null) ?? 'offline', workstation };
  }

  /**
   * The user's workstation, or a 409 with `message`. Whatever needs a phone to ring or to call from
   * goes through here: SIP credentials for the browser today, and calling a patient back (issue 5)
   * next. Managers may work without a workstation, but they too have no phone then.
   */
  async requireWorkstation(userId: string, message: string): Promise<Workstation> {
    const { workstation } = await this.status(userId);
    if (!workstation) throw new ClientError(409, message);
    return workstation;
  }

  /** Puts the user on a workstation, leaving the one they were on; refuses one held by someone else. */
  async selectWorkstation(userId: string, workstationId: string, holderName: (userId: string) => Promise<string>): Promise<AgentStatus> {
    const workstation = await this.workstations.get(workstationId);
    if (!workstation) throw new ClientError(404, 'No such workstation.');
    const current = await this.status(userId);
    if (current.state === 'on-call' || current.state === 'ringing') {
      throw new ClientError(409, 'Finish the current call before changing workstation.');
    }
    if (current.workstation?.id === workstationId) return current;

    const holder = (await this.redis.eval(CLAIM, 1, RedisKeys.workstationHolder(workstationId), userId)) as string | null;
    if (holder) throw new ClientError(409, `${workstation.name} is in use by ${await holderName(holder)}.`);
    if (current.workstation) await this.redis.eval(RELEASE, 1, RedisKeys.workstationHolder(current.workstation.id), userId);

    const now = Date.now();
    await this.redis
      .multi()
      .hset(RedisKeys.agent(userId), { userId, workstationId, state: 'available', idleSince: String(now) })
      .zadd(RedisKeys.idleAgents, now, userId)
      .publish(RedisChannels.routeWake, userId)
      .exec();
    return { state: 'available', workstation };
  }

  /** Takes the user off their workstation (logout, or leaving it on purpose). */
  async leaveWorkstation(userId: string): Promise<void> {
    const { workstation } = await this.status(userId);
    if (workstation) await this.redis.eval(RELEASE, 1, RedisKeys.workstationHolder(workstation.id), userId);
    await this.redis.multi().del(RedisKeys.agent(userId)).zrem(RedisKeys.idleAgents, userId).exec();
  }
}
