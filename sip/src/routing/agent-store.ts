import type { Redis } from 'ioredis';
import {
  RedisChannels,
  RedisKeys,
  RedisStreams,
  TEAM_EVENTS_MAX_LENGTH,
  WORKSTATION_KINDS,
  browserSipUser,
  workstationSipUser,
  type WorkstationKind,
} from '@deskline/protocol';

/**
 * Signaling's workstation record (`WorkstationStore`): hash {id, name, kind, sipUser (desk phones)}.
 * The sip app reads the kind and the SIP user, to know how a workstation is reached.
 */
export const workstationKey = (workstationId: string): string => `workstation:${workstationId}`;

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

export type ClaimResult =
  /** The agent is now `ringing` for this call, out of agents:idle; the call is out of calls:waiting. */
  | 'claimed'
  /** The agent is not `available` on that workstation any more (taken, paused, logged out, moved). */
  | 'agent-unavailable'
  /** The workstation has no sip-registration key: nothing would ring. */
  | 'not-registered'
  /** The call is not in calls:waiting (not recorded as waiting yet, or gone). */
  | 'call-not-waiting';

/**
 * Every agent state change is also a team event (docs/presence-and-pause.md): panels show who is
 * ringing or on a call. KEYS[1] is the agent's hash; the stream is the script's last key.
 */
const teamEvent = (streamKey: string, userId: string): string =>
  `redis.call('XADD', ${streamKey}, 'MAXLEN', '~', '${TEAM_EVENTS_MAX_LENGTH}', '*', 'userId', ${userId})`;

/**
 * The claim: one script, so that two sip app instances can never ring one agent, nor hand one call
 * out twice. Nothing changes unless every check passes. A paused agent is not `available`, so is never
 * claimed.
 *   KEYS: agent:<userId>, agents:idle, calls:waiting, sip-registration:<sipUser>, stream:team-events
 *   ARGV: userId, workstationId, callId
 */
const CLAIM = `
local agent = redis.call('HMGET', KEYS[1], 'state', 'workstationId')
if agent[1] ~= 'available' or agent[2] ~= ARGV[2] then return 'agent-unavailable' end
if redis.call('EXISTS', KEYS[4]) == 0 then return 'not-registered' end
if redis.call('ZREM', KEYS[3], ARGV[3]) == 0 then return 'call-not-waiting' end
redis.call('HSET', KEYS[1], 'state', 'ringing', 'callId', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
${teamEvent('KEYS[5]', 'ARGV[1]')}
return 'claimed'`;

/**
 * The agent answered: ringing -> on-call, only while the agent's hash still names this call. An agent
 * who paused while it rang talks all the same and stays paused (returns 2): the pause's end, or the
 * call's release, moves them on.
 *   KEYS: agent:<userId>, stream:team-events   ARGV: callId, userId
 */
const ANSWERED = `
local agent = redis.call('HMGET', KEYS[1], 'state', 'callId')
if agent[2] ~= ARGV[1] then return 0 end
if agent[1] == 'paused' then return 2 end
if agent[1] ~= 'ringing' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'on-call')
${teamEvent('KEYS[2]', 'ARGV[2]')}
return 1`;

/**
 * The call no longer needs the agent (ring over, call ended): back to available with idleSince = now,
 * into agents:idle, and a route:wake for every instance. Only if the hash still names this call: an
 * agent who logged out (hash gone) or moved on is not resurrected; one who paused stays paused (and
 * the pause's end makes them available).
 *   KEYS: agent:<userId>, agents:idle, stream:team-events   ARGV: userId, callId, now
 */
const RELEASE = `
local agent = redis.call('HMGET', KEYS[1], 'state', 'callId')
if agent[2] ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], 'callId')
if agent[1] ~= 'ringing' and agent[1] ~= 'on-call' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'available', 'idleSince', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('PUBLISH', '${RedisChannels.routeWake}', ARGV[1])
${teamEvent('KEYS[3]', 'ARGV[1]')}
return 1`;

/** Agent state as the sip app moves it (docs/call-path.md, "Routing"): claim, answer, release. */
export class AgentStore {
  constructor(private readonly redis: Redis) {}

  /**
   * Agents who could take a call now, longest idle first: in agents:idle, `available`, on a
   * workstation whose SIP user is registered (the browser's ws-<id>, or the desk phone's own SIP
   * user). The claim checks again.
   */
  async candidates(): Promise<Agent[]> {
    const idle = await this.redis.zrange(RedisKeys.idleAgents, 0, -1);
    if (idle.length === 0) return [];
    const agents = this.redis.pipeline();
    for (const userId of idle) agents.hmget(RedisKeys.agent(userId), 'state', 'workstationId');
    const available = ((await agents.exec()) ?? []).flatMap(([err, fields], index) => {
      const [state, workstationId] = (fields as (string | null)[] | null) ?? [];
      const userId = idle[index];
      return !err && state === 'available' && workstationId && userId ? [{ userId, workstationId }] : [];
    });
    if (available.length === 0) return [];
    const workstations = this.redis.pipeline();
    for (const { workstationId } of available) workstations.hmget(workstationKey(workstationId), 'kind', 'sipUser');
    const reachable = ((await workstations.exec()) ?? []).flatMap(([err, fields], index) => {
      const [kind, sipUser] = (fields as (string | null)[] | null) ?? [];
      const agent = available[index];
      if (err || !agent || !isKind(kind)) return [];
      const user = workstationSipUser({ id: agent.workstationId, kind, sipUser: sipUser ?? undefined });
      return user === undefined ? [] : [{ ...agent, kind, sipUser: user }];
    });
    if (reachable.length === 0) return [];
    const registrations = this.redis.pipeline();
    for (const { sipUser } of reachable) registrations.exists(RedisKeys.sipRegistration(sipUser));
    const replies = (await registrations.exec()) ?? [];
    return reachable.filter((_agent, index) => replies[index]?.[1] === 1);
  }

  /**
   * The agent on a workstation as the router would have found them: its kind and SIP user from
   * signaling's record (a browser when the record is gone). For calls adopted from a dead instance.
   */
  async reach(userId: string, workstationId: string): Promise<Agent> {
    const [kind, sipUser] = await this.redis.hmget(workstationKey(workstationId), 'kind', 'sipUser');
    const known = isKind(kind) ? kind : 'browser';
    const user = workstationSipUser({ id: workstationId, kind: known, sipUser: sipUser ?? undefined }) ?? browserSipUser(workstationId);
    return { userId, workstationId, kind: known, sipUser: user };
  }

  claim(agent: Agent, callId: string): Promise<ClaimResult> {
    return this.redis.eval(
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
    ) as Promise<ClaimResult>;
  }

  /**
   * ringing -> on-call. 'paused' when the agent paused while it rang (they talk, and stay paused);
   * false when the agent's hash no longer names this call.
   */
  async answered(userId: string, callId: string): Promise<boolean | 'paused'> {
    const result = await this.redis.eval(ANSWERED, 2, RedisKeys.agent(userId), RedisStreams.teamEvents, callId, userId);
    return result === 2 ? 'paused' : result === 1;
  }

  /** Back to available (see RELEASE); false when the agent had moved on and was left alone. */
  async release(userId: string, callId: string, now = Date.now()): Promise<boolean> {
    const result = await this.redis.eval(
      RELEASE,
      3,
      RedisKeys.agent(userId),
      RedisKeys.idleAgents,
      RedisStreams.teamEvents,
      userId,
      callId,
      String(now),
    );
    return result === 1;
  }
}
