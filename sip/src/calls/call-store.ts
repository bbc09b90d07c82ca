import type { ChainableCommander, Redis } from 'ioredis';
import {
  FINAL_CALL_STATES,
  hungUpDuringIntro,
  type CallEvent,
  type CallOutcome,
  type CallRecord,
  type CallView,
} from '@deskline/protocol';
import { DEFAULT_HISTORY_RETENTION_DAYS, OWNER_FIELD, RedisKeys, RedisStreams, callToHash } from '@deskline/store';
import {
  CALL_SIP_TTL_SECONDS,
  callSipKey,
  callSipStateFromHash,
  callSipStateToHash,
  type CallSipChange,
  type CallSipState,
} from './call-sip-state.js';

/** An ended call's hash stays this long, for panels that show recent calls; then Redis drops it. */
export const ENDED_CALL_TTL_SECONDS = 24 * 60 * 60;
/** The event stream is trimmed to about this many entries; signaling tails it live. */
export const CALL_EVENTS_MAX_LENGTH = 10_000;

const DAY_SECONDS = 24 * 60 * 60;

/**
 * What the statistics keep of a call that is over (docs/call-board.md): answered when it was bridged;
 * the call plan's endings as themselves (closed, callback-requested, and voicemail for a message
 * left); else `abandoned` when the patient hung up during the intro or the menu, or `unanswered`
 * (hung up waiting, ringing, in the offer or the voicemail greeting; protocol/src/outcomes.ts). One record per call, written with its final state, so each call counts once. The agent
 * is named only when they answered (an abandoned call may still name the agent it was ringing).
 */
export function callRecordOf(view: CallView): CallRecord {
  const answered = view.answeredAt !== undefined;
  return {
    id: view.id,
    from: view.from,
    line: view.line,
    outcome: outcomeOf(view),
    ...(view.afterHours ? { afterHours: true } : {}),
    startedAt: view.startedAt,
    ...(view.queuedAt !== undefined ? { queuedAt: view.queuedAt } : {}),
    ...(answered ? { answeredAt: view.answeredAt } : {}),
    endedAt: view.endedAt ?? Date.now(),
    ...(answered && view.agentUserId ? { agentUserId: view.agentUserId } : {}),
  };
}

function outcomeOf(view: CallView): CallOutcome {
  if (view.answeredAt !== undefined) return 'answered';
  switch (view.state) {
    case 'closed':
    case 'callback-requested':
      return view.state;
    case 'message-left':
      return 'voicemail';
    default:
      return hungUpDuringIntro(view) ? 'abandoned' : 'unanswered';
  }
}

/**
 * Writes a call's state to Redis (docs/call-path.md): the hash, the sets it belongs to in that state,
 * and one event on the stream, all in one MULTI so that no reader sees half a change. With `owner`
 * (the instance id), the hash also names the instance that holds the call, so that calls left by an
 * instance that died can be told from another instance's live ones.
 */
export class CallStore {
  /** `historyRetentionDays`: how long a call's record is kept for the statistics (HISTORY_RETENTION_DAYS). */
  constructor(
    private readonly redis: Redis,
    private readonly owner?: string,
    private readonly historyRetentionDays = DEFAULT_HISTORY_RETENTION_DAYS,
  ) {}

  /**
   * Writes the call's new state, and in the same MULTI the change to its SIP state (`call-sip:<id>`)
   * if given; an ended call's SIP state is deleted.
   */
  async record(view: CallView, sip?: CallSipChange): Promise<void> {
    const key = RedisKeys.call(view.id);
    const event: CallEvent = { call: view };
    const tx = this.redis.multi();
    const over = isOver(view);
    if (over) tx.del(callSipKey(view.id));
    else if (sip) this.changeSip(tx, view.id, sip);
    // The whole hash is rewritten, so a field the view no longer has (an agent after a ring
    // timeout) does not linger.
    tx.del(key);
    tx.hset(key, this.owner ? { ...callToHash(view), [OWNER_FIELD]: this.owner } : callToHash(view));
    switch (over ? 'over' : view.state) {
      case 'intro':
        tx.sadd(RedisKeys.activeCalls, view.id);
        break;
      // The call plan's (issue 15): out of the queue, still on the line.
      case 'menu':
      case 'offer':
      case 'voicemail':
      case 'closed':
      case 'callback-requested':
        tx.sadd(RedisKeys.activeCalls, view.id);
        tx.zrem(RedisKeys.waitingCalls, view.id);
        break;
      case 'waiting':
        tx.sadd(RedisKeys.activeCalls, view.id);
        tx.zadd(RedisKeys.waitingCalls, view.queuedAt ?? Date.now(), view.id);
        break;
      case 'ringing':
      case 'bridged':
        tx.sadd(RedisKeys.activeCalls, view.id);
        tx.zrem(RedisKeys.waitingCalls, view.id);
        break;
      case 'over':
        tx.srem(RedisKeys.activeCalls, view.id);
        tx.zrem(RedisKeys.waitingCalls, view.id);
        tx.expire(key, ENDED_CALL_TTL_SECONDS);
        if (view.state === 'abandoned') {
          // The index of missed calls (a paused user's list on return) lives as long as the hashes.
          const endedAt = view.endedAt ?? Date.now();
          tx.zadd(RedisKeys.abandonedCalls, endedAt, view.id);
          tx.zremrangebyscore(RedisKeys.abandonedCalls, '-inf', endedAt - ENDED_CALL_TTL_SECONDS * 1000);
        }
        this.addRecord(tx, callRecordOf(view));
        break;
    }
    tx.xadd(RedisStreams.callEvents, 'MAXLEN', '~', CALL_EVENTS_MAX_LENGTH, '*', 'event', JSON.stringify(event));
    await execute(tx);
  }

  /**
   * The call's record for the statistics, kept HISTORY_RETENTION_DAYS: the key expires by itself, and
   * each ending trims the index of calls that started longer ago. Between the two an index entry may
   * name an expired key; readers skip those.
   */
  private addRecord(tx: ChainableCommander, record: CallRecord): void {
    tx.set(RedisKeys.callRecord(record.id), JSON.stringify(record), 'EX', this.historyRetentionDays * DAY_SECONDS);
    tx.zadd(RedisKeys.callRecords, record.startedAt, record.id);
    tx.zremrangebyscore(
      RedisKeys.callRecords,
      '-inf',
      `(${Date.now() - this.historyRetentionDays * DAY_SECONDS * 1000}`,
    );
  }

  /** Changes the call's SIP state alone (a CSeq, a new description). */
  async saveSip(callId: string, change: CallSipChange): Promise<void> {
    const tx = this.redis.multi();
    this.changeSip(tx, callId, change);
    await execute(tx);
  }

  async loadSip(callId: string): Promise<CallSipState> {
    return callSipStateFromHash(await this.redis.hgetall(callSipKey(callId)));
  }

  private changeSip(tx: ChainableCommander, callId: string, change: CallSipChange): void {
    const key = callSipKey(callId);
    if (change.remove?.length) tx.hdel(key, ...change.remove);
    const fields = callSipStateToHash(change.set ?? {});
    if (Object.keys(fields).length > 0) tx.hset(key, fields);
    tx.expire(key, CALL_SIP_TTL_SECONDS);
  }
}

/**
 * The call is over for Redis: ended, abandoned, closed once it has its endedAt, and the final states
 * of the call plan. A callback-requested call is over at once (its confirmation still plays): its task
 * is the board's from then on.
 */
function isOver(view: CallView): boolean {
  if (view.state === 'closed') return view.endedAt !== undefined;
  return FINAL_CALL_STATES.includes(view.state);
}

async function execute(tx: ChainableCommander): Promise<void> {
  const results = await tx.exec();
  const failed = results?.find(([err]) => err);
  if (!results) throw new Error('Redis discarded the call update');
  if (failed?.[0]) throw failed[0];
}
