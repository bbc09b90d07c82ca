import type { Redis } from 'ioredis';
import {
  END_PAUSES_SCRIPT,
  PAUSE_MAX_MINUTES,
  RedisChannels,
  RedisKeys,
  RedisStreams,
  TEAM_EVENTS_MAX_LENGTH,
  callFromHash,
  endPausesArgs,
  type AgentState,
  type AgentStatus,
  type MissedCall,
  type MissedCalls,
  type Workstation,
} from '@deskline/protocol';
import { ClientError } from '../errors.js';
import { SipAuthorizations } from './sip-credentials.js';
import { appendTeamEvent } from './team-events.js';
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
 * Starts a pause, moves its end ("+5 minutes"), or replaces its end: one script, so that it cannot
 * cross the sip app's claim or release half-way. Pausing while ringing or on a call is allowed (the
 * call goes on; `callId` stays, and the sip app leaves a paused agent paused). A pause that is
 * replaced or extended keeps its start, and may not end more than the maximum after it.
 *   KEYS: agent:<userId>, agents:idle, agents:pause-ends, stream:team-events
 *   ARGV: userId, now, minutes in ms, max pause in ms, stream MAXLEN, 'start' | 'extend'
 *   returns: {'paused', pausedAt, pausedUntil} | {'no-workstation'} | {'not-paused'} | {'too-long'}
 */
const PAUSE = `
local agent = redis.call('HMGET', KEYS[1], 'state', 'workstationId', 'pausedAt', 'pausedUntil')
if not agent[1] or not agent[2] or agent[1] == 'offline' then return {'no-workstation'} end
local now = tonumber(ARGV[2])
local paused = agent[1] == 'paused' and agent[4]
local pausedAt = now
if paused and agent[3] then pausedAt = tonumber(agent[3]) end
local pausedUntil
if ARGV[6] == 'extend' then
  if not paused then return {'not-paused'} end
  pausedUntil = tonumber(agent[4]) + tonumber(ARGV[3])
else
  pausedUntil = now + tonumber(ARGV[3])
end
if pausedUntil - pausedAt > tonumber(ARGV[4]) then return {'too-long'} end
redis.call('HSET', KEYS[1], 'state', 'paused', 'pausedAt', string.format('%d', pausedAt), 'pausedUntil', string.format('%d', pausedUntil))
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], pausedUntil, ARGV[1])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'userId', ARGV[1])
redis.call('PUBLISH', '${RedisChannels.pauseChanged}', ARGV[1])
return {'paused', string.format('%d', pausedAt), string.format('%d', pausedUntil)}`;

const MINUTE_MS = 60_000;

/**
 * Who works where: a user on a workstation is an agent the router may ring. Signaling owns this part
 * of the agent's state (logged in, workstation, paused); the sip app moves agents between available,
 * ringing and on a call. Every change wakes the router and is a team event.
 */
export class AgentService {
  /**
   * Browsers' SIP credentials belong to the holder of the workstation: whenever a holder lets go of
   * one (`release`, below) and when `revokeSipCredentials` is called, they are revoked, so that nobody
   * who was there before can register. Only this class writes workstation-holder:*.
   */
  readonly sipAuthorizations: SipAuthorizations;

  constructor(
    private readonly redis: Redis,
    private readonly workstations: WorkstationStore,
  ) {
    this.sipAuthorizations = new SipAuthorizations(redis);
  }

  async status(userId: string): Promise<AgentStatus> {
    const [state, workstationId, pausedUntil, pausedAt] = await this.redis.hmget(
      RedisKeys.agent(userId),
      'state',
      'workstationId',
      'pausedUntil',
      'pausedAt',
    );
    const workstation = workstationId ? await this.workstations.get(workstationId) : undefined;
    if (!workstation) return { state: 'offline' };
    const status: AgentStatus = { state: (state as AgentState | null) ?? 'offline', workstation };
    if (status.state === 'paused' && pausedUntil) {
      status.pausedUntil = Number(pausedUntil);
      if (pausedAt) status.pausedAt = Number(pausedAt);
    }
    return status;
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

  /**
   * Puts the user on a workstation, leaving the one they were on; refuses one held by someone else.
   * A paused user stays paused on the new workstation.
   */
  async selectWorkstation(userId: string, workstationId: string, holderName: (userId: string) => Promise<string>): Promise<AgentStatus> {
    const workstation = await this.workstations.get(workstationId);
    if (!workstation) throw new ClientError(404, 'No such workstation.');
    const current = await this.status(userId);
    const onCall = await this.redis.hexists(RedisKeys.agent(userId), 'callId');
    if (current.state === 'on-call' || current.state === 'ringing' || onCall === 1) {
      throw new ClientError(409, 'Finish the current call before changing workstation.');
    }
    if (current.workstation?.id === workstationId) return current;

    const holder = (await this.redis.eval(CLAIM, 1, RedisKeys.workstationHolder(workstationId), userId)) as string | null;
    if (holder) throw new ClientError(409, `${workstation.name} is in use by ${await holderName(holder)}.`);
    if (current.workstation) await this.release(userId, current.workstation.id);

    const now = Date.now();
    const tx = this.redis.multi();
    if (current.state === 'paused' && current.pausedUntil !== undefined) {
      tx.hset(RedisKeys.agent(userId), { userId, workstationId, state: 'paused' });
    } else {
      tx.hset(RedisKeys.agent(userId), { userId, workstationId, state: 'available', idleSince: String(now) })
        .zadd(RedisKeys.idleAgents, now, userId)
        .publish(RedisChannels.routeWake, userId);
    }
    await this.teamEvent(tx, userId).exec();
    return current.state === 'paused' ? { ...current, workstation } : { state: 'available', workstation };
  }

  /** Takes the user off their workstation (logout, or leaving it on purpose); a pause ends with it. */
  async leaveWorkstation(userId: string): Promise<void> {
    const { workstation } = await this.status(userId);
    if (workstation) await this.release(userId, workstation.id);
    const tx = this.redis
      .multi()
      .del(RedisKeys.agent(userId))
      .zrem(RedisKeys.idleAgents, userId)
      .zrem(RedisKeys.pauseEnds, userId)
      .publish(RedisChannels.pauseChanged, userId);
    await this.teamEvent(tx, userId).exec();
  }

  /**
   * The user stays on their workstation but must prove themselves again (their password changed):
   * the browser's current SIP credentials and registration go, and it fetches new ones.
   */
  async revokeSipCredentials(userId: string): Promise<void> {
    const { workstation } = await this.status(userId);
    if (workstation) await this.sipAuthorizations.revoke(workstation.id);
  }

  /**
   * Pauses incoming calls for `durationMs` from now, or replaces the end of a running pause. The HTTP
   * API speaks minutes; tests use seconds through this method (docs/presence-and-pause.md).
   */
  async pause(userId: string, durationMs: number, now = Date.now()): Promise<AgentStatus> {
    return this.runPause(userId, durationMs, 'start', now);
  }

  /** Moves the end of the running pause `durationMs` later. */
  async extendPause(userId: string, durationMs: number, now = Date.now()): Promise<AgentStatus> {
    return this.runPause(userId, durationMs, 'extend', now);
  }

  /** "I'm back": ends the pause now (the router is woken at once); a user who is not paused is left as is. */
  async resume(userId: string, now = Date.now()): Promise<AgentStatus> {
    await this.redis.eval(END_PAUSES_SCRIPT, ...endPausesArgs(now, userId));
    return this.status(userId);
  }

  /** Ends every pause that is due (the pause timer runs this); returns whose pause ended. */
  async endDuePauses(now = Date.now()): Promise<string[]> {
    return (await this.redis.eval(END_PAUSES_SCRIPT, ...endPausesArgs(now))) as string[];
  }

  /**
   * The patients who hung up while nobody answered, during the user's last pause, until dismissed.
   * The span is the pause's start and end; abandoned calls are indexed by endedAt (calls:abandoned,
   * written by the sip app) and their hashes kept for 24 hours.
   */
  async missedCalls(userId: string): Promise<MissedCalls> {
    const [from, to] = (await this.redis.hmget(RedisKeys.agent(userId), 'lastPausedAt', 'lastPauseEndedAt')).map(Number);
    if (!from || !to) return { calls: [] };
    const ids = await this.redis.zrangebyscore(RedisKeys.abandonedCalls, from, to);
    const reads = this.redis.pipeline();
    for (const id of ids) reads.hgetall(RedisKeys.call(id));
    const calls = ((await reads.exec()) ?? []).flatMap(([, hash]): MissedCall[] => {
      const call = callFromHash(hash as Record<string, string>);
      return call?.state === 'abandoned' && call.endedAt !== undefined ? [{ id: call.id, from: call.from, endedAt: call.endedAt }] : [];
    });
    return { from, to, calls };
  }

  async dismissMissedCalls(userId: string): Promise<void> {
    await this.redis.hdel(RedisKeys.agent(userId), 'lastPausedAt', 'lastPauseEndedAt');
  }

  /** The user's team entry changed otherwise (enabled, disabled): panels read it afresh. */
  memberChanged(userId: string): Promise<void> {
    return appendTeamEvent(this.redis, userId);
  }

  private async runPause(userId: string, durationMs: number, mode: 'start' | 'extend', now: number): Promise<AgentStatus> {
    const [outcome] = (await this.redis.eval(
      PAUSE,
      4,
      RedisKeys.agent(userId),
      RedisKeys.idleAgents,
      RedisKeys.pauseEnds,
      RedisStreams.teamEvents,
      userId,
      String(now),
      String(Math.round(durationMs)),
      String(PAUSE_MAX_MINUTES * MINUTE_MS),
      String(TEAM_EVENTS_MAX_LENGTH),
      mode,
    )) as [string, ...string[]];
    switch (outcome) {
      case 'no-workstation':
        throw new ClientError(409, 'Choose a workstation before pausing incoming calls.');
      case 'not-paused':
        throw new ClientError(409, 'Incoming calls are not paused.');
      case 'too-long':
        throw new ClientError(409, `A pause lasts at most ${PAUSE_MAX_MINUTES / 60} hours.`);
    }
    return this.status(userId);
  }

  /** The user leaves the workstation, and its SIP credentials (theirs) stop working. */
  private async release(userId: string, workstationId: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, RedisKeys.workstationHolder(workstationId), userId);
    await this.sipAuthorizations.revoke(workstationId);
  }

  private teamEvent<T extends ReturnType<Redis['multi']>>(tx: T, userId: string): T {
    tx.xadd(RedisStreams.teamEvents, 'MAXLEN', '~', TEAM_EVENTS_MAX_LENGTH, '*', 'userId', userId);
    return tx;
  }
}
