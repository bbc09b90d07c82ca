import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RedisKeys, callFromHash, type CallView } from '@deskline/protocol';
import { liveInstanceIds } from '../instance.js';
import { NgError } from '../media/ng-client.js';
import type { RtpEngine } from '../media/rtpengine.js';
import type { AgentStore } from '../routing/agent-store.js';
import { OWNER_FIELD, type CallStore } from './call-store.js';

export interface OrphanedCallsDeps {
  redis: Redis;
  store: CallStore;
  agents: AgentStore;
  rtpengine: RtpEngine;
  /** This instance's id: it becomes the owner of the calls it ends. */
  instanceId: string;
  log: Logger;
}

/**
 * Takes a call over from a dead owner, if that is still its owner: of two instances starting at once,
 * only one ends the call.
 *   KEYS: call:<id>   ARGV: the owner seen dead ('' for none), this instance's id
 */
const TAKE_OVER = `
if (redis.call('HGET', KEYS[1], '${OWNER_FIELD}') or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], '${OWNER_FIELD}', ARGV[2])
return 1`;

/**
 * After a crash or a restart, calls whose instance is gone are still in calls:active, and agents may
 * still be `ringing` or `on-call` for them. Their SIP dialogs died with that process, so nothing can
 * pick them up again: each such call is recorded as ended (it was bridged) or abandoned (it was not
 * yet), with an event on the stream so that panels drop it, its rtpengine session is deleted, and
 * its agent is made available again.
 *
 * Returns how many calls it ended.
 */
export async function endOrphanedCalls(deps: OrphanedCallsDeps): Promise<number> {
  const { redis, log } = deps;
  let live: Set<string>;
  try {
    live = await liveInstanceIds(redis);
  } catch (err) {
    // A Redis user without the CLIENT command: better to leave such calls than to end live ones.
    log.warn({ err }, 'cannot tell which sip app instances are alive (CLIENT LIST); left calls of other instances as they are');
    return 0;
  }
  let ended = 0;
  for (const id of await redis.smembers(RedisKeys.activeCalls)) {
    const hash = await redis.hgetall(RedisKeys.call(id));
    const view = callFromHash(hash);
    if (!view || view.state === 'ended' || view.state === 'abandoned') {
      // Expired, damaged, or ended without leaving the set: nothing to tell anyone, only to tidy.
      await redis.multi().srem(RedisKeys.activeCalls, id).zrem(RedisKeys.waitingCalls, id).exec();
      continue;
    }
    const owner = hash[OWNER_FIELD] ?? '';
    if (live.has(owner)) continue;
    if ((await redis.eval(TAKE_OVER, 1, RedisKeys.call(id), owner, deps.instanceId)) !== 1) continue;
    await endOrphan(deps, view, owner);
    ended += 1;
  }
  await releaseStrandedAgents(deps);
  return ended;
}

async function endOrphan(deps: OrphanedCallsDeps, view: CallView, owner: string): Promise<void> {
  const state = view.state === 'bridged' ? 'ended' : 'abandoned';
  await deps.store.record({ ...view, state, endedAt: Date.now() });
  try {
    await deps.rtpengine.deleteCall(view.id);
  } catch (err) {
    if (!(err instanceof NgError && /unknown call/i.test(err.reason))) deps.log.warn({ err, callId: view.id }, 'could not delete the rtpengine session of an orphaned call');
  }
  deps.log.warn({ callId: view.id, was: view.state, now: state, owner: owner || undefined }, 'ended a call whose sip app instance is gone');
}

/**
 * Agents still `ringing` or `on-call` for a call that is no longer active go back to available. This
 * also catches a claim whose ring never reached Redis (the instance died in between).
 */
async function releaseStrandedAgents(deps: OrphanedCallsDeps): Promise<void> {
  const { redis, agents, log } = deps;
  const prefix = RedisKeys.agent('');
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 200);
    cursor = next;
    for (const key of keys) {
      const [state, callId] = await redis.hmget(key, 'state', 'callId');
      if ((state !== 'ringing' && state !== 'on-call') || !callId) continue;
      if ((await redis.sismember(RedisKeys.activeCalls, callId)) === 1) continue;
      const userId = key.slice(prefix.length);
      if (await agents.release(userId, callId)) log.warn({ userId, callId, was: state }, 'made an agent available whose call is gone');
    }
  } while (cursor !== '0');
}
