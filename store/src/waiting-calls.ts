import type { Redis } from 'ioredis';
import type { CallRecord } from '@deskline/protocol';
import { RedisKeys } from './keys.js';
import { parseCallRecord } from './call-records.js';

/** The longest a call is taken to have waited before its answer, to find last hour's answers among records indexed by start. */
const LONGEST_CALL_BEFORE_ANSWER_MS = 3 * 60 * 60 * 1000;

/**
 * What a waiting call's announcement asks of Redis (docs/call-plan.md, "Announcements while
 * waiting"): its place in its queue now, and the answered calls of the last hour.
 */
export class WaitingCalls {
  constructor(private readonly redis: Redis) {}

  /**
   * The call's place (1 = next) among the waiting calls of its queue, in the order they queued
   * (calls:waiting); undefined when it is not waiting (ringing, answered, gone). Calls without a
   * queueId count as one queue.
   */
  async position(callId: string): Promise<number | undefined> {
    const ids = await this.redis.zrange(RedisKeys.waitingCalls, 0, -1);
    const index = ids.indexOf(callId);
    if (index < 0) return undefined;
    const ahead = ids.slice(0, index);
    const pipeline = this.redis.pipeline();
    pipeline.hget(RedisKeys.call(callId), 'queueId');
    for (const id of ahead) pipeline.hget(RedisKeys.call(id), 'queueId');
    const results = (await pipeline.exec()) ?? [];
    const queues = results.map(([err, value]) => {
      if (err) throw err;
      return typeof value === 'string' ? value : '';
    });
    const own = queues[0] ?? '';
    return queues.slice(1).filter((queue) => queue === own).length + 1;
  }

  /** The records of the calls answered from `since` (epoch ms) on that have ended; those expired are skipped. */
  async answeredSince(since: number): Promise<CallRecord[]> {
    const ids = await this.redis.zrangebyscore(RedisKeys.callRecords, since - LONGEST_CALL_BEFORE_ANSWER_MS, '+inf');
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map((id) => RedisKeys.callRecord(id)));
    return values
      .filter((value): value is string => value !== null)
      .map(parseCallRecord)
      .filter(
        (record) => record.outcome === 'answered' && record.answeredAt !== undefined && record.answeredAt >= since,
      );
  }
}
