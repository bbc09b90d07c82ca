import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { FINAL_CALL_STATES, type CallView } from '@deskline/protocol';
import {
  OWNER_FIELD,
  ORPHAN_TAKE_OVER,
  RedisKeys,
  callFromHash,
  RECONNECT_GRACE_SECONDS,
  readInstances,
  settledInstanceIds,
  stoppedInstanceKey,
  type InstanceList,
} from '@deskline/store';
import { isUnknownCall, type RtpEngine } from '../media/rtpengine.js';
import type { AgentStore } from '../routing/agent-store.js';
import type { CallSipState } from './call-sip-state.js';
import type { CallStore } from './call-store.js';
import type { AdoptedCall } from './patient-call.js';

export interface OrphanedCallsDeps {
  redis: Redis;
  store: CallStore;
  agents: AgentStore;
  rtpengine: RtpEngine;
  /** This instance's id: it becomes the owner of the calls it takes over. */
  instanceId: string;
  /** Instances that said they stopped, having left their calls: taken over even while their Redis connection is still listed. */
  stopped?: ReadonlySet<string>;
  /** Carries on with a call here (PatientCall.adopt and resume); throws when it cannot. */
  adopt(call: AdoptedCall): Promise<void>;
  log: Logger;
}

export interface OrphanedCallsResult {
  /** Calls carried on here. */
  adopted: number;
  /** Calls that could not be, and were ended. */
  ended: number;
}

/** Logged when a call's owner is not connected and this instance's connection is too young to tell. */
export const WAITING_FOR_RECONNECTS =
  'a call owner is not connected to Redis; waiting until every live instance has had time to reconnect';

/**
 * After a crash, calls whose instance is gone are still in calls:active, and their patients are still
 * on the line: rtpengine, a process of its own, keeps their media and goes on playing the hold music.
 * Each such call is taken over and, when its SIP state was written down (`call-sip:<id>`), carried
 * on here (`adopt`): its patient's dialog rebuilt, back in the queue with its place. A call that
 * cannot be (no SIP state: it died before the patient's ACK was recorded, or the state is damaged) is
 * recorded as ended (it was bridged) or abandoned, with an event on the stream so that panels drop
 * it, and its rtpengine session is deleted. Then agents still `ringing` or `on-call` for a call that
 * no longer names them are made available again.
 *
 * An instance is gone when it said it stopped (`stopped`, or its stoppedInstanceKey), or when its connection is missing from
 * CLIENT LIST while this instance's own connection is at least RECONNECT_GRACE_SECONDS old
 * (instance.ts): right after a Redis restart or failover the server lists only the connections that
 * have come back, and a live instance that reconnects a moment after this one must not lose its
 * calls. So while this instance's connection is younger (at its start, or just after a failover), a
 * call whose owner is missing waits until it is not; a call whose owner is listed never does.
 */
export async function takeOverOrphanedCalls(deps: OrphanedCallsDeps): Promise<OrphanedCallsResult> {
  const { redis, log } = deps;
  const result: OrphanedCallsResult = { adopted: 0, ended: 0 };
  let list: InstanceList;
  try {
    list = await readInstances(redis, deps.instanceId);
  } catch (err) {
    // A Redis user without the CLIENT command: better to leave such calls than to take live ones.
    log.warn(
      { err },
      'cannot tell which sip app instances are alive (CLIENT LIST); left calls of other instances as they are',
    );
    return result;
  }
  let unsure = false;
  /** Whether `owner`'s calls are to be left: alive, or perhaps only not reconnected yet. */
  const leave = async (owner: string): Promise<boolean> => {
    if (owner === '' || deps.stopped?.has(owner)) return false;
    if (list.live.has(owner) || unsure) return true;
    // An instance that said it stopped (before this one started) need not be waited for.
    if (list.settled || (await redis.exists(stoppedInstanceKey(owner))) === 1) return false;
    // Missing now, but this instance's connection is young (its start, a Redis restart or
    // failover): the owner may not have reconnected yet. Judged once every live one has had time to.
    log.info({ owner, graceSeconds: RECONNECT_GRACE_SECONDS }, WAITING_FOR_RECONNECTS);
    try {
      list = { live: await settledInstanceIds(redis, deps.instanceId), settled: true };
    } catch (err) {
      log.warn({ err }, 'cannot tell yet which sip app instances are alive; left calls of other instances as they are');
      unsure = true;
      return true;
    }
    return list.live.has(owner);
  };
  for (const id of await redis.smembers(RedisKeys.activeCalls)) {
    const hash = await redis.hgetall(RedisKeys.call(id));
    const view = callFromHash(hash);
    // Over: ended, abandoned, the call plan's final states, and closed once it has its end.
    const over =
      !view || FINAL_CALL_STATES.includes(view.state) || (view.state === 'closed' && view.endedAt !== undefined);
    if (over) {
      // Expired, damaged, or ended without leaving the set: nothing to tell anyone, only to tidy.
      await redis.multi().srem(RedisKeys.activeCalls, id).zrem(RedisKeys.waitingCalls, id).exec();
      continue;
    }
    const owner = hash[OWNER_FIELD] ?? '';
    if (await leave(owner)) continue;
    if ((await redis.eval(ORPHAN_TAKE_OVER, 1, RedisKeys.call(id), owner, deps.instanceId)) !== 1) continue;
    if (await adoptOrphan(deps, view, await deps.store.loadSip(id))) {
      result.adopted += 1;
      continue;
    }
    await endOrphan(deps, view, owner);
    result.ended += 1;
  }
  await releaseStrandedAgents(deps);
  return result;
}

async function adoptOrphan(deps: OrphanedCallsDeps, view: CallView, sip: CallSipState): Promise<boolean> {
  const { patient, media } = sip;
  if (!patient || !media) {
    deps.log.warn(
      { callId: view.id, state: view.state },
      "the call's SIP state was not written down; it cannot be carried on",
    );
    return false;
  }
  try {
    await deps.adopt({ view, sip: { ...sip, patient, media } });
    return true;
  } catch (err) {
    deps.log.warn({ err, callId: view.id }, 'could not carry on with a call whose sip app instance is gone');
    return false;
  }
}

async function endOrphan(deps: OrphanedCallsDeps, view: CallView, owner: string): Promise<void> {
  // A call hearing the closed prompt is closed (not a missed call); others as before the call plan.
  const state = view.state === 'bridged' ? 'ended' : view.state === 'closed' ? 'closed' : 'abandoned';
  await deps.store.record({
    ...view,
    state,
    endedAt: Date.now(),
    ...(state === 'abandoned' ? { abandonedIn: view.state } : {}),
  });
  try {
    await deps.rtpengine.deleteCall(view.id);
  } catch (err) {
    if (!isUnknownCall(err))
      deps.log.warn({ err, callId: view.id }, 'could not delete the rtpengine session of an orphaned call');
  }
  deps.log.warn(
    { callId: view.id, was: view.state, now: state, owner: owner || undefined },
    'ended a call whose sip app instance is gone',
  );
}

/**
 * Agents still `ringing` or `on-call` for a call that is no longer active, or for a call this
 * instance took over that does not name them, go back to available. This catches a claim whose ring
 * never reached Redis (the instance died in between: the call still says waiting, with no agent). A
 * live instance's call is left alone: it may be between its claim and its ring.
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
      const userId = key.slice(prefix.length);
      if ((await redis.sismember(RedisKeys.activeCalls, callId)) === 1) {
        const [agentUserId, owner] = await redis.hmget(RedisKeys.call(callId), 'agentUserId', OWNER_FIELD);
        if (agentUserId === userId || owner !== deps.instanceId) continue;
      }
      if ((await agents.release(userId, callId)) === true)
        log.warn({ userId, callId, was: state }, 'made an agent available whose call is gone');
    }
  } while (cursor !== '0');
}
