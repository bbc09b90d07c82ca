import type { Redis } from 'ioredis';
import { WORKSTATION_KINDS, type WorkstationKind } from '@deskline/protocol';
import { RedisKeys } from '../keys.js';
import { browserSipUser, workstationSipUser } from '../sip-users.js';

/** An agent the router may ring, and how: the SIP user their workstation registers as, and its kind. */
export interface Agent {
  userId: string;
  workstationId: string;
  /** A browser or a desk phone: which rtpengine flags the offer to it gets. */
  kind: WorkstationKind;
  sipUser: string;
}

const isKind = (value: unknown): value is WorkstationKind =>
  typeof value === 'string' && (WORKSTATION_KINDS as readonly string[]).includes(value);

/**
 * Agents who could take a call now, longest idle first: in agents:idle, `available`, on a
 * workstation whose SIP user is registered (the browser's ws-<id>, or the desk phone's own SIP
 * user). The claim checks again.
 */
export async function candidateAgents(redis: Redis): Promise<Agent[]> {
  const idle = await redis.zrange(RedisKeys.idleAgents, 0, -1);
  if (idle.length === 0) return [];
  const agents = redis.pipeline();
  for (const userId of idle) agents.hmget(RedisKeys.agent(userId), 'state', 'workstationId');
  const available = ((await agents.exec()) ?? []).flatMap(([err, fields], index) => {
    const [state, workstationId] = (fields as (string | null)[] | null) ?? [];
    const userId = idle[index];
    return !err && state === 'available' && workstationId && userId ? [{ userId, workstationId }] : [];
  });
  if (available.length === 0) return [];
  const workstations = redis.pipeline();
  for (const { workstationId } of available)
    workstations.hmget(RedisKeys.workstation(workstationId), 'kind', 'sipUser');
  const reachable = ((await workstations.exec()) ?? []).flatMap(([err, fields], index) => {
    const [kind, sipUser] = (fields as (string | null)[] | null) ?? [];
    const agent = available[index];
    if (err || !agent || !isKind(kind)) return [];
    const user = workstationSipUser({ id: agent.workstationId, kind, sipUser: sipUser ?? undefined });
    return user === undefined ? [] : [{ ...agent, kind, sipUser: user }];
  });
  if (reachable.length === 0) return [];
  const registrations = redis.pipeline();
  for (const { sipUser } of reachable) registrations.exists(RedisKeys.sipRegistration(sipUser));
  const replies = (await registrations.exec()) ?? [];
  return reachable.filter((_agent, index) => replies[index]?.[1] === 1);
}

/**
 * The agent on a workstation as the router would have found them: its kind and SIP user from
 * signaling's record (a browser when the record is gone). For calls adopted from a dead instance.
 */
export async function reachAgent(redis: Redis, userId: string, workstationId: string): Promise<Agent> {
  const [kind, sipUser] = await redis.hmget(RedisKeys.workstation(workstationId), 'kind', 'sipUser');
  const known = isKind(kind) ? kind : 'browser';
  const user =
    workstationSipUser({ id: workstationId, kind: known, sipUser: sipUser ?? undefined }) ??
    browserSipUser(workstationId);
  return { userId, workstationId, kind: known, sipUser: user };
}
