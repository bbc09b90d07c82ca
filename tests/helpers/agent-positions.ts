import type { Redis } from 'ioredis';
import * as assert from 'uvu/assert';
import { AgentRecord, RedisKeys, browserSipUser, type AgentMove, type AgentPosition } from '@deskline/store';

/** A move as a test makes it: the store's outcome, with refusals kept apart. */
export type MoveOutcome = { refused: string } | { done: string };

const MINUTE_MS = 60_000;
const MAX_PAUSE_MS = 240 * MINUTE_MS;

/**
 * Drives one agent through AgentRecord on a real Redis, with the world around it written the way the
 * sip app and Kamailio write it: the workstations' registrations, the waiting calls and their hashes.
 */
export class AgentDriver {
  readonly record: AgentRecord;
  private calls = 0;

  constructor(
    private readonly redis: Redis,
    readonly userId: string,
    /** Workstations the agent moves between. */
    private readonly workstations: readonly string[],
  ) {
    this.record = new AgentRecord(redis);
  }

  /** The call the agent's hash names, if any. */
  async callId(): Promise<string | undefined> {
    return (await this.redis.hget(RedisKeys.agent(this.userId), 'callId')) ?? undefined;
  }

  /** Kamailio's registration of every workstation, so that a claim can succeed. */
  async register(): Promise<void> {
    for (const id of this.workstations)
      await this.redis.set(RedisKeys.sipRegistration(browserSipUser(id)), 'sip:x@y.invalid;transport=ws');
  }

  /** Queues a new call, as the sip app does when a patient calls. */
  async newWaitingCall(): Promise<string> {
    const callId = `call-${this.userId}-${++this.calls}`;
    await this.redis.zadd(RedisKeys.waitingCalls, Date.now(), callId);
    await this.redis.hset(RedisKeys.call(callId), { id: callId, state: 'waiting' });
    return callId;
  }

  /**
   * Makes `move` with the arguments a service would use; `pick` picks `workstation` (index). `claim`
   * claims `waitingCall`, or a call it queues (and takes away again if the claim fails).
   */
  async move(move: AgentMove, workstation = 1, waitingCall?: string): Promise<MoveOutcome> {
    const { record, userId } = this;
    const now = Date.now();
    const workstationId = this.workstations[workstation % this.workstations.length] ?? '';
    const outcome = (result: { outcome: string; reason?: string }): MoveOutcome =>
      result.outcome === 'refused' ? { refused: result.reason ?? '' } : { done: result.outcome };
    switch (move) {
      case 'pick':
        return outcome(await record.pick(userId, workstationId, now));
      case 'leave':
        await record.leave(userId);
        return { done: 'left' };
      case 'force-off':
        return outcome(await record.forceOff(userId, 'Maria Manager', now));
      case 'pause':
        return outcome(await record.pause(userId, 5 * MINUTE_MS, MAX_PAUSE_MS, now));
      case 'extend':
        return outcome(await record.extend(userId, 5 * MINUTE_MS, MAX_PAUSE_MS, now));
      case 'end-pause':
        return outcome(await record.endPause(userId, now));
      case 'claim': {
        const callId = waitingCall ?? (await this.newWaitingCall());
        const current = (await this.redis.hget(RedisKeys.agent(userId), 'workstationId')) ?? workstationId;
        const result = await record.claim({ userId, workstationId: current, sipUser: browserSipUser(current) }, callId);
        if (result.outcome === 'claimed') await this.redis.hset(RedisKeys.call(callId), 'state', 'ringing');
        else if (waitingCall === undefined)
          await this.redis.multi().zrem(RedisKeys.waitingCalls, callId).del(RedisKeys.call(callId)).exec();
        return result.outcome === 'agent-unavailable' ? { refused: result.reason ?? '' } : { done: result.outcome };
      }
      case 'answer': {
        const callId = (await this.callId()) ?? 'no-call';
        const result = await record.answered(userId, callId);
        if (result.outcome !== 'refused') await this.redis.hset(RedisKeys.call(callId), 'state', 'bridged');
        return outcome(result);
      }
      case 'release': {
        const callId = (await this.callId()) ?? 'no-call';
        const result = await record.release(userId, callId, now);
        if (result.outcome !== 'refused') await this.redis.hset(RedisKeys.call(callId), 'state', 'ended');
        return outcome(result);
      }
    }
  }

  /** Puts a fresh agent (hash gone) at `position` through legal moves. */
  async reach(position: AgentPosition): Promise<void> {
    const path: Record<AgentPosition, AgentMove[]> = {
      offline: [],
      available: ['pick'],
      ringing: ['pick', 'claim'],
      'on-call': ['pick', 'claim', 'answer'],
      paused: ['pick', 'pause'],
      'paused-on-call': ['pick', 'claim', 'answer', 'pause'],
    };
    await this.register();
    await this.move('leave');
    for (const move of path[position]) {
      const result = await this.move(move, 0);
      assert.ok('done' in result, `${move} on the way to ${position}: ${JSON.stringify(result)}`);
    }
    assert.is(await this.record.position(this.userId), position);
  }
}

/** Every key of the database with its DUMP, to compare Redis before and after a refused move. */
export async function snapshot(redis: Redis): Promise<Record<string, string>> {
  const keys = (await redis.keys('*')).sort();
  const dumps: Record<string, string> = {};
  for (const key of keys) dumps[key] = ((await redis.dumpBuffer(key)) ?? Buffer.alloc(0)).toString('hex');
  return dumps;
}
