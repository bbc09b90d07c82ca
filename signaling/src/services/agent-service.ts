import type { Redis } from 'ioredis';
import {
  PAUSE_MAX_MINUTES,
  type AgentState,
  type AgentStatus,
  type MissedCall,
  type MissedCalls,
  type Workstation,
  isPauseReason,
} from '@deskline/protocol';
import { AgentRecord, RedisKeys, callFromHash, type PauseResult } from '@deskline/store';
import { ClientError } from '../errors.js';
import { SipAuthorizations } from './sip-credentials.js';
import { appendTeamEvent } from './team-events.js';
import type { WorkstationStore } from './workstation-store.js';

const PAUSE_MAX_MS = PAUSE_MAX_MINUTES * 60_000;

/**
 * Who works where: a user on a workstation is an agent the router may ring. Signaling owns this part
 * of the agent's state (logged in, workstation, paused); the sip app moves agents between available,
 * ringing and on a call. Every change wakes the router and is a team event.
 */
export class AgentService {
  /**
   * Browsers' SIP credentials belong to the holder of the workstation: whenever a holder lets go of
   * one (leaving it, or moving to another) and when `revokeSipCredentials` is called, they are
   * revoked, so that nobody who was there before can register. Only the agent record (AgentRecord)
   * writes workstation-holder:*.
   */
  readonly sipAuthorizations: SipAuthorizations;
  /** Every write to an agent goes through it (pause timer included). */
  readonly record: AgentRecord;

  constructor(
    private readonly redis: Redis,
    private readonly workstations: WorkstationStore,
  ) {
    this.sipAuthorizations = new SipAuthorizations(redis);
    this.record = new AgentRecord(redis);
  }

  async status(userId: string): Promise<AgentStatus> {
    const [state, workstationId, pausedUntil, pausedAt, pauseReason] = await this.redis.hmget(
      RedisKeys.agent(userId),
      'state',
      'workstationId',
      'pausedUntil',
      'pausedAt',
      'pauseReason',
    );
    const workstation = workstationId ? await this.workstations.get(workstationId) : undefined;
    if (!workstation) return { state: 'offline' };
    const status: AgentStatus = { state: (state as AgentState | null) ?? 'offline', workstation };
    if (status.state === 'paused' && pausedUntil) {
      status.pausedUntil = Number(pausedUntil);
      if (pausedAt) status.pausedAt = Number(pausedAt);
      if (isPauseReason(pauseReason)) status.pauseReason = pauseReason;
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
  async selectWorkstation(
    userId: string,
    workstationId: string,
    holderName: (userId: string) => Promise<string>,
  ): Promise<AgentStatus> {
    const workstation = await this.workstations.get(workstationId);
    if (!workstation) throw new ClientError(404, 'No such workstation.');
    const picked = await this.record.pick(userId, workstationId);
    switch (picked.outcome) {
      case 'refused':
        throw new ClientError(409, 'Finish the current call before changing workstation.');
      case 'same':
        return this.status(userId);
      case 'held':
        throw new ClientError(409, `${workstation.name} is in use by ${await holderName(picked.holder)}.`);
    }
    if (picked.previousWorkstationId) await this.sipAuthorizations.revoke(picked.previousWorkstationId);
    if (picked.to === 'available') return { state: 'available', workstation };
    const status: AgentStatus = { state: 'paused', workstation };
    if (picked.pausedUntil !== undefined) status.pausedUntil = picked.pausedUntil;
    if (picked.pausedAt !== undefined) status.pausedAt = picked.pausedAt;
    return status;
  }

  /**
   * Takes the user off their workstation (logout, or leaving it on purpose); a pause ends with it, and
   * the workstation's SIP credentials (theirs) stop working.
   */
  async leaveWorkstation(userId: string): Promise<void> {
    const { workstationId } = await this.record.leave(userId);
    if (workstationId) await this.sipAuthorizations.revoke(workstationId);
  }

  /**
   * Removes a workstation (a manager's decision, docs/managers.md "Workstations"). Whoever is on it is
   * taken off first, as if they had left it, unless a call is ringing there or in progress: a clinic
   * does not cut a patient off to tidy its list, so that is refused (409) and the manager removes it
   * after the call. Returns the workstation and the user taken off it, if any.
   */
  async removeWorkstation(
    workstationId: string,
    holderName: (userId: string) => Promise<string>,
  ): Promise<{ workstation: Workstation; takenOff?: string }> {
    const workstation = await this.workstations.get(workstationId);
    if (!workstation) throw new ClientError(404, 'No such workstation.');
    const holderId = await this.redis.get(RedisKeys.workstationHolder(workstationId));
    if (holderId) {
      const [state, callId] = await this.redis.hmget(RedisKeys.agent(holderId), 'state', 'callId');
      if (callId || state === 'ringing' || state === 'on-call') {
        throw new ClientError(
          409,
          `${await holderName(holderId)} is on a call at ${workstation.name}; remove it after the call.`,
        );
      }
      await this.leaveWorkstation(holderId);
    }
    await this.workstations.remove(workstationId);
    return { workstation, ...(holderId ? { takenOff: holderId } : {}) };
  }

  /**
   * A manager takes the user off their workstation (they went home with it picked): the router skips
   * them at once, the workstation's SIP credentials stop working, and the user's panel learns who did
   * it (TeamMember.forcedOff). Refused (409) during a call, and when they are on no workstation.
   */
  async forceOff(userId: string, displayName: string, byName: string): Promise<void> {
    const result = await this.record.forceOff(userId, byName);
    if (result.outcome === 'refused') {
      if (result.from === 'offline') throw new ClientError(409, `${displayName} is not on a workstation.`);
      throw new ClientError(409, `${displayName} is on a call: they are at their desk.`);
    }
    await this.sipAuthorizations.revoke(result.workstationId);
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
    return this.pauseStatus(userId, await this.record.pause(userId, durationMs, PAUSE_MAX_MS, now), 'start');
  }

  /** Moves the end of the running pause `durationMs` later. */
  async extendPause(userId: string, durationMs: number, now = Date.now()): Promise<AgentStatus> {
    return this.pauseStatus(userId, await this.record.extend(userId, durationMs, PAUSE_MAX_MS, now), 'extend');
  }

  /** "I'm back": ends the pause now (the router is woken at once); a user who is not paused is left as is. */
  async resume(userId: string, now = Date.now()): Promise<AgentStatus> {
    await this.record.endPause(userId, now);
    return this.status(userId);
  }

  /** Ends every pause that is due (the pause timer runs this); returns whose pause ended. */
  endDuePauses(now = Date.now()): Promise<string[]> {
    return this.record.endDuePauses(now);
  }

  /**
   * The patients who hung up while nobody answered, during the user's last pause, until dismissed.
   * The span is the pause's start and end; abandoned calls are indexed by endedAt (calls:abandoned,
   * written by the sip app) and their hashes kept for 24 hours.
   */
  async missedCalls(userId: string): Promise<MissedCalls> {
    const [from, to] = (await this.redis.hmget(RedisKeys.agent(userId), 'lastPausedAt', 'lastPauseEndedAt')).map(
      Number,
    );
    if (!from || !to) return { calls: [] };
    const ids = await this.redis.zrangebyscore(RedisKeys.abandonedCalls, from, to);
    const reads = this.redis.pipeline();
    for (const id of ids) reads.hgetall(RedisKeys.call(id));
    const calls = ((await reads.exec()) ?? []).flatMap(([, hash]): MissedCall[] => {
      const call = callFromHash(hash as Record<string, string>);
      return call?.state === 'abandoned' && call.endedAt !== undefined
        ? [{ id: call.id, from: call.from, endedAt: call.endedAt }]
        : [];
    });
    return { from, to, calls };
  }

  async dismissMissedCalls(userId: string): Promise<void> {
    await this.record.dismissMissedCalls(userId);
  }

  /** The user's team entry changed otherwise (enabled, disabled): panels read it afresh. */
  memberChanged(userId: string): Promise<void> {
    return appendTeamEvent(this.redis, userId);
  }

  /** The status after a pause move, or the 409 that says why it was refused. */
  private async pauseStatus(userId: string, result: PauseResult, mode: 'start' | 'extend'): Promise<AgentStatus> {
    if (result.outcome === 'too-long')
      throw new ClientError(409, `A pause lasts at most ${PAUSE_MAX_MINUTES / 60} hours.`);
    if (result.outcome === 'refused') {
      if (mode === 'start' || result.from === 'offline')
        throw new ClientError(409, 'Choose a workstation before pausing incoming calls.');
      throw new ClientError(409, 'Incoming calls are not paused.');
    }
    return this.status(userId);
  }
}
